// MACD crossover in JavaScript, on the Flotilla JavaScript SDK (sdk/js).
//
// Goes long when the MACD line crosses above its signal line (the histogram turns
// positive) and closes when it crosses back below; with `allow_short = true` it mirrors
// that. MACD and ATR come from the host; each entry carries a stop `atr_mult` ATRs away
// from the price, so the stop follows the market's own volatility.
//
// Params (all optional, text in the registry): `fast` (12), `slow` (26), `signal` (9),
// `atr_period` (14), `atr_mult` (2, 0 = no stop), `timeframe` (1m), `allow_short`
// (false), `fraction` of capital per symbol (an equal share of the granted symbols).

import { Bot, BotError, HostError, ParamError, TIMEFRAMES, atr, confidence, macd } from './flotilla.js';

const SIGN = { flat: 0, long: 1, short: -1 };

// A period param: a whole number of at least 1.
function period(text) {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new RangeError('a whole number >= 1');
  return value;
}

export class MacdBot extends Bot {
  static botName = 'macd_js';
  static version = '0.1.0';
  // `describe` runs before `init`, and the timeframe is a param: declare them all.
  static timeframes = TIMEFRAMES;
  // The last signal acted on per symbol survives reloads through snapshot/restore.
  static state = ['ticks', 'fills', 'signals'];
  static stateVersion = 1;

  init(config) {
    this.fast = this.param('fast', period, 12);
    this.slow = this.param('slow', period, 26);
    this.signal = this.param('signal', period, 9);
    this.atrPeriod = this.param('atr_period', period, 14);
    this.atrMult = this.param('atr_mult', 'number', 2);
    this.timeframe = this.param('timeframe', 'timeframe', '1m');
    this.allowShort = this.param('allow_short', 'bool', false);
    this.fraction = this.param('fraction', 'number', 1 / Math.max(config.symbols.length, 1));
    if (this.fast >= this.slow) throw new ParamError(`params: need fast < slow, got ${this.fast} and ${this.slow}`);
    if (!(this.atrMult >= 0)) throw new ParamError(`param \`atr_mult\`: must be >= 0, got ${this.atrMult}`);
    if (!(this.fraction >= 0 && this.fraction <= 10)) throw new ParamError(`param \`fraction\`: must be in [0, 10], got ${this.fraction}`);
    // Kept: the SDK checks a spec once.
    this.macd = macd(this.fast, this.slow, this.signal);
    this.atr = atr(this.atrPeriod);
    this.ticks = 0;
    this.fills = 0;
    this.signals = {};
  }

  checkState(state) {
    if (!Object.values(state.signals ?? {}).every((s) => s in SIGN)) throw new BotError('snapshot holds an unknown signal');
  }

  // The last two histogram values, or undefined while MACD warms up or the host refuses.
  histogram(tick, symbol) {
    let values;
    try {
      values = tick.indicatorSeries(symbol, this.timeframe, this.macd, 2);
    } catch (e) {
      if (!(e instanceof HostError)) throw e;
      this.warn(`${symbol}: no MACD: ${e.message}`);
      return undefined;
    }
    const h = values.histogram;
    return h.length < 2 ? undefined : [h[h.length - 2], h[h.length - 1]];
  }

  range(tick, symbol) {
    try {
      return tick.indicator(symbol, this.timeframe, this.atr);
    } catch (e) {
      if (!(e instanceof HostError)) throw e;
      this.warn(`${symbol}: no ATR: ${e.message}`);
      return undefined;
    }
  }

  // Enters on a fresh cross in its direction, exits on the opposite cross, else holds.
  decide(prev, before, now) {
    if (before <= 0 && now > 0) return 'long';
    if (before >= 0 && now < 0) return this.allowShort ? 'short' : 'flat';
    return prev;
  }

  onTick(tick) {
    this.ticks += 1;
    for (const symbol of tick.symbols) {
      const h = this.histogram(tick, symbol);
      if (h === undefined) continue;
      let prev = this.signals[symbol] ?? 'flat';
      // A stop the host executed, or an entry risk refused: nothing is held, so wait for
      // the next cross instead of an exit that has no position.
      if (prev !== 'flat' && tick.position(symbol).quantity === 0) prev = 'flat';
      const signal = this.decide(prev, h[0], h[1]);
      this.signals[symbol] = signal;
      if (signal !== prev) this.order(tick, symbol, signal, h[1]);
    }
  }

  order(tick, symbol, signal, hist) {
    const tag = `macd_js:${signal}`;
    if (signal === 'flat') {
      tick.close(symbol, { tag });
      return;
    }
    const price = tick.lastPrice(symbol);
    const qty = price > 0 ? SIGN[signal] * Math.max((tick.capital * this.fraction) / price, 0) : 0;
    const range = this.range(tick, symbol);
    // A histogram large against the bar's typical range is a strong cross.
    const strength = range > 0 ? (Math.abs(hist) / range) * 5 : 0;
    const stop = range > 0 && this.atrMult > 0 ? price - SIGN[signal] * this.atrMult * range : undefined;
    tick.target(symbol, qty, { confidence: confidence(strength), stop, tag });
  }

  onFill(_fill) {
    this.fills += 1;
  }

  // Market orders only: nothing to learn from their updates that fills do not say.
}
