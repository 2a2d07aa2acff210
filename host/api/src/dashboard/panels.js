// Table and list rendering. Everything from the server goes in as text (textContent),
// never as HTML: bot ids, error texts and reasons come from bots and venues.

/** The first of `keys` present (not undefined/null) in `o`, following dotted paths. */
export function pick(o, ...keys) {
  for (const k of keys) {
    let v = o;
    for (const part of k.split('.')) v = v == null ? undefined : v[part];
    if (v !== undefined && v !== null) return v;
  }
  return undefined;
}

/** A decimal (string or number) as a number, NaN when absent. */
export function num(v) {
  if (v === undefined || v === null || v === '') return NaN;
  return typeof v === 'number' ? v : Number(v);
}

/** Money with two decimals and thousands separators; '–' when absent. */
export function money(v) {
  const n = num(v);
  if (Number.isNaN(n)) return '–';
  return n.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}

/** A quantity without trailing zeros. */
export function qty(v) {
  const n = num(v);
  return Number.isNaN(n) ? '–' : String(Number(n.toPrecision(10)));
}

/** Fleet time (Unix ms) as 'YYYY-MM-DD HH:MM:SS' UTC. */
export function when(ms) {
  const n = num(ms);
  if (Number.isNaN(n)) return '–';
  return new Date(n).toISOString().replace('T', ' ').slice(0, 19);
}

/** Builds an element: el('td', {class: 'num'}, 'text', child, ...). */
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) {
    if (c === undefined || c === null) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function signClass(v) {
  const n = num(v);
  if (Number.isNaN(n) || n === 0) return 'num';
  return n > 0 ? 'num pos' : 'num neg';
}

/** Replaces a table body's rows, or shows `emptyText` across `cols` columns. */
export function fill(tbody, rows, cols, emptyText) {
  tbody.replaceChildren(
    ...(rows.length ? rows : [el('tr', {}, el('td', { colspan: cols, class: 'muted' }, emptyText))]),
  );
}

/** One bot as a table row; `act(control, bot)` runs a per-bot control. */
export function botRow(b, act) {
  const id = pick(b, 'id', 'bot');
  const state = pick(b, 'state', 'live.state') ?? 'unknown';
  const pnl = pick(b, 'pnl', 'realized_pnl', 'stats.realized_pnl');
  const lateMs = pick(b, 'lateness_ms', 'last_lateness_ms', 'stats.last_lateness_ms');
  const late = pick(b, 'lateness_s') ?? (lateMs === undefined ? undefined : num(lateMs) / 1000);
  const err = pick(b, 'last_error', 'stats.last_error', 'quarantine');
  const paused = state === 'paused';
  return el(
    'tr',
    { 'data-bot': id, 'data-testid': `bot-row-${id}` },
    el('td', {}, id),
    el('td', {}, el('span', { class: `badge ${state}` }, state)),
    el('td', { class: signClass(pnl) }, money(pnl)),
    el('td', { class: 'num' }, pick(b, 'trades', 'stats.trades') ?? 0),
    el('td', { class: 'num' }, money(pick(b, 'allocation', 'stats.allocation', 'live.allocation'))),
    el('td', { class: 'num' }, late === undefined ? '–' : `${num(late).toFixed(2)} s`),
    el('td', { class: 'err', title: err ?? '' }, err ?? ''),
    el(
      'td',
      { class: 'actions' },
      el(
        'button',
        { class: 'small', 'data-testid': `bot-${paused ? 'resume' : 'pause'}-${id}`, onclick: () => act(paused ? 'resume' : 'pause', id) },
        paused ? 'resume' : 'pause',
      ),
      el('button', { class: 'small warn', 'data-testid': `bot-flatten-${id}`, onclick: () => act('flatten', id) }, 'flatten'),
    ),
  );
}

/** One open position as a table row. */
export function positionRow(p) {
  const u = pick(p, 'unrealized', 'unrealized_pnl');
  return el(
    'tr',
    {},
    el('td', {}, pick(p, 'bot')),
    el('td', {}, pick(p, 'symbol')),
    el('td', { class: 'num' }, qty(pick(p, 'quantity', 'qty'))),
    el('td', { class: 'num' }, money(pick(p, 'avg_price', 'average_price', 'entry_price'))),
    el('td', { class: signClass(u) }, money(u)),
  );
}

/** One working order as a table row; `cancel(id)` asks to cancel it. */
export function orderRow(o, cancel) {
  const id = pick(o, 'id', 'order_id');
  const type = pick(o, 'order_type', 'type') ?? '';
  const limit = pick(o, 'limit_price');
  return el(
    'tr',
    { 'data-order': id },
    el('td', {}, id),
    el('td', {}, pick(o, 'bot')),
    el('td', {}, pick(o, 'symbol')),
    el('td', {}, pick(o, 'side')),
    el('td', { class: 'num' }, qty(pick(o, 'quantity'))),
    el('td', {}, limit ? `${type} @ ${limit}` : type),
    el('td', {}, pick(o, 'state')),
    el('td', {}, el('button', { class: 'small', 'data-testid': `order-cancel-${id}`, onclick: () => cancel(id) }, 'cancel')),
  );
}

/** A one-line summary of an event (from the stream or the events list). */
export function describe(e) {
  const d = e.data && typeof e.data === 'object' ? e.data : e;
  switch (pick(d, 'kind')) {
    case 'fill':
      return `${d.side} ${qty(d.quantity)} ${d.symbol} @ ${d.price}${d.reason ? ` (${d.reason})` : ''}`;
    case 'verdict':
      return `${d.verdict} ${d.symbol}${d.reason ? `: ${d.reason}` : ''}${d.detail ? ` (${d.detail})` : ''}`;
    case 'order':
      return `order ${d.order_id} ${d.symbol} ${d.state}${d.reason ? `: ${d.reason}` : ''}`;
    case 'trading_state':
      return d.from !== undefined ? `${d.from} → ${d.to}: ${d.reason}` : pick(d, 'message') ?? '';
    case 'bot_state':
      return `${d.paused ? 'paused' : 'resumed'} by ${d.by}`;
    case 'reload':
      return `${d.ok ? 'applied' : 'failed'}: ${d.detail}`;
    case 'quarantine':
      return `${d.quarantined ? 'quarantined' : 'recovered'}: ${d.reason}`;
    case 'alert':
      return `${d.channel} ${d.delivered ? 'delivered' : 'gave up'}: ${d.detail}`;
    case 'notice':
      return `${d.what}: ${d.message}`;
    case 'control': {
      // The ledger audits a control as JSON: who asked for what, and the answer.
      try {
        const c = JSON.parse(d.message);
        return `${c.control}${c.target ? ` ${c.target}` : ''} by ${c.by}: ${c.ok ? '' : 'refused: '}${String(c.result).trim()}`;
      } catch {
        return d.message ?? '';
      }
    }
    default:
      return pick(d, 'message', 'detail') ?? JSON.stringify(d);
  }
}

/** One event as a list item (newest go on top). */
export function eventItem(e) {
  const d = e.data && typeof e.data === 'object' ? e.data : e;
  const t = pick(d, 'time_ms', 'time', 'at');
  return el(
    'li',
    { 'data-kind': pick(d, 'kind') ?? '' },
    el('span', { class: 'muted' }, when(t)),
    el('span', { class: 'kind' }, pick(d, 'kind') ?? e.event ?? ''),
    pick(d, 'bot') ? el('b', {}, `${pick(d, 'bot')} `) : null,
    describe(e),
  );
}
