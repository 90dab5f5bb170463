// The UI's one way to the HTTP API: the same public /v1 endpoints every
// client uses. The token lives in sessionStorage and travels only as the
// X-Consul-Token header, never in a URL, so it cannot end up in a log or a
// browser history.

const TOKEN_KEY = 'conclave.token';

export const token = {
  get: () => sessionStorage.getItem(TOKEN_KEY) || '',
  set: (v) => sessionStorage.setItem(TOKEN_KEY, v),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

export class APIError extends Error {
  constructor(status, body, method, path) {
    super(body.trim() || `HTTP ${status}`);
    this.status = status;
    this.method = method;
    this.path = path;
  }

  get denied() { return this.status === 403 || this.status === 401; }
}

// api makes one request. path is /v1/...; params become the query string,
// with ?dc= when dc is set. It resolves to the decoded answer, its
// X-Consul-Index and whether ACLs filtered it; a 404 of a read resolves to
// null data when allow404 is set.
export async function api(path, { dc, method = 'GET', body, params, signal, allow404, tokenOverride } = {}) {
  const u = new URL(path, location.origin);
  if (dc) u.searchParams.set('dc', dc);
  for (const [k, v] of Object.entries(params || {})) u.searchParams.set(k, v);
  const headers = {};
  const t = tokenOverride ?? token.get();
  if (t) headers['X-Consul-Token'] = t;
  const r = await fetch(u, { method, headers, body, signal, cache: 'no-store' });
  const text = await r.text();
  const index = Number(r.headers.get('X-Consul-Index') || 0);
  if (r.status === 404 && allow404) return { data: null, index };
  if (!r.ok) throw new APIError(r.status, text, method, path);
  const json = (r.headers.get('Content-Type') || '').includes('json');
  return {
    data: json && text ? JSON.parse(text) : text,
    index,
    filtered: r.headers.get('X-Consul-Results-Filtered-By-ACLs') === 'true',
  };
}

const sleep = (ms, signal) => new Promise((resolve) => {
  const t = setTimeout(resolve, ms);
  signal?.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
});

// watch follows path with blocking queries until signal aborts: onData
// gets every answer whose index moved. Errors go to onError and the watch
// retries after a pause, so a restarting agent is picked up again.
export async function watch(path, opts, onData, onError) {
  const { signal } = opts;
  let index = 0;
  while (!signal.aborted) {
    const started = Date.now();
    try {
      const params = { ...(opts.params || {}) };
      if (index > 0) { params.index = index; params.wait = '5m'; }
      const res = await api(path, { ...opts, params });
      if (signal.aborted) return;
      // An index that went backwards (a restored snapshot, another
      // server) starts over rather than waiting for ever.
      const next = res.index < index ? 0 : res.index;
      if (next !== index || index === 0) onData(res);
      index = next;
    } catch (err) {
      if (signal.aborted) return;
      onError?.(err);
      await sleep(2000, signal);
    }
    // A floor between queries: an endpoint that answers at once cannot
    // make the page spin.
    await sleep(Math.max(0, 100 - (Date.now() - started)), signal);
  }
}

// pool runs fn over items, at most n at a time.
export async function pool(items, n, fn) {
  const queue = [...items];
  const worker = async () => {
    while (queue.length) await fn(queue.shift());
  };
  await Promise.all(Array.from({ length: Math.min(n, queue.length) }, worker));
}

export const enc = (s) => encodeURIComponent(s);
// encKey keeps the slashes of a KV key.
export const encKey = (k) => k.split('/').map(encodeURIComponent).join('/');
