import { watch, enc } from '../api.js';
import { h, replace, throttle, statusBadge, worst, tagList, metaList } from '../dom.js';
import { pagedTable, filterBox } from '../table.js';

// checkList shows each check's status, name and output.
export function checkList(checks) {
  return h('ul', { class: 'checks' }, (checks || []).map((c) => h('li', { 'data-check': c.CheckID, 'data-status': c.Status },
    statusBadge(c.Status), ' ', h('span', { class: 'check-name', text: c.Name || c.CheckID }),
    c.ServiceID ? h('span', { class: 'hint', text: ` · ${c.ServiceID}` }) : null,
    c.Output ? h('pre', { class: 'output', text: c.Output }) : null)));
}

// service shows one service's instances, 50 to a page, following
// /v1/health/service/<name>: a check that flips redraws the page.
export function service(ctx, name) {
  const { dc, signal } = ctx;
  let entries = [];
  let filter = '';
  const table = pagedTable({
    label: `Instances of ${name}`,
    empty: 'No instances visible.',
    rowAttrs: (e) => ({ 'data-instance': e.Service.ID, 'data-node': e.Node.Node }),
    columns: [
      { title: 'Health', cell: (e) => statusBadge(worst((e.Checks || []).map((c) => c.Status))) },
      { title: 'Instance', cell: (e) => h('span', null, h('strong', { text: e.Service.ID }), ' on ', h('a', { href: ctx.link('nodes', e.Node.Node), text: e.Node.Node })) },
      { title: 'Address', cell: (e) => `${e.Service.Address || e.Node.Address}:${e.Service.Port}` },
      { title: 'Tags', cell: (e) => tagList(e.Service.Tags) },
      { title: 'Meta', cell: (e) => metaList(e.Service.Meta) },
      { title: 'Checks', cell: (e) => checkList(e.Checks) },
    ],
  });
  const count = h('p', { class: 'count' });
  replace(ctx.main, h('p', { class: 'crumbs' }, h('a', { href: ctx.link('services'), text: 'Services' }), ' / '),
    h('h1', { text: name }), count,
    filterBox('Filter by node, address or tag', (f) => { filter = f; draw(); }), table.el);

  function draw() {
    const shown = entries.filter((e) => !filter || [e.Node.Node, e.Service.ID, e.Service.Address, e.Node.Address, ...(e.Service.Tags || [])]
      .some((s) => (s || '').toLowerCase().includes(filter)));
    table.update(shown);
  }
  const later = throttle(draw, 200);
  let first = true;
  watch(`/v1/health/service/${enc(name)}`, { dc, signal }, ({ data }) => {
    entries = data || [];
    const by = { passing: 0, warning: 0, critical: 0 };
    for (const e of entries) by[worst((e.Checks || []).map((c) => c.Status))]++;
    count.textContent = `${entries.length} instances: ${by.passing} passing, ${by.warning} warning, ${by.critical} critical`;
    if (first) { first = false; draw(); } else later();
  }, (err) => ctx.error(err, `read the instances of ${name}`));
}
