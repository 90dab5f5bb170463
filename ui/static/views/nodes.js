import { api, watch, pool, enc } from '../api.js';
import { h, replace, throttle, statusBadge, worst, healthCounts, healthSummary, tagList, metaList } from '../dom.js';
import { pagedTable, filterBox } from '../table.js';
import { checkList } from './service.js';

// nodes lists every node with its address and health (from
// /v1/health/state/any); the services of the rows on screen are read per
// node.
export function nodes(ctx) {
  const { dc, signal } = ctx;
  let all = [];
  let filter = '';
  let checksByNode = new Map();
  const services = new Map(); // node -> [service names]
  const inflight = new Set();
  const table = pagedTable({
    label: 'Nodes',
    empty: 'No nodes visible.',
    rowAttrs: (n) => ({ 'data-node': n.Node }),
    columns: [
      { title: 'Node', cell: (n) => h('a', { href: ctx.link('nodes', n.Node), text: n.Node }) },
      { title: 'Address', cell: (n) => n.Address },
      { title: 'Datacenter', cell: (n) => n.Datacenter || dc },
      { title: 'Health', cell: (n) => healthSummary(healthCounts(checksByNode.get(n.Node) || [])) },
      { title: 'Services', cell: (n) => services.has(n.Node) ? tagList(services.get(n.Node)) : '…' },
    ],
    onPage: (rows) => load(rows.map((n) => n.Node).filter((n) => !services.has(n) && !inflight.has(n))),
  });
  replace(ctx.main, h('h1', { text: 'Nodes' }), filterBox('Filter by name or address', (f) => { filter = f; draw(); }), table.el);
  const redraw = throttle(() => table.redraw(), 150);

  function draw() {
    table.update(all.filter((n) => !filter || n.Node.toLowerCase().includes(filter) || n.Address.includes(filter)));
  }
  async function load(names) {
    await pool(names, 6, async (node) => {
      inflight.add(node);
      try {
        const { data } = await api(`/v1/catalog/node-services/${enc(node)}`, { dc, signal, allow404: true });
        services.set(node, [...new Set((data?.Services || []).map((s) => s.Service))].sort());
        redraw();
      } catch (err) {
        if (!signal.aborted) ctx.error(err, `read the services of ${node}`);
      } finally {
        inflight.delete(node);
      }
    });
  }
  watch('/v1/catalog/nodes', { dc, signal }, ({ data }) => {
    all = data || [];
    services.clear();
    draw();
  }, (err) => ctx.error(err, 'list the nodes'));
  watch('/v1/health/state/any', { dc, signal }, ({ data }) => {
    checksByNode = new Map();
    for (const c of data || []) {
      if (!checksByNode.has(c.Node)) checksByNode.set(c.Node, []);
      checksByNode.get(c.Node).push(c);
    }
    redraw();
  }, () => {});
}

// node shows one node: its address and meta, its checks (serfHealth
// included), its services and its sessions, each followed live.
export function node(ctx, name) {
  const { dc, signal } = ctx;
  const info = h('section', { 'aria-label': 'Node' });
  const checks = h('section', { 'aria-label': 'Checks' }, h('h2', { text: 'Checks' }));
  const svcs = h('section', { 'aria-label': 'Services' }, h('h2', { text: 'Services' }));
  const sessions = h('section', { 'aria-label': 'Sessions' }, h('h2', { text: 'Sessions' }));
  const status = h('span');
  replace(ctx.main, h('p', { class: 'crumbs' }, h('a', { href: ctx.link('nodes'), text: 'Nodes' }), ' / '),
    h('h1', null, name, ' ', status), info, checks, svcs, sessions);

  const section = (el, title, content) => replace(el, h('h2', { text: title }), content);
  watch(`/v1/health/node/${enc(name)}`, { dc, signal }, ({ data }) => {
    replace(status, statusBadge(worst((data || []).map((c) => c.Status))));
    section(checks, 'Checks', data?.length ? checkList(data) : h('p', { text: 'No checks.' }));
  }, (err) => ctx.error(err, `read the checks of ${name}`));
  watch(`/v1/catalog/node/${enc(name)}`, { dc, signal, allow404: true }, ({ data }) => {
    if (!data) { replace(info, h('p', { text: 'This node is not in the catalog (or the token may not read it).' })); return; }
    const n = data.Node;
    replace(info, h('dl', { class: 'facts' },
      h('dt', { text: 'Address' }), h('dd', { text: n.Address }),
      h('dt', { text: 'Datacenter' }), h('dd', { text: n.Datacenter || dc }),
      h('dt', { text: 'ID' }), h('dd', { text: n.ID || '' })),
    h('h2', { text: 'Meta' }), metaList(n.Meta) || h('p', { text: 'No meta.' }));
    const list = Object.values(data.Services || {}).sort((a, b) => a.ID.localeCompare(b.ID));
    section(svcs, 'Services', list.length ? h('ul', { class: 'plain' }, list.map((s) => h('li', { 'data-service': s.Service },
      h('a', { href: ctx.link('services', s.Service), text: s.Service }), ` (${s.ID}) ${s.Address || n.Address}:${s.Port} `, tagList(s.Tags)))) : h('p', { text: 'No services.' }));
  }, (err) => ctx.error(err, `read the node ${name}`));
  watch(`/v1/session/node/${enc(name)}`, { dc, signal }, ({ data }) => {
    section(sessions, 'Sessions', data?.length ? h('ul', { class: 'plain' }, data.map((s) => h('li', { 'data-session': s.ID },
      h('code', { text: s.ID }), s.Name ? ` ${s.Name}` : '', ` (${s.Behavior || 'release'}${s.TTL ? `, TTL ${s.TTL}` : ''})`))) : h('p', { text: 'No sessions.' }));
  }, (err) => ctx.error(err, `read the sessions of ${name}`));
}
