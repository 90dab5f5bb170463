import { api, watch, pool, enc } from '../api.js';
import { h, replace, throttle, healthCounts, healthSummary, tagList } from '../dom.js';
import { pagedTable, filterBox } from '../table.js';

// services lists every service with its tags; the instance count and the
// health of the rows on screen come from /v1/health/service/<name>, so a
// thousand services cost one page of requests, refreshed when any check
// or registration changes.
export function services(ctx) {
  const { dc, signal } = ctx;
  let all = []; // [name, tags]
  let filter = '';
  const details = new Map(); // name -> {instances, counts}
  let shown = []; // the names of the rows on screen
  const asked = new Map(); // name -> number of its latest read
  const inflight = new Set();
  let reads = 0;

  const table = pagedTable({
    label: 'Services',
    empty: 'No services visible.',
    rowAttrs: ([name]) => ({ 'data-service': name }),
    columns: [
      { title: 'Service', cell: ([name]) => h('a', { href: ctx.link('services', name), text: name }) },
      { title: 'Instances', cell: ([name]) => details.has(name) ? String(details.get(name).instances) : '…' },
      { title: 'Health', cell: ([name]) => details.has(name) ? healthSummary(details.get(name).counts) : '' },
      { title: 'Tags', cell: ([, tags]) => tagList(tags) },
    ],
    onPage: (rows) => {
      shown = rows.map(([name]) => name);
      // A redraw while reads are under way must not ask again.
      load(shown.filter((n) => !details.has(n) && !inflight.has(n)));
    },
  });
  const note = h('p', { class: 'hint', hidden: true });
  replace(ctx.main, h('h1', { text: 'Services' }),
    filterBox('Filter by name or tag', (f) => { filter = f; draw(); }), note, table.el);

  function draw() {
    table.update(all.filter(([name, tags]) => !filter || name.toLowerCase().includes(filter) ||
      (tags || []).some((t) => t.toLowerCase().includes(filter))));
  }
  const redraw = throttle(() => table.redraw(), 150);

  async function load(names) {
    await pool(names, 6, async (name) => {
      const n = ++reads;
      asked.set(name, n);
      inflight.add(name);
      try {
        const { data } = await api(`/v1/health/service/${enc(name)}`, { dc, signal });
        // An older read that answers late must not undo a newer one.
        if (asked.get(name) !== n) return;
        details.set(name, { instances: data.length, counts: healthCounts(data.flatMap((e) => e.Checks || [])) });
        redraw();
      } catch (err) {
        if (!signal.aborted) ctx.error(err, `read the health of ${name}`);
      } finally {
        if (asked.get(name) === n) inflight.delete(name);
      }
    });
  }

  watch('/v1/catalog/services', { dc, signal }, ({ data, filtered }) => {
    all = Object.entries(data || {}).sort(([a], [b]) => a.localeCompare(b));
    note.hidden = !filtered;
    note.textContent = 'Some services are hidden from this token: log in with a token that may read them.';
    draw();
  }, (err) => ctx.error(err, 'list the services'));

  // Any check or registration change: the rows on screen are read again
  // (they keep showing what they had until then); other rows are read
  // when they come on screen.
  let first = true;
  watch('/v1/health/state/any', { dc, signal }, () => {
    if (first) { first = false; return; }
    const keep = new Set(shown);
    for (const name of [...details.keys()]) if (!keep.has(name)) details.delete(name);
    load(shown);
  }, () => {});
}
