// RSI mean reversion in JavaScript: the same rule, params and host calls as the Python
// `rsi_python` and the Rust `rsi_rust`, so the three languages can be benchmarked
// against each other (host/runtime/benches/languages.rs).
//
// Buys when RSI (Wilder, from the host's `indicator` import) drops below `oversold` and
// holds until RSI climbs back above `exit`; with `allow_short = true` it mirrors that
// above `overbought`. Each entry carries a stop `stop_pct` away from the price.
//
// Params (all optional): `period` (14), `oversold` (30), `overbought` (70), `exit` (50),
// `timeframe` (1m), `allow_short` (false), `fraction` (an equal share), `stop_pct` (0.03),
// `limit_pct` (0 = market entries): entries become limit orders this fraction below the
// price (above it for a short), good for the day; a signal that goes flat cancels the
// symbol's unfilled entries.

import { bars, cancelOrder, indicator, lastPrice, log, positions, workingOrders } from 'flotilla:bot/host@0.7.0';
import { nextTick } from 'flotilla:bot/replay@0.7.0';

const NAME = 'rsi_js';
const VERSION = '0.1.0';
// Bump when the snapshot layout changes; restore refuses other versions.
const SNAPSHOT_VERSION = 1;
const TIMEFRAMES = { '1m': 'm1', '5m': 'm5', '15m': 'm15', '1h': 'h1', '1d': 'd1' };
const KNOWN_PARAMS = ['period', 'oversold', 'overbought', 'exit', 'timeframe', 'allow_short', 'fraction', 'stop_pct', 'limit_pct'];
const SIGN = { flat: 0, long: 1, short: -1 };

// An exported function returns `err(message)` when it throws a string; an `Error` object
// would trap the instance instead.
function fail(message) {
  throw message;
}

function number(params, key, fallback) {
  const text = params.get(key);
  if (text === undefined || text.trim() === '') return fallback;
  const value = Number(text);
  if (!Number.isFinite(value)) fail(`param \`${key}\`: expected a finite number, got \`${text}\``);
  return value;
}

function flag(params, key, fallback) {
  const text = params.get(key);
  if (text === undefined || text.trim() === '') return fallback;
  const value = text.trim().toLowerCase();
  if (['true', 'yes', '1', 'on'].includes(value)) return true;
  if (['false', 'no', '0', 'off'].includes(value)) return false;
  fail(`param \`${key}\`: expected true or false, got \`${text}\``);
}

// 0.5 at the threshold, rising towards 1 with strength (as the Rust SDK's `confidence`).
function confidence(strength) {
  return Number.isFinite(strength) && strength > 0 ? 0.5 + 0.5 * (1 - Math.exp(-strength)) : 0.5;
}

const bot = { symbols: [], ticks: 0, fills: 0, signals: {} };

function configure(config) {
  const params = new Map(config.params.map((p) => [p.key, p.value]));
  bot.symbols = [...config.symbols];
  bot.period = number(params, 'period', 14);
  bot.oversold = number(params, 'oversold', 30);
  bot.overbought = number(params, 'overbought', 70);
  bot.exit = number(params, 'exit', 50);
  bot.allowShort = flag(params, 'allow_short', false);
  bot.fraction = number(params, 'fraction', 1 / Math.max(bot.symbols.length, 1));
  bot.stopPct = number(params, 'stop_pct', 0.03);
  bot.limitPct = number(params, 'limit_pct', 0);
  const tf = (params.get('timeframe') ?? '1m').trim();
  if (!(tf in TIMEFRAMES)) fail(`param \`timeframe\`: expected one of ${Object.keys(TIMEFRAMES).join(', ')}, got \`${tf}\``);
  bot.timeframe = TIMEFRAMES[tf];
  if (!Number.isInteger(bot.period) || bot.period < 2) fail(`param \`period\`: must be a whole number >= 2, got ${bot.period}`);
  if (!(bot.oversold > 0 && bot.oversold < bot.exit && bot.exit < bot.overbought && bot.overbought < 100)) {
    fail(`params: need 0 < oversold < exit < overbought < 100, got ${bot.oversold}, ${bot.exit}, ${bot.overbought}`);
  }
  if (!(bot.fraction >= 0 && bot.fraction <= 10)) fail(`param \`fraction\`: must be in [0, 10], got ${bot.fraction}`);
  if (!(bot.stopPct >= 0 && bot.stopPct < 1)) fail(`param \`stop_pct\`: must be in [0, 1), got ${bot.stopPct}`);
  if (!(bot.limitPct >= 0 && bot.limitPct < 1)) fail(`param \`limit_pct\`: must be in [0, 1), got ${bot.limitPct}`);
  for (const key of params.keys()) {
    if (!KNOWN_PARAMS.includes(key)) log('warn', `ignoring unknown param \`${key}\``);
  }
}

// Holds an open position until RSI crosses `exit`; otherwise enters on the extremes.
function decide(prev, rsi) {
  if (prev === 'long' && rsi <= bot.exit) return 'long';
  if (prev === 'short' && rsi >= bot.exit) return 'short';
  if (rsi < bot.oversold) return 'long';
  if (rsi > bot.overbought) return bot.allowShort ? 'short' : 'flat';
  return 'flat';
}

// TA-Lib's RSI is 0 both after nothing but losses and when nothing moved; only the first
// is oversold. True when the last `period + 1` closes are all equal.
function flatMarket(symbol) {
  let closes;
  try {
    closes = bars(symbol, bot.timeframe, bot.period + 1).map((b) => b.close);
  } catch (_e) {
    return false;
  }
  return closes.length > 1 && closes.every((c) => c === closes[0]);
}

// Asks the host to cancel the symbol's unfilled limit entries (done after the tick).
function cancelEntries(symbol) {
  for (const o of workingOrders()) {
    if (o.symbol !== symbol || o.limitPrice === undefined || o.filled !== 0) continue;
    try {
      cancelOrder(o.id); // `id` is a BigInt (u64)
    } catch (e) {
      log('debug', `${symbol}: order ${o.id} not canceled: ${e && e.payload !== undefined ? e.payload : e}`);
    }
  }
}

function order(ctx, symbol, signal, rsi) {
  const tag = `${NAME}:${signal}`;
  if (signal === 'flat') {
    return { symbol, action: { tag: 'target', val: 0 }, confidence: 1, stopLoss: undefined, takeProfit: undefined, trailing: undefined, scaleOuts: [], limitPrice: undefined, timeInForce: undefined, tag };
  }
  const price = lastPrice(symbol);
  const qty = price > 0 ? SIGN[signal] * Math.max((ctx.capital * bot.fraction) / price, 0) : 0;
  const strength = signal === 'long' ? (bot.oversold - rsi) / 10 : (rsi - bot.overbought) / 10;
  const stopLoss = bot.stopPct > 0 ? price * (1 - SIGN[signal] * bot.stopPct) : undefined;
  // A limit entry waits for the price to come `limit_pct` its way; undefined is a market order.
  const limitPrice = bot.limitPct > 0 ? price * (1 - SIGN[signal] * bot.limitPct) : undefined;
  const timeInForce = limitPrice === undefined ? undefined : 'day';
  return { symbol, action: { tag: 'target', val: qty }, confidence: confidence(strength), stopLoss, takeProfit: undefined, trailing: undefined, scaleOuts: [], limitPrice, timeInForce, tag };
}

/** The `flotilla:bot/strategy` export. */
export const strategy = {
  describe() {
    return { name: NAME, version: VERSION, symbols: [], timeframes: Object.values(TIMEFRAMES) };
  },

  init(config) {
    configure(config);
  },

  onTick(ctx) {
    bot.ticks += 1;
    const held = new Map(positions().map((p) => [p.symbol, p.quantity]));
    const intents = [];
    for (const symbol of bot.symbols) {
      let values;
      try {
        values = indicator(symbol, bot.timeframe, { tag: 'rsi', val: bot.period }, 1);
      } catch (e) {
        log('warn', `${symbol}: no RSI: ${e && e.payload !== undefined ? e.payload : e}`);
        continue;
      }
      if (values.tag !== 'line' || values.val.length === 0) continue; // still warming up
      let rsi = values.val[values.val.length - 1];
      if (rsi === 0 && flatMarket(symbol)) rsi = 50;
      let prev = bot.signals[symbol] ?? 'flat';
      // A stop the host executed, or an entry risk refused: nothing is held, so decide afresh.
      if (prev !== 'flat' && !held.get(symbol)) prev = 'flat';
      const signal = decide(prev, rsi);
      bot.signals[symbol] = signal;
      if (signal === prev) continue;
      if (signal === 'flat' && bot.limitPct > 0) cancelEntries(symbol);
      intents.push(order(ctx, symbol, signal, rsi));
    }
    return intents;
  },

  onFill(_fill) {
    bot.fills += 1;
  },

  onOrder(update) {
    if (update.event.tag === 'rejected') log('warn', `${update.symbol}: order ${update.orderId} rejected: ${update.event.val}`);
  },

  snapshot() {
    const state = { v: SNAPSHOT_VERSION, ticks: bot.ticks, fills: bot.fills, signals: bot.signals };
    return new TextEncoder().encode(JSON.stringify(state));
  },

  restore(state) {
    if (state.length === 0) return;
    let data;
    try {
      data = JSON.parse(new TextDecoder().decode(state));
    } catch (e) {
      fail(`snapshot is not JSON: ${e}`);
    }
    if (!data || data.v !== SNAPSHOT_VERSION) fail(`snapshot version ${data && data.v}, expected ${SNAPSHOT_VERSION}`);
    const signals = data.signals ?? {};
    if (!Object.values(signals).every((s) => s in SIGN)) fail('snapshot holds an unknown signal');
    bot.ticks = Number(data.ticks ?? 0);
    bot.fills = Number(data.fills ?? 0);
    bot.signals = { ...signals };
  },
};

/** The `flotilla:bot/replay-strategy` export: a backtest's run of ticks in one call. */
export const replayStrategy = {
  // Stop at the first tick that has intents, as the contract asks.
  onTicks(ctx) {
    for (;;) {
      const intents = strategy.onTick(ctx);
      // No series to watch: this bot reads indicators, not single bars.
      const next = intents.length > 0 ? undefined : nextTick(undefined);
      if (next === undefined) return intents;
      ctx = next.ctx;
    }
  },
};
