// Small DOM helpers. Every value reaches the page as text (textContent or
// attribute values), never as markup: data from the API cannot run.

// h builds an element: attrs may hold class, text, on<event> handlers and
// any attribute; children are nodes, strings, arrays or null.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'text') el.textContent = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'value') el.value = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

// replace empties el and fills it with children.
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

// throttle runs fn at most once per ms, with the latest call's effect:
// a burst of blocking-query answers costs one render.
export function throttle(fn, ms) {
  let timer = null;
  let last = 0;
  return () => {
    if (timer) return;
    const wait = Math.max(0, last + ms - Date.now());
    timer = setTimeout(() => { timer = null; last = Date.now(); fn(); }, wait);
  };
}

// statusBadge shows a health status in words as well as colour.
export function statusBadge(status, label) {
  return h('span', { class: `badge ${status}`, 'data-status': status, text: label || status });
}

// worst is the worst of health statuses: critical, warning, passing.
export function worst(statuses) {
  let w = 'passing';
  for (const s of statuses) {
    if (s === 'critical') return 'critical';
    if (s === 'warning' || s === 'maintenance') w = 'warning';
  }
  return w;
}

// healthCounts counts checks by status.
export function healthCounts(checks) {
  const n = { passing: 0, warning: 0, critical: 0 };
  for (const c of checks) n[c.Status === 'critical' ? 'critical' : c.Status === 'passing' ? 'passing' : 'warning']++;
  return n;
}

// healthSummary shows counts of checks by status.
export function healthSummary(n) {
  return h('span', { class: 'summary' },
    ['passing', 'warning', 'critical'].filter((s) => n[s] > 0).map((s) => statusBadge(s, `${n[s]} ${s}`)));
}

export function tagList(tags) {
  return h('span', { class: 'tags' }, (tags || []).map((t) => h('span', { class: 'tag', text: t })));
}

export function metaList(meta) {
  const keys = Object.keys(meta || {}).sort();
  if (!keys.length) return '';
  return h('dl', { class: 'meta' }, keys.map((k) => [h('dt', { text: k }), h('dd', { text: meta[k] })]));
}
