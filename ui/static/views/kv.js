import { api, watch, encKey } from '../api.js';
import { h, replace } from '../dom.js';

// decodeValue turns a KV value (base64 on the wire) into text when it is
// UTF-8; otherwise the base64 is shown as is.
export function decodeValue(b64) {
  if (!b64) return { text: '', utf8: true };
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  try {
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(bytes), utf8: true };
  } catch {
    return { text: b64, utf8: false };
  }
}

function crumbs(ctx, path) {
  const parts = path.split('/').filter(Boolean);
  const out = [h('a', { href: ctx.link('kv'), text: 'Key/Value' })];
  let acc = '';
  parts.forEach((p, i) => {
    acc += p + (i < parts.length - 1 || path.endsWith('/') ? '/' : '');
    out.push(' / ', i === parts.length - 1 ? h('span', { text: p }) : h('a', { href: ctx.link('kv', acc), text: p }));
  });
  return h('p', { class: 'crumbs' }, out);
}

// kv shows a folder (a path ending in "/", or the root) or one key.
export function kv(ctx, path) {
  if (path === '' || path.endsWith('/')) folder(ctx, path);
  else key(ctx, path);
}

function folder(ctx, prefix) {
  const { dc, signal } = ctx;
  const list = h('ul', { class: 'plain kv-list' });
  const name = h('input', { id: 'kv-new-key', required: true, 'aria-label': 'New key name (end with / for a folder)', placeholder: 'name, or name/ for a folder' });
  const value = h('textarea', { id: 'kv-new-value', rows: 4, 'aria-label': 'Value' });
  const form = h('form', { class: 'kv-create', onsubmit: async (e) => {
    e.preventDefault();
    const full = prefix + name.value.trim();
    const isFolder = full.endsWith('/');
    try {
      // cas=0 creates only: an existing key is never overwritten here.
      const { data } = await api(`/v1/kv/${encKey(full)}`, { dc, method: 'PUT', body: isFolder ? '' : value.value, params: { cas: '0' } });
      if (data !== true && String(data).trim() !== 'true') {
        ctx.notice(`${full} already exists: open it to edit it.`, true);
        return;
      }
      ctx.notice(`Created ${full}.`);
      ctx.go(ctx.link('kv', full));
    } catch (err) {
      ctx.error(err, `create ${full}`);
    }
  } }, h('h2', { text: 'Create' }), h('label', null, 'Key ', name), h('label', null, 'Value ', value),
  h('button', { type: 'submit', text: 'Create' }));
  replace(ctx.main, crumbs(ctx, prefix), h('h1', { text: prefix || 'Key/Value' }), list, form);

  watch(`/v1/kv/${encKey(prefix)}`, { dc, signal, allow404: true, params: { keys: '', separator: '/' } }, ({ data }) => {
    const keys = (data || []).filter((k) => k !== prefix);
    replace(list, keys.length ? keys.map((k) => h('li', { 'data-key': k },
      h('a', { href: ctx.link('kv', k), text: k.slice(prefix.length) }))) : h('li', { class: 'empty', text: 'No keys here.' }));
  }, (err) => ctx.error(err, `list the keys under ${prefix || '/'}`));
}

function key(ctx, path) {
  const { dc, signal } = ctx;
  let loaded = null; // the pair the editor was opened with
  const meta = h('p', { class: 'hint' });
  const kind = h('p', { class: 'hint' });
  const editor = h('textarea', { id: 'kv-value', rows: 12, 'aria-label': `Value of ${path}` });
  const conflict = h('div', { class: 'conflict', role: 'alert', hidden: true });
  const save = h('button', { type: 'button', id: 'kv-save', text: 'Save', onclick: () => write('PUT') });
  const del = h('button', { type: 'button', id: 'kv-delete', class: 'danger', text: 'Delete', onclick: () => {
    confirmDel.hidden = false;
    confirmDel.focus();
  } });
  const confirmDel = h('button', { type: 'button', id: 'kv-delete-confirm', class: 'danger', hidden: true, text: 'Really delete', onclick: () => write('DELETE') });
  replace(ctx.main, crumbs(ctx, path), h('h1', { text: path }), meta, kind, editor, conflict,
    h('div', { class: 'actions' }, save, del, confirmDel));

  function show(pair) {
    loaded = pair;
    const v = decodeValue(pair.Value);
    editor.value = v.text;
    editor.readOnly = !v.utf8;
    save.disabled = !v.utf8;
    kind.textContent = v.utf8 ? '' : 'This value is not UTF-8 text: it is shown as base64 and cannot be edited here.';
    meta.textContent = `ModifyIndex ${pair.ModifyIndex}, flags ${pair.Flags}${pair.Session ? `, locked by session ${pair.Session}` : ''}`;
  }

  async function current() {
    const { data } = await api(`/v1/kv/${encKey(path)}`, { dc, signal, allow404: true });
    return data ? data[0] : null;
  }

  // write saves or deletes with ?cas= the ModifyIndex the page loaded:
  // someone else's change in between is refused, and shown.
  async function write(method) {
    confirmDel.hidden = true;
    try {
      const { data } = await api(`/v1/kv/${encKey(path)}`, { dc, method, body: method === 'PUT' ? editor.value : undefined, params: { cas: String(loaded.ModifyIndex) } });
      if (String(data).trim() === 'true' || data === true) {
        conflict.hidden = true;
        if (method === 'DELETE') {
          ctx.notice(`Deleted ${path}.`);
          ctx.go(ctx.link('kv', path.slice(0, path.lastIndexOf('/') + 1)));
          return;
        }
        // The editor takes the saved pair (and its ModifyIndex) before
        // saying so, so the next save's check-and-set starts from it.
        const now = await current();
        if (now) show(now);
        ctx.notice(`Saved ${path}.`);
        return;
      }
      const now = await current();
      const mine = editor.value;
      if (!now) {
        replace(conflict, h('strong', { text: `${path} changed since you opened it: it was deleted.` }));
      } else {
        replace(conflict, h('strong', { text: `${path} changed since you opened it. Its value is now:` }),
          h('pre', { class: 'new-value', text: decodeValue(now.Value).text }),
          h('span', { text: 'Your text is still in the editor: save again to overwrite it.' }));
        show(now);
        editor.value = mine;
      }
      conflict.hidden = false;
    } catch (err) {
      ctx.error(err, `${method === 'PUT' ? 'write' : 'delete'} ${path}`);
    }
  }

  current().then((pair) => {
    if (!pair) {
      replace(ctx.main, crumbs(ctx, path), h('h1', { text: path }), h('p', { text: 'No such key (or the token may not read it).' }));
      return;
    }
    show(pair);
  }, (err) => ctx.error(err, `read ${path}`));
}
