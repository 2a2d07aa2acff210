// Native testing for JavaScript bots under `node --test`: indicator series with TA-Lib's
// definitions (as host/indicators and the Rust SDK), a mock host that answers every
// import as the host does, and a harness that drives a bot like the host.

import { Runner, TIMEFRAME_MILLIS, HostError, checkTimeframe, specProblem } from './flotilla.js';

// Indicator series, aligned like TA-Lib's output: out[i] belongs to values[lookback + i].

/** Simple moving averages, by a running sum. */
export function smaSeries(values, period) {
  if (period <= 0 || values.length < period) return [];
  let sum = values.slice(0, period - 1).reduce((a, b) => a + b, 0);
  const out = [];
  for (let i = period - 1; i < values.length; i++) {
    sum += values[i];
    out.push(sum / period);
    sum -= values[i + 1 - period];
  }
  return out;
}

/** Exponential moving averages, SMA-seeded. */
export function emaSeries(values, period) {
  if (period <= 0 || values.length < period) return [];
  const alpha = 2 / (period + 1);
  let acc = values.slice(0, period).reduce((a, b) => a + b, 0) / period;
  const out = [acc];
  for (const v of values.slice(period)) {
    acc += alpha * (v - acc);
    out.push(acc);
  }
  return out;
}

const windows = (values, n) => Array.from({ length: Math.max(values.length - n + 1, 0) }, (_, i) => values.slice(i, i + n));

/** Linearly weighted moving averages (weights 1 oldest to `period` newest). */
export const wmaSeries = (values, period) =>
  period <= 0 ? [] : windows(values, period).map((w) => (w.reduce((a, v, i) => a + (i + 1) * v, 0) * 2) / (period * (period + 1)));

/** Rolling population standard deviations. */
export const stddevSeries = (values, period) =>
  period <= 0
    ? []
    : windows(values, period).map((w) => {
        const mean = w.reduce((a, b) => a + b, 0) / period;
        return Math.sqrt(w.reduce((a, v) => a + (v - mean) ** 2, 0) / period);
      });

/** Rates of change in percent; 0 where the old value is 0. */
export const rocSeries = (values, period) =>
  period <= 0 ? [] : windows(values, period + 1).map((w) => (w[0] === 0 ? 0 : (w[period] / w[0] - 1) * 100));

function wilder(xs, n) {
  if (xs.length < n) return [];
  let avg = xs.slice(0, n).reduce((a, b) => a + b, 0) / n;
  const out = [avg];
  for (const x of xs.slice(n)) {
    avg = (avg * (n - 1) + x) / n;
    out.push(avg);
  }
  return out;
}

/** Wilder RSI in [0, 100]; 0 where nothing moved (TA-Lib). */
export function rsiSeries(values, period) {
  if (period <= 0 || values.length <= period) return [];
  const changes = values.slice(1).map((v, i) => v - values[i]);
  const gains = wilder(changes.map((c) => Math.max(c, 0)), period);
  const losses = wilder(changes.map((c) => Math.max(-c, 0)), period);
  return gains.map((g, i) => (g + losses[i] === 0 ? 0 : 100 * (g / (g + losses[i]))));
}

/** Average true ranges with Wilder's smoothing over aligned bars. */
export function atrSeries(high, low, close, period) {
  const n = Math.min(high.length, low.length, close.length);
  if (period <= 0 || n <= period) return [];
  const ranges = [];
  for (let i = 1; i < n; i++) ranges.push(Math.max(high[i] - low[i], Math.abs(high[i] - close[i - 1]), Math.abs(low[i] - close[i - 1])));
  return wilder(ranges, period);
}

/** MACD as TA-Lib computes it (the fast EMA starts where the slow one does). */
export function macdSeries(values, fast, slow, signal) {
  if (fast <= 0 || signal <= 0 || slow <= fast || values.length < slow) return { macd: [], signal: [], histogram: [] };
  const slowLine = emaSeries(values, slow);
  const fastLine = emaSeries(values.slice(slow - fast), fast);
  let line = fastLine.map((f, i) => f - slowLine[i]);
  const signalLine = emaSeries(line, signal);
  line = line.slice(line.length - signalLine.length);
  return { macd: line, signal: signalLine, histogram: line.map((m, i) => m - signalLine[i]) };
}

/** Bollinger bands: SMA middle, `deviations` population standard deviations either side. */
export function bollingerSeries(values, period, deviations) {
  const middle = smaSeries(values, period);
  const sd = stddevSeries(values, period);
  return { upper: middle.map((m, i) => m + deviations * sd[i]), middle, lower: middle.map((m, i) => m - deviations * sd[i]) };
}

/** Bars the host reads for `count` values: count + lookback, plus 10 x the longest period
 * for the recursive indicators (EMA, RSI, ATR, MACD). */
export function history(s, count) {
  const [a, b, c] = s.args;
  const lookback = s.kind === 'macd' ? b + c - 2 : ['rsi', 'atr', 'roc'].includes(s.kind) ? a : a - 1;
  const extra = ['ema', 'rsi', 'atr'].includes(s.kind) ? 10 * a : s.kind === 'macd' ? 10 * Math.max(a, b, c) : 0;
  return count + lookback + extra;
}

/** The last `count` values of spec `s` over `bars`. */
export function compute(s, bars, count) {
  const close = bars.map((b) => b.close);
  const last = (v) => v.slice(Math.max(v.length - count, 0));
  const lastAll = (o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, last(v)]));
  const [a, b, c] = s.args;
  switch (s.kind) {
    case 'macd':
      return lastAll(macdSeries(close, a, b, c));
    case 'bollinger':
      return lastAll(bollingerSeries(close, a, b));
    case 'atr':
      return last(atrSeries(bars.map((x) => x.high), bars.map((x) => x.low), close, a));
    default:
      return last({ sma: smaSeries, ema: emaSeries, wma: wmaSeries, rsi: rsiSeries, stddev: stddevSeries, roc: rocSeries }[s.kind](close, a));
  }
}

/** Bars from closes (open = high = low = close, volume 1), one `timeframe` apart. */
export function closesToBars(closes, timeframe = '1m', start = 0) {
  const step = TIMEFRAME_MILLIS[checkTimeframe(timeframe)];
  return closes.map((c, i) => ({ time: start + i * step, open: c, high: c, low: c, close: c, volume: 1 }));
}

/** The host cap on a `bars` or `indicator` request. */
const MAX_COUNT = 5000;

/** An in-memory stand-in for the host. */
export class MockHost {
  constructor(capital = 100_000) {
    this.series = new Map();
    this.prices = new Map();
    this.held = new Map();
    /** What `workingOrders` lists: { id (BigInt), symbol, side, quantity, filled, limitPrice, timeInForce, state, time, tag }. */
    this.working = [];
    /** The ids `cancelOrder` recorded, each once. */
    this.cancels = [];
    this.capitalValue = capital;
    this.kv = new Map();
    /** [level, message] lines the bot logged. */
    this.logs = [];
  }

  setBars(symbol, timeframe, bars) {
    this.series.set(`${symbol}|${checkTimeframe(timeframe)}`, [...bars]);
  }
  setCloses(symbol, timeframe, closes) {
    this.setBars(symbol, timeframe, closesToBars(closes, timeframe));
  }
  setPrice(symbol, price) {
    this.prices.set(symbol, price);
  }
  setPosition(symbol, quantity, avgPrice = 0) {
    if (quantity === 0) this.held.delete(symbol);
    else this.held.set(symbol, { symbol, quantity, avgPrice });
  }

  get(symbol, timeframe) {
    const bars = this.series.get(`${symbol}|${timeframe}`);
    if (bars === undefined) throw new HostError(`symbol ${JSON.stringify(symbol)} not granted or no ${timeframe} bars`);
    return bars;
  }
  bars(symbol, timeframe, count) {
    const all = this.get(symbol, timeframe);
    return all.slice(Math.max(all.length - Math.min(count, MAX_COUNT), 0));
  }
  barAt(symbol, timeframe, back) {
    const all = this.get(symbol, timeframe);
    return back < all.length ? all[all.length - 1 - back] : undefined;
  }
  indicator(symbol, timeframe, s, count) {
    const problem = specProblem(s);
    if (problem !== undefined) throw new HostError(`invalid indicator: ${problem}`);
    count = Math.min(count, MAX_COUNT);
    const all = this.get(symbol, timeframe);
    return compute(s, all.slice(Math.max(all.length - history(s, count), 0)), count);
  }
  lastPrice(symbol) {
    if (this.prices.has(symbol)) return this.prices.get(symbol);
    const newest = [...this.series.entries()].filter(([k, v]) => k.startsWith(`${symbol}|`) && v.length > 0).map(([, v]) => v[v.length - 1]);
    if (newest.length === 0) throw new HostError(`symbol ${JSON.stringify(symbol)} not granted`);
    return newest.reduce((a, b) => (b.time > a.time ? b : a)).close;
  }
  positions() {
    return [...this.held.values()];
  }
  capital() {
    return this.capitalValue;
  }
  kvGet(key) {
    return this.kv.get(key);
  }
  kvSet(key, value) {
    this.kv.set(key, Uint8Array.from(value));
  }
  log(level, text) {
    this.logs.push([level, text]);
  }
  workingOrders() {
    return [...this.working];
  }
  cancelOrder(id) {
    const order = this.working.find((o) => o.id === BigInt(id));
    if (order === undefined) throw new HostError(`order #${id} is not one of this bot's working orders`);
    if (order.state !== 'pending-cancel' && !this.cancels.includes(order.id)) this.cancels.push(order.id);
  }
}

/** Drives one bot through init, ticks, fills and snapshots against a `MockHost`. */
export class Harness {
  constructor(BotClass, { symbols = ['AAA'], params = {}, host = new MockHost(), botId = 'test' } = {}) {
    this.host = host;
    this.runner = new Runner(BotClass);
    this.ticks = 0;
    this.fills = [];
    this.nextId = 0n;
    this.runner.init(host, botId, symbols, Object.entries(params).map(([k, v]) => [k, String(v)]));
  }
  get bot() {
    return this.runner.bot;
  }
  /** Runs the next tick; its intents. */
  tick(time = (this.ticks + 1) * 60_000) {
    this.ticks += 1;
    return this.runner.tick(time, this.ticks, this.host.capitalValue);
  }
  /** Reports a fill to the bot and books it in the mock's positions. */
  fill(f) {
    const held = this.host.held.get(f.symbol);
    const qty = held ? held.quantity : 0;
    const signed = f.side === 'buy' ? f.quantity : -f.quantity;
    let next = qty + signed;
    if (Math.abs(next) < 1e-12) next = 0;
    // The average price moves only when the position grows, as a broker keeps it.
    let avg = held ? held.avgPrice : 0;
    if (next !== 0 && (qty === 0 || qty > 0 === signed > 0)) avg = (Math.abs(qty) * avg + Math.abs(signed) * f.price) / Math.abs(next);
    else if (next !== 0 && qty > 0 !== next > 0) avg = f.price;
    this.host.setPosition(f.symbol, next, avg);
    this.fills.push(f);
    this.runner.fill(f);
  }
  /** Reports an order update. */
  order(update) {
    this.runner.order(update);
  }
  /** Fills the market intents at the last price and reports each fill; limit intents
   * become working orders (not filled here). */
  execute(intents, time = 0) {
    const done = [];
    for (const i of intents) {
      const price = this.host.lastPrice(i.symbol);
      const held = this.host.held.get(i.symbol);
      const qty = held ? held.quantity : 0;
      const delta = { buy: i.quantity, sell: -i.quantity, target: i.quantity - qty }[i.action];
      this.nextId += 1n;
      const side = delta > 0 ? 'buy' : 'sell';
      if (i.limit !== undefined) {
        this.host.working.push({ id: this.nextId, symbol: i.symbol, side, quantity: Math.abs(delta), filled: 0, limitPrice: i.limit, timeInForce: i.tif ?? 'day', state: 'accepted', time, tag: i.tag });
        continue;
      }
      if (delta === 0) continue;
      const f = { orderId: this.nextId, symbol: i.symbol, side, quantity: Math.abs(delta), price, fee: 0, time, tag: i.tag };
      this.fill(f);
      done.push(f);
    }
    return done;
  }
  /** Serves `bars` one at a time (the first `warmup` at once), ticking after each and
   * filling that tick's market intents at the bar's close; the fills made. */
  replay(symbol, bars, { timeframe = '1m', warmup = 1 } = {}) {
    const fills = [];
    for (let n = Math.max(warmup, 1); n <= bars.length; n++) {
      this.host.setBars(symbol, timeframe, bars.slice(0, n));
      const time = bars[n - 1].time + TIMEFRAME_MILLIS[timeframe];
      fills.push(...this.execute(this.tick(time), time));
    }
    return fills;
  }
  snapshot() {
    return this.runner.snapshot();
  }
  restore(bytes) {
    this.runner.restore(bytes);
  }
}
