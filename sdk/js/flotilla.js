// Write Flotilla trading bots in JavaScript (contract flotilla:bot@0.7.0).
//
// A bot is a class extending `Bot`, exported by the component's entry file:
//
//   import * as host from 'flotilla:bot/host@0.7.0';
//   import * as replay from 'flotilla:bot/replay@0.7.0';
//   import { exportBot } from './flotilla.js';
//   import { MyBot } from './strategy.js';
//   export const { strategy, replayStrategy } = exportBot(MyBot, { host, replay });
//
// The SDK owns the one bot instance, converts the generated types, parses params and
// saves declared state. This file imports nothing, so a strategy module that imports
// only it runs under `node --test` against the mock host in testing.js.

/** The timeframes the host serves, as bots name them. */
export const TIMEFRAMES = ['1m', '5m', '15m', '1h', '1d'];
/** A bar's length in milliseconds, per timeframe. */
export const TIMEFRAME_MILLIS = { '1m': 60_000, '5m': 300_000, '15m': 900_000, '1h': 3_600_000, '1d': 86_400_000 };
const WIT_TIMEFRAMES = { '1m': 'm1', '5m': 'm5', '15m': 'm15', '1h': 'h1', '1d': 'd1' };
const TIMES_IN_FORCE = ['day', 'gtc', 'ioc', 'fok'];
const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'];

/** An error reported to the host as the call's error text. */
export class BotError extends Error {}
/** A malformed or out-of-range param; the message names it. */
export class ParamError extends BotError {}
/** The host refused a call (a symbol not granted, a bad indicator, an unknown order). */
export class HostError extends BotError {}

/** `timeframe` if the host knows it, else a `RangeError` listing the ones it does. */
export function checkTimeframe(timeframe) {
  if (!(timeframe in TIMEFRAME_MILLIS)) throw new RangeError(`unknown timeframe ${JSON.stringify(timeframe)}: expected one of ${TIMEFRAMES.join(', ')}`);
  return timeframe;
}

// Indicator specs and trailing distances: { kind, args }.
const spec = (kind, ...args) => Object.freeze({ kind, args });
/** Simple moving average. */
export const sma = (period) => spec('sma', period);
/** Exponential moving average, seeded with the SMA of its first `period` inputs. */
export const ema = (period) => spec('ema', period);
/** Linearly weighted moving average. */
export const wma = (period) => spec('wma', period);
/** Relative strength index with Wilder's smoothing, in [0, 100]. */
export const rsi = (period = 14) => spec('rsi', period);
/** Average true range (Wilder) as an indicator; as `trail`, a distance of `n` ATR(14)s. */
export const atr = (n = 14) => spec('atr', n);
/** Rolling population standard deviation. */
export const stddev = (period) => spec('stddev', period);
/** Rate of change in percent. */
export const roc = (period) => spec('roc', period);
/** MACD line, signal line and histogram (TA-Lib defaults 12, 26, 9). */
export const macd = (fast = 12, slow = 26, signal = 9) => spec('macd', fast, slow, signal);
/** Bollinger bands around an SMA, `deviations` population standard deviations wide. */
export const bollinger = (period = 20, deviations = 2) => spec('bollinger', period, deviations);
/** A trailing distance: a fraction of the best price, in (0, 1). */
export const percent = (fraction) => spec('percent', fraction);
/** A trailing distance: a fixed price distance. */
export const absolute = (distance) => spec('absolute', distance);

/** Why the host would refuse `s` as an indicator, or undefined when it is fine. */
export function specProblem(s) {
  const [a] = s.args;
  // The common case first, without building any text: it runs on every indicator call.
  if (s.kind !== 'macd' && s.kind !== 'bollinger' && s.kind !== 'percent' && s.kind !== 'absolute' && Number.isInteger(a) && a >= 1) return undefined;
  const text = `${s.kind}(${s.args.join(', ')})`;
  if (s.kind === 'percent' || s.kind === 'absolute') return `${text} is a trailing distance, not an indicator`;
  const names = s.kind === 'macd' ? ['fast', 'slow', 'signal'] : ['period'];
  for (const [i, name] of names.entries()) {
    if (!Number.isInteger(s.args[i]) || s.args[i] < 1) return `${text}: ${name} must be a whole number of at least 1`;
  }
  if (s.kind === 'macd' && !(s.args[0] < s.args[1])) return `${text}: fast must be below slow`;
  if (s.kind === 'bollinger' && !(Number.isFinite(s.args[1]) && s.args[1] > 0)) return `${text}: deviations must be a positive number`;
  return undefined;
}

/** 0.5 at a signal's threshold, rising towards 1 as `strength` grows (as the Rust SDK). */
export function confidence(strength) {
  return Number.isFinite(strength) && strength > 0 ? 0.5 + 0.5 * (1 - Math.exp(-strength)) : 0.5;
}

const PARSERS = {
  int: [(t) => (/^[+-]?\d+(\.0*)?$/.test(t) ? Number(t) : undefined), 'a whole number'],
  number: [(t) => (t !== '' && Number.isFinite(Number(t)) ? Number(t) : undefined), 'a finite number'],
  bool: [(t) => ({ true: true, yes: true, on: true, 1: true, false: false, no: false, off: false, 0: false })[t.toLowerCase()], 'true or false'],
  string: [(t) => t, 'text'],
  timeframe: [(t) => (t in TIMEFRAME_MILLIS ? t : undefined), 'a timeframe (1m, 5m, 15m, 1h, 1d)'],
};

/** What the registry gave the bot: its id, granted symbols and text params. */
export class Config {
  constructor(botId, symbols, params) {
    this.botId = botId;
    this.symbols = [...symbols];
    // The last one wins when a key repeats, as in the Rust SDK.
    this.params = new Map(params);
    this.asked = new Set();
  }

  /** A param's text, or undefined. */
  raw(key) {
    this.asked.add(key);
    return this.params.get(key);
  }

  /**
   * A typed param ('int', 'number', 'bool', 'string', 'timeframe', or a function that
   * parses text and throws on bad input), or `fallback` when absent or empty; without a
   * fallback it is required. A malformed value throws `ParamError` naming the param.
   */
  param(key, type = 'string', fallback, { choices } = {}) {
    const text = this.raw(key);
    if (text === undefined || text.trim() === '') {
      if (arguments.length < 3) throw new ParamError(`param \`${key}\` is required (${expected(type)})`);
      return fallback;
    }
    const trimmed = text.trim();
    let value;
    if (typeof type === 'function') {
      try {
        value = type(trimmed);
      } catch (e) {
        throw new ParamError(`param \`${key}\`: expected ${e && e.message ? e.message : expected(type)}, got \`${trimmed}\``);
      }
    } else {
      if (!(type in PARSERS)) throw new TypeError(`param type ${JSON.stringify(type)}: use ${Object.keys(PARSERS).join(', ')} or a function`);
      value = PARSERS[type][0](trimmed);
      if (value === undefined) throw new ParamError(`param \`${key}\`: expected ${expected(type)}, got \`${trimmed}\``);
    }
    if (choices !== undefined && !choices.includes(value)) {
      throw new ParamError(`param \`${key}\`: expected one of ${choices.join(', ')}, got \`${trimmed}\``);
    }
    return value;
  }

  /** Keys no `param` call asked for: a typo there silently means a default. */
  unknown() {
    return [...this.params.keys()].filter((k) => !this.asked.has(k)).sort();
  }
}

function expected(type) {
  return typeof type === 'function' ? type.name || 'a valid value' : (PARSERS[type] ?? [null, 'a valid value'])[1];
}

/**
 * A trading strategy: extend it, implement `onTick(tick)`, describe it with static fields.
 * One instance lives as long as the component instance, so state on `this` survives.
 */
export class Bot {
  /** The name the bot reports to the host. */
  static botName = 'bot';
  /** The bot's own version. */
  static version = '0.1.0';
  /** Symbols it needs; empty means whatever the registry grants. */
  static symbols = [];
  /** Timeframes it reads (`describe` runs before `init`, so not from params). */
  static timeframes = ['1m'];
  /** Names of the properties `snapshot` saves and `restore` brings back (JSON values). */
  static state = [];
  /** Bump when the saved state's layout changes: `restore` refuses other versions. */
  static stateVersion = 1;

  /** Reads params (`this.param`) and prepares state; throwing keeps the bot from running. */
  init(_config) {}
  /** Decides what to trade now with `tick.target`, `tick.buy`, `tick.sell`. */
  onTick(_tick) {
    throw new BotError(`${this.constructor.name}.onTick is not implemented`);
  }
  /** Learns of an execution of one of its orders. */
  onFill(_fill) {}
  /** Learns what happened to one of its orders: `update.event` is 'accepted', 'rejected'
   * (with `update.reason`), 'canceled', 'expired', 'partial-fill' (with `update.filled`) or 'filled'. */
  onOrder(_update) {}
  /** Checks restored state before any of it is applied; throw to refuse it. */
  checkState(_state) {}

  /** A typed param from the registry; see `Config.param`. */
  param(key, type, ...rest) {
    return this.config.param(key, type, ...rest);
  }

  /** Writes to the host's log at `level` (trace, debug, info, warn, error). */
  log(level, message) {
    this.host.log(level, message);
  }
  debug(message) {
    this.log('debug', message);
  }
  info(message) {
    this.log('info', message);
  }
  warn(message) {
    this.log('warn', message);
  }
  error(message) {
    this.log('error', message);
  }

  /** The declared `state` properties as JSON bytes, tagged with `stateVersion`. */
  snapshot() {
    const { state, stateVersion } = this.constructor;
    const data = { v: stateVersion };
    for (const name of state) {
      if (name === 'v') throw new BotError('state property `v` is reserved for the version');
      if (this[name] === undefined) throw new BotError(`state property \`${name}\` is not set`);
      data[name] = this[name];
    }
    return new TextEncoder().encode(JSON.stringify(data));
  }

  /** Brings back a `snapshot`; refuses another version or bad JSON and then changes nothing. */
  restore(bytes) {
    if (bytes.length === 0) return;
    const { state, stateVersion } = this.constructor;
    let data;
    try {
      data = JSON.parse(new TextDecoder().decode(bytes));
    } catch (e) {
      throw new BotError(`snapshot is not JSON: ${e.message}`);
    }
    const version = data && typeof data === 'object' ? data.v : undefined;
    if (version !== stateVersion) throw new BotError(`snapshot version ${version ?? '?'}, expected ${stateVersion}`);
    const values = Object.fromEntries(state.filter((k) => k in data).map((k) => [k, data[k]]));
    this.checkState(values);
    Object.assign(this, values);
  }
}

/** What a bot sees and does during one tick; intents are handed over when `onTick` returns. */
export class Tick {
  constructor(host, time, number, capital, symbols) {
    this.host = host;
    /** The tick time, ms since the Unix epoch (UTC). */
    this.time = time;
    /** 1 on this instance's first tick, then counting. */
    this.number = number;
    /** Capital allocated to the bot. */
    this.capital = capital;
    /** The symbols the registry granted. */
    this.symbols = symbols;
    /** The intents queued so far this tick. */
    this.intents = [];
  }

  /** The last `count` closed bars, oldest first: { time, open, high, low, close, volume }. */
  bars(symbol, timeframe, count) {
    return this.host.bars(symbol, checkTimeframe(timeframe), count);
  }
  /** The closes of the last `count` bars, oldest first. */
  closes(symbol, timeframe, count) {
    return this.bars(symbol, timeframe, count).map((b) => b.close);
  }
  /** One closed bar, `back` before the newest (0); undefined if the host holds fewer. */
  barAt(symbol, timeframe, back = 0) {
    return this.host.barAt(symbol, checkTimeframe(timeframe), back);
  }
  /** The latest value of an indicator (e.g. `rsi(14)`), computed by the host with TA-Lib's
   * definitions; undefined while it warms up. MACD gives { macd, signal, histogram },
   * Bollinger { upper, middle, lower }, of numbers. */
  indicator(symbol, timeframe, s) {
    if (!s || typeof s.kind !== 'string') throw new TypeError(`expected an indicator like rsi(14), got ${String(s)}`);
    const values = this.host.indicator(symbol, checkTimeframe(timeframe), s, 1);
    // A line (an array, or a typed array from the bindings), or an object of lines.
    if (values.length !== undefined) return values.length > 0 ? values[values.length - 1] : undefined;
    const lines = Object.entries(values);
    if (lines[0][1].length === 0) return undefined;
    return Object.fromEntries(lines.map(([k, v]) => [k, v[v.length - 1]]));
  }
  /** The last `count` values, oldest first (fewer while warming up): an array, or an object
   * of aligned arrays for MACD and Bollinger. */
  indicatorSeries(symbol, timeframe, s, count) {
    if (!s || typeof s.kind !== 'string') throw new TypeError(`expected an indicator like rsi(14), got ${String(s)}`);
    const values = this.host.indicator(symbol, checkTimeframe(timeframe), s, count);
    // Lists of f64 may arrive as typed arrays: plain arrays, as the mock host gives.
    if (values.length !== undefined) return Array.from(values);
    return Object.fromEntries(Object.entries(values).map(([k, line]) => [k, Array.from(line)]));
  }
  /** The latest close of a granted symbol. */
  lastPrice(symbol) {
    return this.host.lastPrice(symbol);
  }
  /** The bot's open positions (asked once per tick). */
  positions() {
    this.held ??= this.host.positions();
    return this.held;
  }
  /** The position in `symbol`: { symbol, quantity, avgPrice }, quantity 0 when flat. */
  position(symbol) {
    return this.positions().find((p) => p.symbol === symbol) ?? { symbol, quantity: 0, avgPrice: 0 };
  }
  /** The bot's orders still working as the tick started (asked once per tick). */
  workingOrders() {
    this.working ??= this.host.workingOrders();
    return this.working;
  }
  /** Asks the host to cancel a working order after this tick; `HostError` for an unknown id. */
  cancel(id) {
    this.host.cancelOrder(id);
  }
  /** Units worth `fraction` of capital at `price`; 0 when the price is unusable. */
  units(fraction, price) {
    return Number.isFinite(price) && price > 0 && Number.isFinite(this.capital) ? Math.max((this.capital * fraction) / price, 0) : 0;
  }

  /** Asks to hold a signed position of `quantity`. `plan`: { confidence, stop, take, trail
   * (atr(1.5), percent(0.02), absolute(2)), activateAtR, scaleOuts ([[atR, fraction], ...]),
   * limit, tif ('day', 'gtc', 'ioc', 'fok'), tag }. */
  target(symbol, quantity, plan = {}) {
    return this.push(symbol, 'target', quantity, plan);
  }
  /** Asks to buy `quantity`; `plan` as `target`. */
  buy(symbol, quantity, plan = {}) {
    return this.push(symbol, 'buy', quantity, plan);
  }
  /** Asks to sell `quantity`; `plan` as `target`. */
  sell(symbol, quantity, plan = {}) {
    return this.push(symbol, 'sell', quantity, plan);
  }
  /** Asks to be flat in `symbol`. */
  close(symbol, plan = {}) {
    return this.push(symbol, 'target', 0, plan);
  }
  push(symbol, action, quantity, plan) {
    const intent = makeIntent(symbol, action, quantity, plan);
    this.intents.push(intent);
    return intent;
  }

  log(level, message) {
    this.host.log(level, message);
  }
  warn(message) {
    this.log('warn', message);
  }
  /** A value from the bot's persisted key-value store (Uint8Array), or undefined. */
  kvGet(key) {
    return this.host.kvGet(key);
  }
  /** Stores a value in the bot's persisted key-value store. */
  kvSet(key, value) {
    this.host.kvSet(key, value);
  }
}

const PLAN_KEYS = ['confidence', 'stop', 'take', 'trail', 'activateAtR', 'scaleOuts', 'limit', 'tif', 'tag'];

/** An intent with its exit plan; a malformed plan throws here, where its author sees it. */
export function makeIntent(symbol, action, quantity, plan = {}) {
  for (const k of Object.keys(plan)) {
    if (!PLAN_KEYS.includes(k)) throw new TypeError(`unknown order option \`${k}\`: expected ${PLAN_KEYS.join(', ')}`);
  }
  const { confidence: conf = 1, stop, take, trail, activateAtR, scaleOuts = [], limit, tif, tag = '' } = plan;
  if (trail !== undefined && !(trail && ['atr', 'percent', 'absolute'].includes(trail.kind))) {
    throw new TypeError('trail: expected atr(k), percent(f) or absolute(d)');
  }
  if (activateAtR !== undefined && trail === undefined) throw new RangeError('activateAtR needs a trail');
  for (const s of scaleOuts) {
    if (!Array.isArray(s) || s.length !== 2) throw new TypeError('scaleOuts: expected [atR, fraction] pairs');
  }
  if (tif !== undefined && !TIMES_IN_FORCE.includes(tif)) throw new RangeError(`tif: expected one of ${TIMES_IN_FORCE.join(', ')}, got ${tif}`);
  return { symbol, action, quantity, confidence: conf, stop, take, trail, activateAtR, scaleOuts: scaleOuts.map(([r, f]) => [r, f]), limit, tif, tag };
}

/** The text a failed call reports. */
export function message(e) {
  if (e instanceof BotError) return e.message;
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  return String(e);
}

/** Owns the bot instance of one component instance and drives it as the host calls. */
export class Runner {
  constructor(BotClass) {
    if (!(typeof BotClass === 'function' && BotClass.prototype instanceof Bot)) throw new TypeError('exportBot expects a class extending Bot');
    for (const tf of BotClass.timeframes) checkTimeframe(tf);
    this.BotClass = BotClass;
    this.bot = undefined;
  }
  /** Name, version, needed symbols and timeframes. */
  describe() {
    const c = this.BotClass;
    return { name: c.botName, version: c.version, symbols: [...c.symbols], timeframes: [...c.timeframes] };
  }
  /** Creates the bot and runs its `init`; a failure leaves no bot behind. */
  init(host, botId, symbols, params) {
    this.bot = undefined;
    const config = new Config(botId, symbols, params);
    const bot = new this.BotClass();
    bot.config = config;
    bot.host = host;
    bot.init(config);
    for (const key of config.unknown()) host.log('warn', `ignoring unknown param \`${key}\``);
    this.host = host;
    this.symbols = config.symbols;
    this.bot = bot;
  }
  live(call) {
    if (this.bot === undefined) throw new BotError(`${call} called before init succeeded`);
    return this.bot;
  }
  /** Runs one tick; its intents. */
  tick(time, number, capital) {
    const bot = this.live('on-tick');
    const tick = new Tick(this.host, time, number, capital, this.symbols);
    bot.onTick(tick);
    return tick.intents;
  }
  fill(f) {
    this.live('on-fill').onFill(f);
  }
  order(update) {
    this.live('on-order').onOrder(update);
  }
  snapshot() {
    return this.bot === undefined ? new Uint8Array() : this.bot.snapshot();
  }
  restore(bytes) {
    this.live('restore').restore(bytes);
  }
}

// The bridge to the generated bindings. An export returns `err(text)` when it throws a
// string (an Error object would trap the instance), and imports throw { payload }.
function hostCall(f) {
  try {
    return f();
  } catch (e) {
    throw new HostError(e && e.payload !== undefined ? String(e.payload) : String(e));
  }
}

// Specs already checked and converted: a bot that keeps its spec (`this.rsi = rsi(14)`)
// pays for the check once.
const witSpecs = new WeakMap();

function witSpec(s) {
  let wit = witSpecs.get(s);
  if (wit === undefined) {
    wit = convertSpec(s);
    witSpecs.set(s, wit);
  }
  return wit;
}

function convertSpec(s) {
  const problem = specProblem(s);
  if (problem !== undefined) throw new HostError(`invalid indicator: ${problem}`);
  if (s.kind === 'macd') return { tag: 'macd', val: { fast: s.args[0], slow: s.args[1], signal: s.args[2] } };
  if (s.kind === 'bollinger') return { tag: 'bollinger', val: { period: s.args[0], deviations: s.args[1] } };
  return { tag: s.kind, val: s.args[0] };
}

/** The SDK's host interface over the generated `flotilla:bot/host` imports. */
export function witHost(h) {
  // Timestamps are s64, which the bindings give as BigInt: milliseconds fit a Number.
  const bar = (b) => (b === undefined ? undefined : { ...b, time: Number(b.time) });
  return {
    bars: (sym, tf, n) => hostCall(() => h.bars(sym, WIT_TIMEFRAMES[tf], n)).map(bar),
    barAt: (sym, tf, back) => bar(hostCall(() => h.barAt(sym, WIT_TIMEFRAMES[tf], back))),
    indicator(sym, tf, s, n) {
      const spec = witSpec(s);
      try {
        return h.indicator(sym, WIT_TIMEFRAMES[tf], spec, n).val;
      } catch (e) {
        throw new HostError(e && e.payload !== undefined ? String(e.payload) : String(e));
      }
    },
    lastPrice: (sym) => hostCall(() => h.lastPrice(sym)),
    positions: () => h.positions(),
    capital: () => h.capital(),
    kvGet: (key) => h.kvGet(key),
    kvSet: (key, value) => h.kvSet(key, value),
    log: (level, text) => h.log(LOG_LEVELS.includes(level) ? level : 'info', text),
    // Order ids stay BigInt (u64); states and times in force are the WIT's names.
    workingOrders: () => h.workingOrders().map((o) => ({ ...o, time: Number(o.time) })),
    cancelOrder: (id) => hostCall(() => h.cancelOrder(BigInt(id))),
  };
}

function witIntent(i) {
  return {
    symbol: i.symbol,
    action: { tag: i.action, val: i.quantity },
    confidence: i.confidence,
    stopLoss: i.stop,
    takeProfit: i.take,
    trailing: i.trail === undefined ? undefined : { distance: { tag: i.trail.kind, val: i.trail.args[0] }, activateAtR: i.activateAtR },
    scaleOuts: i.scaleOuts.map(([atR, fraction]) => ({ atR, fraction })),
    limitPrice: i.limit,
    timeInForce: i.tif,
    tag: i.tag,
  };
}

function witUpdate(u) {
  const { tag, val } = u.event;
  return { orderId: u.orderId, symbol: u.symbol, event: tag, reason: tag === 'rejected' ? val : undefined, filled: tag === 'partial-fill' ? val : undefined, time: Number(u.time), tag: u.tag };
}

/**
 * The `strategy` and `replayStrategy` exports for a `Bot` class, given the generated
 * imports: `exportBot(MyBot, { host, replay })`.
 */
export function exportBot(BotClass, { host, replay }) {
  const runner = new Runner(BotClass);
  const adapter = witHost(host);
  const tick = (ctx) => {
    try {
      return runner.tick(Number(ctx.time), Number(ctx.tick), ctx.capital).map(witIntent);
    } catch (e) {
      throw message(e); // the tick's error, not a trap
    }
  };
  const strategy = {
    describe() {
      const d = runner.describe();
      return { ...d, timeframes: d.timeframes.map((tf) => WIT_TIMEFRAMES[tf]) };
    },
    init(config) {
      try {
        runner.init(adapter, config.botId, config.symbols, config.params.map((p) => [p.key, p.value]));
      } catch (e) {
        throw message(e);
      }
    },
    onTick: tick,
    onFill(fill) {
      try {
        runner.fill({ ...fill, time: Number(fill.time) });
      } catch (e) {
        adapter.log('error', `onFill: ${message(e)}`); // the WIT cannot report it: log, do not trap
      }
    },
    onOrder(update) {
      try {
        runner.order(witUpdate(update));
      } catch (e) {
        adapter.log('error', `onOrder: ${message(e)}`);
      }
    },
    snapshot() {
      return runner.snapshot();
    },
    restore(state) {
      try {
        runner.restore(state);
      } catch (e) {
        throw message(e);
      }
    },
  };
  const replayStrategy = {
    // A backtest's quiet ticks in one call: stop at the first tick that has intents.
    onTicks(ctx) {
      for (;;) {
        const intents = tick(ctx);
        const next = intents.length > 0 ? undefined : replay.nextTick(undefined);
        if (next === undefined) return intents;
        ctx = next.ctx;
      }
    },
  };
  return { strategy, replayStrategy };
}
