import { api, token } from './api.js';
import { h, replace } from './dom.js';
import { services } from './views/services.js';
import { service } from './views/service.js';
import { nodes, node } from './views/nodes.js';
import { kv } from './views/kv.js';

// Routes live in the fragment, #/<dc>/<section>/<rest>, so the agent
// serves one page and the datacenter is part of every link.
const $ = (id) => document.getElementById(id);
const main = $('main');
let datacenters = [];
let current = null; // the AbortController of the page on screen

function parse() {
  const parts = location.hash.replace(/^#\/?/, '').split('/');
  const dc = decodeURIComponent(parts[0] || '');
  const section = parts[1] || 'services';
  const rest = parts.slice(2).map(decodeURIComponent).join('/');
  return { dc, section, rest };
}

function link(dc) {
  return (section, rest = '') => `#/${encodeURIComponent(dc)}/${section}${rest ? '/' + rest.split('/').map(encodeURIComponent).join('/') : ''}`;
}

function notice(text, isError) {
  const n = $('notice');
  n.textContent = text;
  n.className = isError ? 'notice error' : 'notice';
  n.setAttribute('role', isError ? 'alert' : 'status');
  n.hidden = false;
}

// showError says what went wrong in words: a refusal names the action
// the token may not do.
function showError(err, action) {
  if (err?.denied) {
    notice(`Permission denied: this token may not ${action}. ${token.get() ? 'Log in with another token.' : 'Log in with a token.'} (${err.message})`, true);
  } else {
    notice(`Could not ${action}: ${err?.message || err}`, true);
  }
}

function route() {
  current?.abort();
  current = new AbortController();
  const { dc, section, rest } = parse();
  if (!dc || !datacenters.includes(dc)) {
    location.replace(link(datacenters[0] || 'dc1')(section, rest));
    return;
  }
  $('dc').value = dc;
  const l = link(dc);
  $('nav-services').href = l('services');
  $('nav-nodes').href = l('nodes');
  $('nav-kv').href = l('kv');
  $('brand').href = l('services');
  for (const s of ['services', 'nodes', 'kv']) $(`nav-${s}`).toggleAttribute('aria-current', s === section);
  $('notice').hidden = true;
  const ctx = {
    dc, main, signal: current.signal, link: l,
    error: showError, notice,
    go: (hash) => { location.hash = hash; },
  };
  replace(main);
  if (section === 'services' && rest) service(ctx, rest);
  else if (section === 'services') services(ctx);
  else if (section === 'nodes' && rest) node(ctx, rest);
  else if (section === 'nodes') nodes(ctx);
  else if (section === 'kv') kv(ctx, rest);
  else replace(main, h('p', { text: 'No such page.' }));
  document.title = `${rest || section} · ${dc} · conclave`;
}

// drawAuth shows who is logged in, or the login button.
async function drawAuth() {
  const el = $('auth');
  if (!token.get()) {
    replace(el, h('button', { type: 'button', id: 'login-open', text: 'Log in', onclick: openLogin }));
    return;
  }
  let who = 'a token';
  try {
    const { data } = await api('/v1/acl/token/self');
    who = data.Description || `${data.AccessorID.slice(0, 8)}…`;
  } catch { /* the token may not read itself: it is still sent */ }
  replace(el, h('span', { id: 'whoami', text: `Logged in: ${who}` }), ' ',
    h('button', { type: 'button', id: 'logout', text: 'Log out', onclick: () => { token.clear(); drawAuth(); route(); } }));
}

function openLogin() {
  const box = $('login');
  const input = h('input', { id: 'login-token', type: 'password', autocomplete: 'off', required: true, 'aria-label': 'ACL token (SecretID)' });
  const msg = h('p', { class: 'hint', role: 'alert' });
  replace(box, h('form', { onsubmit: async (e) => {
    e.preventDefault();
    const t = input.value.trim();
    try {
      await api('/v1/acl/token/self', { tokenOverride: t });
    } catch (err) {
      if (err.status === 401 && /disabled/i.test(err.message)) {
        msg.textContent = 'ACLs are off on this agent: no token is needed.';
      } else {
        msg.textContent = err.denied ? 'That token was refused.' : `Could not check the token: ${err.message}`;
      }
      return;
    }
    token.set(t);
    box.hidden = true;
    drawAuth();
    route();
  } }, h('label', null, 'Token ', input), ' ', h('button', { type: 'submit', id: 'login-submit', text: 'Log in' }), ' ',
  h('button', { type: 'button', text: 'Cancel', onclick: () => { box.hidden = true; } }), msg));
  box.hidden = false;
  input.focus();
}

async function start() {
  try {
    ({ data: datacenters } = await api('/v1/catalog/datacenters'));
  } catch (err) {
    showError(err, 'list the datacenters');
  }
  datacenters = datacenters?.length ? datacenters : ['dc1'];
  replace($('dc'), datacenters.map((d) => h('option', { value: d, text: d })));
  $('dc').addEventListener('change', (e) => {
    const { section } = parse();
    location.hash = link(e.target.value)(section === 'kv' ? 'kv' : section);
  });
  window.addEventListener('hashchange', route);
  // The fragment is the route: the skip link moves focus instead.
  document.querySelector('.skip').addEventListener('click', (e) => { e.preventDefault(); main.focus(); });
  drawAuth();
  route();
}

start();
