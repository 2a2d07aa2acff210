// The dashboard: login, panels fed by /api/v1, live updates from the event stream,
// and controls behind a confirmation dialog.

import * as api from './api.js';
import * as charts from './charts.js';
import { botRow, el, eventItem, fill, money, num, orderRow, pick, positionRow, when } from './panels.js';

const $ = (id) => document.getElementById(id);

/** Bots per page of the table (the API pages on the server, so 1,000 bots stay light). */
const BOTS_PER_PAGE = 50;
/** Points asked of the server's downsampled equity curve. */
const EQUITY_POINTS = 400;
/** The equity chart refreshes on this timer as well as on fills. */
const EQUITY_EVERY_MS = 5000;
/** Panels touched by events refresh at most this often. */
const THROTTLE_MS = 1000;
/** Events kept in the log panel. */
const EVENT_LOG_MAX = 200;

const view = { botsOffset: 0, botsTotal: null, filter: '' };
let live = null;
let timers = [];

// ---------- login ----------

function showLogin(message = '') {
  live?.stop();
  live = null;
  timers.forEach(clearInterval);
  timers = [];
  log.live = [];
  api.clearToken();
  $('app').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = message;
  $('token-input').value = '';
  $('token-input').focus();
}

async function login(tokenText) {
  api.setToken(tokenText.trim());
  try {
    await api.get('fleet');
  } catch (e) {
    showLogin(e instanceof api.Unauthorized ? 'That token was refused.' : `Cannot reach the fleet: ${e.message}`);
    return;
  }
  $('login').hidden = true;
  $('app').hidden = false;
  start();
}

/** Runs a panel refresh; a 401 anywhere sends the page back to login. */
async function guarded(name, f) {
  try {
    await f();
  } catch (e) {
    if (e instanceof api.Unauthorized) showLogin('The token was refused; sign in again.');
    else console.warn(`${name}: ${e.message}`);
  }
}

// ---------- panels ----------

async function refreshFleet() {
  const f = await api.get('fleet');
  $('fleet-name').textContent = f.name ?? 'Flotilla';
  document.title = `Flotilla: ${$('fleet-name').textContent}`;
  $('equity-now').textContent = money(f.equity);
  $('cash-now').textContent = money(f.cash);
  const dd = num(f.drawdown);
  $('drawdown-now').textContent = Number.isNaN(dd) ? '–' : `${(dd * 100).toFixed(2)}%`;
  const b = f.bots ?? {};
  $('bots-count').textContent = `${b.total ?? '–'}${b.paused ? `, ${b.paused} paused` : ''}${b.quarantined ? `, ${b.quarantined} quarantined` : ''}`;
  if (f.trading_state) showState({ state: f.trading_state, reason: f.state_reason, set_by: f.set_by, since: f.since });
}

async function refreshState() {
  showState(await api.get('state'));
}

function showState(s) {
  const state = String(pick(s, 'state', 'trading_state') ?? 'unknown').toLowerCase();
  const box = $('trading-state');
  box.textContent = state.toUpperCase();
  box.className = `state ${state}`;
  box.dataset.state = state;
  const by = pick(s, 'by', 'set_by', 'control.by');
  const reason = pick(s, 'reason', 'state_reason', 'control.reason') ?? '';
  const at = pick(s, 'at', 'time', 'since');
  $('state-reason').textContent = [by ? `set by ${by}` : '', reason, at ? when(at) : ''].filter(Boolean).join(' · ');
  $('state-reason').dataset.by = by ?? '';
}

async function refreshEquity() {
  const e = await api.get('equity', { points: EQUITY_POINTS });
  // The server downsamples the curve and gives each point its drawdown from the running peak.
  const raw = (pick(e, 'points') ?? []).filter((p) => !Number.isNaN(num(p.time)) && !Number.isNaN(num(p.value)));
  const pts = raw.map((p) => [num(p.time), num(p.value)]);
  charts.lines($('equity-chart'), [{ name: 'equity', points: pts }]);
  const dd = raw.map((p) => [num(p.time), -100 * (num(p.drawdown_pct) || 0)]);
  charts.lines($('drawdown-chart'), [{ name: 'drawdown', points: dd, color: '#e03131' }], {
    fill: true,
    fmt: (v) => `${v.toFixed(2)}%`,
  });
  const last = pts[pts.length - 1];
  const rows = pick(e, 'rows');
  $('equity-label').textContent = last
    ? `${money(last[1])} at ${when(last[0])} (${pts.length} points${rows ? ` of ${rows} marks` : ''})`
    : '';
}

async function refreshAllocations() {
  const a = await api.get('allocations', { points: 200 });
  const rows = pick(a, 'items', 'points') ?? (Array.isArray(a) ? a : []);
  // Rows are (time, bot, budget); group into one column per rebalance time.
  const byTime = new Map();
  const bots = new Set();
  for (const r of rows) {
    const t = num(pick(r, 'time', 'time_ms'));
    const bot = pick(r, 'bot');
    const v = num(pick(r, 'budget', 'allocation', 'value'));
    if (Number.isNaN(t) || !bot || Number.isNaN(v)) continue;
    bots.add(bot);
    if (!byTime.has(t)) byTime.set(t, new Map());
    byTime.get(t).set(bot, v);
  }
  const times = [...byTime.keys()].sort((x, y) => x - y);
  const names = [...bots].sort();
  // A bot keeps its budget until its next rebalance row.
  const layers = names.map((b) => {
    let carry = 0;
    return { name: b, values: times.map((t) => (carry = byTime.get(t).get(b) ?? carry)) };
  });
  charts.stacked($('allocation-chart'), times, layers);
  $('allocation-legend').replaceChildren(
    ...names.slice(0, 24).map((n, i) => {
      const swatch = el('i');
      swatch.style.background = charts.color(i); // CSSOM, which the CSP allows (a style attribute it blocks)
      return el('span', {}, swatch, n);
    }),
    ...(names.length > 24 ? [el('span', {}, `+${names.length - 24} more`)] : []),
  );
}

async function refreshRefusals() {
  const r = await api.get('verdicts/reasons', { verdict: 'refused' });
  const list = pick(r, 'items', 'reasons') ?? (Array.isArray(r) ? r : Object.entries(r ?? {}).map(([reason, count]) => ({ reason, count })));
  const rows = list
    .map((x) => ({ label: String(pick(x, 'reason') ?? 'unspecified'), value: num(pick(x, 'count', 'n')) }))
    .filter((x) => x.value > 0)
    .sort((a, b) => b.value - a.value)
    .slice(0, 12);
  charts.bars($('refusals-chart'), rows);
}

async function refreshBots() {
  const page = await api.get('bots', { limit: BOTS_PER_PAGE, offset: view.botsOffset, q: view.filter });
  const items = pick(page, 'items', 'bots') ?? (Array.isArray(page) ? page : []);
  view.botsTotal = pick(page, 'total');
  fill($('bots-table').tBodies[0], items.map((b) => botRow(b, botControl)), 8, view.filter ? 'no bot matches' : 'no bots');
  const total = view.botsTotal ?? items.length;
  const first = items.length ? view.botsOffset + 1 : 0;
  $('bots-page').textContent = `${first}–${view.botsOffset + items.length} of ${total}`;
  $('bots-total').textContent = `(${total})`;
  $('bots-prev').disabled = view.botsOffset === 0;
  $('bots-next').disabled = view.botsOffset + items.length >= total;
}

async function refreshPositions() {
  const p = await api.get('positions');
  const items = pick(p, 'items', 'positions') ?? (Array.isArray(p) ? p : []);
  fill($('positions-table').tBodies[0], items.map(positionRow), 5, 'no open positions');
}

async function refreshOrders() {
  const o = await api.get('orders', { status: 'working', limit: 200 });
  const items = pick(o, 'items', 'orders') ?? (Array.isArray(o) ? o : []);
  fill($('orders-table').tBodies[0], items.map((x) => orderRow(x, cancelOrder)), 8, 'no working orders');
}

// The log merges the ledger's audited events (controls, state changes, reloads, notices)
// with the trading flow heard on the stream (fills, verdicts, orders), newest first.
const log = { ledger: [], live: [] };

async function refreshEvents() {
  const e = await api.get('events', { limit: 100 });
  log.ledger = pick(e, 'items', 'events') ?? (Array.isArray(e) ? e : []);
  renderLog();
}

function eventTime(e) {
  const d = e.data && typeof e.data === 'object' ? e.data : e;
  return num(pick(d, 'time_ms', 'time')) || 0;
}

function renderLog() {
  const all = log.ledger.concat(log.live).sort((a, b) => eventTime(b) - eventTime(a));
  $('event-log').replaceChildren(...all.slice(0, EVENT_LOG_MAX).map(eventItem));
}

const PANELS = {
  fleet: refreshFleet,
  state: refreshState,
  equity: refreshEquity,
  allocations: refreshAllocations,
  refusals: refreshRefusals,
  bots: refreshBots,
  positions: refreshPositions,
  orders: refreshOrders,
  events: refreshEvents,
  log: async () => renderLog(),
};

// ---------- live updates ----------

const dirty = new Set();
let flushTimer = null;

/** Marks panels for a refresh; refreshes run at most once per THROTTLE_MS. */
function touch(...names) {
  names.forEach((n) => dirty.add(n));
  if (flushTimer) return;
  flushTimer = setTimeout(() => {
    flushTimer = null;
    const now = [...dirty];
    dirty.clear();
    now.forEach((n) => guarded(n, PANELS[n]));
  }, THROTTLE_MS);
}

/** Which panels each kind of event changes ('log': the stream's own items in the log). */
const AFFECTS = {
  fill: ['fleet', 'bots', 'positions', 'orders', 'equity', 'log'],
  verdict: ['refusals', 'bots', 'log'],
  order: ['orders', 'log'],
  trading_state: ['state', 'fleet', 'events'],
  bot_state: ['bots', 'events'],
  reload: ['bots', 'fleet', 'events'],
  quarantine: ['bots', 'fleet', 'events'],
  alert: ['events'],
  notice: ['events'],
  tick: ['bots'],
};

/** Kinds the ledger does not list as events: the log keeps them from the stream. */
const LIVE_ONLY = new Set(['fill', 'verdict', 'order']);

function onEvent(ev) {
  const kind = pick(ev.data ?? {}, 'kind') ?? ev.event;
  touch(...(AFFECTS[kind] ?? ['fleet']));
  if (kind === 'reset') {
    // The server could not replay what this page missed: reload every panel.
    touch(...Object.keys(PANELS));
    return;
  }
  if (kind === 'trading_state' && ev.data?.to) {
    // The state at once; who set it comes with the refresh the event triggers.
    const box = $('trading-state');
    const to = String(ev.data.to).toLowerCase();
    box.textContent = to.toUpperCase();
    box.className = `state ${to}`;
    box.dataset.state = to;
  }
  if (LIVE_ONLY.has(kind)) {
    log.live.unshift(ev);
    log.live.length = Math.min(log.live.length, EVENT_LOG_MAX);
  }
}

function start() {
  Object.entries(PANELS).forEach(([n, f]) => guarded(n, f));
  timers.push(setInterval(() => guarded('equity', refreshEquity), EQUITY_EVERY_MS));
  timers.push(setInterval(() => guarded('fleet', refreshFleet), EQUITY_EVERY_MS));
  live = api.stream({
    onEvent,
    onStatus: (s) => {
      $('conn-status').textContent = s;
      $('conn-status').className = s === 'live' ? 'conn live' : 'conn';
    },
    onUnauthorized: () => showLogin('The token was refused; sign in again.'),
  });
}

// ---------- controls ----------

/** Asks in the dialog; resolves to the reason typed (or '') when confirmed, null when not. */
function confirmDialog(text, { askReason = false } = {}) {
  const dlg = $('confirm-dialog');
  $('confirm-text').textContent = text;
  $('confirm-reason-label').hidden = !askReason;
  $('confirm-reason').value = '';
  return new Promise((resolve) => {
    dlg.addEventListener(
      'close',
      () => resolve(dlg.returnValue === 'ok' ? $('confirm-reason').value.trim() : null),
      { once: true },
    );
    dlg.returnValue = '';
    dlg.showModal();
  });
}

function showResult(text, ok) {
  const r = $('control-result');
  r.textContent = text;
  r.className = `result ${ok ? 'ok' : 'err'}`;
  r.dataset.ok = ok ? 'true' : 'false';
}

/** Confirms, posts the control, shows what the fleet answered, refreshes `panels`. */
async function control(question, path, body, panels, opts) {
  const reason = await confirmDialog(question, opts);
  if (reason === null) return;
  if (opts?.askReason) body = { ...body, reason: reason || 'from the dashboard' };
  showResult(`${question} …`, true);
  try {
    const res = await api.post(path, body);
    const text = typeof res === 'string' ? res : pick(res ?? {}, 'result', 'message', 'summary') ?? JSON.stringify(res);
    showResult(String(text).trim() || 'done', true);
  } catch (e) {
    if (e instanceof api.Unauthorized) return showLogin('The token was refused; sign in again.');
    showResult(`Failed: ${e.message}`, false);
  }
  touch(...panels);
}

const FLEET = {
  halt: ['Halt the fleet? Bots stop placing orders; host-managed exits stay armed.', 'fleet/halt'],
  reduce: ['Set the fleet to REDUCING? Only orders that shrink positions go through.', 'fleet/reduce'],
  resume: ['Resume normal trading for the whole fleet?', 'fleet/resume'],
};

function fleetControl(which) {
  const [q, path] = FLEET[which];
  return control(q, path, {}, ['state', 'fleet', 'events'], { askReason: true });
}

function botControl(which, bot) {
  const q = {
    pause: `Pause bot ${bot}? Its host-managed exits stay armed.`,
    resume: `Resume bot ${bot}?`,
    flatten: `Flatten bot ${bot}? Every position it holds is closed at market.`,
  }[which];
  return control(q, `bots/${encodeURIComponent(bot)}/${which}`, {}, ['bots', 'positions', 'orders', 'events']);
}

function cancelOrder(id) {
  return control(`Cancel order ${id}?`, `orders/${encodeURIComponent(id)}/cancel`, {}, ['orders', 'events']);
}

// ---------- wiring ----------

document.addEventListener('DOMContentLoaded', () => {
  $('login-form').addEventListener('submit', (e) => {
    e.preventDefault();
    login($('token-input').value);
  });
  $('btn-halt').addEventListener('click', () => fleetControl('halt'));
  $('btn-reduce').addEventListener('click', () => fleetControl('reduce'));
  $('btn-resume').addEventListener('click', () => fleetControl('resume'));
  $('btn-reload').addEventListener('click', () =>
    control('Reload the registry and every changed bot?', 'reload', {}, ['bots', 'fleet', 'events']),
  );
  $('btn-logout').addEventListener('click', () => showLogin());
  let filterTimer = null;
  $('bot-filter').addEventListener('input', () => {
    clearTimeout(filterTimer);
    filterTimer = setTimeout(() => {
      view.filter = $('bot-filter').value.trim();
      view.botsOffset = 0;
      guarded('bots', refreshBots);
    }, 250);
  });
  $('bots-prev').addEventListener('click', () => {
    view.botsOffset = Math.max(0, view.botsOffset - BOTS_PER_PAGE);
    guarded('bots', refreshBots);
  });
  $('bots-next').addEventListener('click', () => {
    view.botsOffset += BOTS_PER_PAGE;
    guarded('bots', refreshBots);
  });
  window.addEventListener('resize', () => touch('equity', 'allocations', 'refusals'));
  if (api.token()) login(api.token());
  else showLogin();
});
