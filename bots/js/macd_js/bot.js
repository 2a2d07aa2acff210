// MACD crossover in JavaScript, built into a component by componentize-js.
//
// Goes long when the MACD line crosses above its signal line (the histogram turns
// positive) and closes when it crosses back below; with `allow_short = true` it mirrors
// that. MACD and ATR come from the host's `indicator` import; each entry carries a stop
// `atr_mult` ATRs away from the price, so the stop follows the market's own volatility.
//
// Params (all optional, text in the registry): `fast` (12), `slow` (26), `signal` (9),
// `atr_period` (14), `atr_mult` (2, 0 = no stop), `timeframe` (1m), `allow_short`
// (false), `fraction` of capital per symbol (an equal share of the granted symbols).

import { indicator, lastPrice, positions, log } from 'flotilla:bot/host@0.7.0';
import { nextTick } from 'flotilla:bot/replay@0.7.0';

const NAME = 'macd_js';
const VERSION = '0.1.0';
// Bump when the snapshot layout changes; restore refuses other versions.
const SNAPSHOT_VERSION = 1;
const TIMEFRAMES = { '1m': 'm1', '5m': 'm5', '15m': 'm15', '1h': 'h1', '1d': 'd1' };
const KNOWN_PARAMS = ['fast', 'slow', 'signal', 'atr_period', 'atr_mult', 'timeframe', 'allow_short', 'fraction'];
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

function period(params, key, fallback) {
  const value = number(params, key, fallback);
  if (!Number.isInteger(value) || value < 1) fail(`param \`${key}\`: expected a whole number >= 1, got ${value}`);
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

// Host errors arrive as thrown values carrying the `err` string in `payload`.
function hostError(e) {
  return e && e.payload !== undefined ? e.payload : String(e);
}

const bot = {
  symbols: [],
  ticks: 0,
  fills: 0,
  // The last signal acted on per symbol; survives reloads through snapshot/restore.
  signals: {},
};

function configure(config) {
  const params = new Map(config.params.map((p) => [p.key, p.value]));
  bot.symbols = [...config.symbols];
  bot.fast = period(params, 'fast', 12);
  bot.slow = period(params, 'slow', 26);
  bot.signal = period(params, 'signal', 9);
  bot.atrPeriod = period(params, 'atr_period', 14);
  bot.atrMult = number(params, 'atr_mult', 2);
  bot.allowShort = flag(params, 'allow_short', false);
  bot.fraction = number(params, 'fraction', 1 / Math.max(bot.symbols.length, 1));
  const tf = (params.get('timeframe') ?? '1m').trim();
  if (!(tf in TIMEFRAMES)) fail(`param \`timeframe\`: expected one of ${Object.keys(TIMEFRAMES).join(', ')}, got \`${tf}\``);
  bot.timeframe = TIMEFRAMES[tf];
  if (bot.fast >= bot.slow) fail(`params: need fast < slow, got ${bot.fast} and ${bot.slow}`);
  if (!(bot.atrMult >= 0)) fail(`param \`atr_mult\`: must be >= 0, got ${bot.atrMult}`);
  if (!(bot.fraction >= 0 && bot.fraction <= 10)) fail(`param \`fraction\`: must be in [0, 10], got ${bot.fraction}`);
  for (const key of params.keys()) {
    if (!KNOWN_PARAMS.includes(key)) log('warn', `ignoring unknown param \`${key}\``);
  }
}

// The last two histogram values, or undefined while MACD warms up or the host refuses.
function histogram(symbol) {
  let values;
  try {
    values = indicator(symbol, bot.timeframe, { tag: 'macd', val: { fast: bot.fast, slow: bot.slow, signal: bot.signal } }, 2);
  } catch (e) {
    log('warn', `${symbol}: no MACD: ${hostError(e)}`);
    return undefined;
  }
  if (values.tag !== 'macd' || values.val.histogram.length < 2) return undefined;
  const h = values.val.histogram;
  return [h[h.length - 2], h[h.length - 1]];
}

function atr(symbol) {
  try {
    const values = indicator(symbol, bot.timeframe, { tag: 'atr', val: bot.atrPeriod }, 1);
    return values.tag === 'line' && values.val.length > 0 ? values.val[values.val.length - 1] : undefined;
  } catch (e) {
    log('warn', `${symbol}: no ATR: ${hostError(e)}`);
    return undefined;
  }
}

// Enters on a fresh cross in its direction, exits on the opposite cross, else holds.
function decide(prev, before, now) {
  const crossedUp = before <= 0 && now > 0;
  const crossedDown = before >= 0 && now < 0;
  if (crossedUp) return 'long';
  if (crossedDown) return bot.allowShort ? 'short' : 'flat';
  return prev;
}

function order(ctx, symbol, signal, hist) {
  const tag = `${NAME}:${signal}`;
  if (signal === 'flat') {
    return { symbol, action: { tag: 'target', val: 0 }, confidence: 1, stopLoss: undefined, takeProfit: undefined, trailing: undefined, scaleOuts: [], tag };
  }
  const price = lastPrice(symbol);
  const qty = price > 0 ? SIGN[signal] * Math.max((ctx.capital * bot.fraction) / price, 0) : 0;
  const range = atr(symbol);
  // A histogram large against the bar's typical range is a strong cross.
  const strength = range > 0 ? (Math.abs(hist) / range) * 5 : 0;
  const stopLoss = range > 0 && bot.atrMult > 0 ? price - SIGN[signal] * bot.atrMult * range : undefined;
  return { symbol, action: { tag: 'target', val: qty }, confidence: confidence(strength), stopLoss, takeProfit: undefined, trailing: undefined, scaleOuts: [], tag };
}

/** The `flotilla:bot/strategy` export. */
export const strategy = {
  describe() {
    // `describe` runs before `init`, and the timeframe is a param: declare them all.
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
      const h = histogram(symbol);
      if (h === undefined) continue;
      let prev = bot.signals[symbol] ?? 'flat';
      if (prev !== 'flat' && !held.get(symbol)) {
        // A stop the host executed, or an entry risk refused: nothing is held, so wait
        // for the next cross instead of an exit that has no position.
        prev = 'flat';
      }
      const signal = decide(prev, h[0], h[1]);
      bot.signals[symbol] = signal;
      if (signal !== prev) intents.push(order(ctx, symbol, signal, h[1]));
    }
    return intents;
  },

  onFill(_fill) {
    bot.fills += 1;
  },

  // Market orders only: nothing to learn from their updates that fills do not say.
  onOrder(_update) {},

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
