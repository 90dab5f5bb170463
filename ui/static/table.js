import { h, replace } from './dom.js';

// pagedTable renders one page of rows at a time, so a list of thousands
// costs the DOM of one page. update() keeps the page the user is on.
export function pagedTable({ columns, pageSize = 50, rowAttrs, empty = 'Nothing to show.', label, onPage }) {
  let items = [];
  let page = 0;
  const body = h('tbody');
  const info = h('span', { class: 'page-info', 'aria-live': 'polite' });
  const prev = h('button', { type: 'button', text: 'Previous page', onclick: () => go(page - 1) });
  const next = h('button', { type: 'button', text: 'Next page', onclick: () => go(page + 1) });
  const pager = h('div', { class: 'pager' }, prev, info, next);
  const el = h('div', { class: 'table-wrap' },
    h('table', { 'aria-label': label }, h('thead', null, h('tr', null, columns.map((c) => h('th', { scope: 'col', text: c.title })))), body),
    pager);

  function pages() { return Math.max(1, Math.ceil(items.length / pageSize)); }

  function go(p) {
    page = Math.min(Math.max(0, p), pages() - 1);
    draw();
  }

  function draw() {
    page = Math.min(page, pages() - 1);
    const shown = items.slice(page * pageSize, (page + 1) * pageSize);
    if (!shown.length) {
      replace(body, h('tr', null, h('td', { colspan: columns.length, class: 'empty', text: empty })));
    } else {
      replace(body, shown.map((it) => h('tr', rowAttrs ? rowAttrs(it) : null,
        columns.map((c) => h('td', { 'data-label': c.title }, c.cell(it))))));
    }
    info.textContent = items.length > pageSize ? `Page ${page + 1} of ${pages()} (${items.length})` : `${items.length} shown`;
    prev.disabled = page === 0;
    next.disabled = page >= pages() - 1;
    pager.hidden = items.length <= pageSize;
    onPage?.(shown);
  }

  return {
    el,
    update(list) { items = list; draw(); },
    redraw: draw,
  };
}

// filterBox is a search field that calls onChange with its lower-cased
// text.
export function filterBox(label, onChange) {
  return h('input', {
    type: 'search', class: 'filter', placeholder: label, 'aria-label': label,
    oninput: (e) => onChange(e.target.value.trim().toLowerCase()),
  });
}
