// The API client: bearer token, JSON calls, and the event stream read with fetch()
// (EventSource cannot send an Authorization header), resuming with Last-Event-ID.

const TOKEN_KEY = 'flotilla.token';

/** Raised when the server refuses the token: the page goes back to the login screen. */
export class Unauthorized extends Error {}

/** The token of this tab (sessionStorage: gone when the tab closes). */
export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

/** Keeps the token for this tab. */
export function setToken(t) {
  sessionStorage.setItem(TOKEN_KEY, t);
}

/** Forgets the token. */
export function clearToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

function headers(extra = {}) {
  return { Authorization: `Bearer ${token() ?? ''}`, Accept: 'application/json', ...extra };
}

/** Builds `/api/v1/<path>?<params>`, leaving out empty params. */
export function url(path, params = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return `/api/v1/${path}${s ? `?${s}` : ''}`;
}

async function answer(res) {
  if (res.status === 401) throw new Unauthorized('the server refused the token');
  const text = await res.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = text;
  }
  if (!res.ok) {
    const msg = (body && (body.error || body.message)) || text || res.statusText;
    throw new Error(`${res.status}: ${typeof msg === 'string' ? msg : JSON.stringify(msg)}`);
  }
  return body;
}

/** GET a JSON resource under /api/v1. */
export async function get(path, params) {
  return answer(await fetch(url(path, params), { headers: headers() }));
}

/** POST a control under /api/v1 with a JSON body. */
export async function post(path, body = {}) {
  const res = await fetch(url(path), {
    method: 'POST',
    headers: headers({ 'Content-Type': 'application/json' }),
    body: JSON.stringify(body),
  });
  return answer(res);
}

/** Splits an SSE byte stream into events ({id, event, data}); keeps partial frames. */
export class SseParser {
  constructor() {
    this.buf = '';
    this.cr = false;
  }

  /** Feeds text; returns the events completed by it. */
  push(text) {
    // A CR ending this chunk may be the first half of a CRLF: hold it for the next one.
    let t = (this.cr ? '\r' : '') + text;
    this.cr = t.endsWith('\r');
    if (this.cr) t = t.slice(0, -1);
    this.buf += t.replace(/\r\n?/g, '\n');
    const out = [];
    let cut;
    while ((cut = this.buf.indexOf('\n\n')) >= 0) {
      const frame = this.buf.slice(0, cut);
      this.buf = this.buf.slice(cut + 2);
      const ev = { id: null, event: 'message', data: [] };
      for (const line of frame.split('\n')) {
        if (!line || line.startsWith(':')) continue;
        const i = line.indexOf(':');
        const field = i < 0 ? line : line.slice(0, i);
        const value = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
        if (field === 'id') ev.id = value;
        else if (field === 'event') ev.event = value;
        else if (field === 'data') ev.data.push(value);
      }
      if (ev.data.length || ev.id !== null) out.push({ ...ev, data: ev.data.join('\n') });
    }
    return out;
  }
}

/**
 * Reads /api/v1/stream until stopped, reconnecting with backoff and Last-Event-ID.
 * `onEvent({id, event, data})` gets each event (data parsed as JSON when it is JSON);
 * `onStatus(text)` hears 'live', 'reconnecting' and the like; `onUnauthorized()` ends it.
 */
export function stream({ onEvent, onStatus, onUnauthorized }) {
  let lastId = null;
  let stopped = false;
  let ctrl = null;
  let delay = 1000;

  async function once() {
    ctrl = new AbortController();
    const h = headers({ Accept: 'text/event-stream' });
    if (lastId !== null) h['Last-Event-ID'] = lastId;
    const res = await fetch(url('stream'), { headers: h, signal: ctrl.signal, cache: 'no-store' });
    if (res.status === 401) throw new Unauthorized('stream refused the token');
    if (!res.ok || !res.body) throw new Error(`stream answered ${res.status}`);
    onStatus('live');
    delay = 1000;
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    const parser = new SseParser();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      for (const ev of parser.push(value)) {
        if (ev.id !== null && ev.id !== '') lastId = ev.id;
        let data = ev.data;
        try {
          data = JSON.parse(ev.data);
        } catch {
          /* plain text event */
        }
        onEvent({ id: ev.id, event: ev.event, data });
      }
    }
  }

  (async () => {
    while (!stopped) {
      try {
        await once();
        if (!stopped) onStatus('reconnecting');
      } catch (e) {
        if (stopped) break;
        if (e instanceof Unauthorized) {
          onUnauthorized();
          return;
        }
        onStatus(`reconnecting (${e.message})`);
      }
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 15000);
    }
  })();

  return {
    stop() {
      stopped = true;
      ctrl?.abort();
    },
    lastId: () => lastId,
  };
}
