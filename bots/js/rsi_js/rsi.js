// RSI mean reversion in JavaScript, on the Flotilla JavaScript SDK (sdk/js): the same rule,
// params and host calls as the Python `rsi_python` and the Rust `rsi_rust`, so the three
// languages can be benchmarked against each other (host/runtime/benches/languages.rs).
//
// Buys when RSI (Wilder, computed by the host) drops below `oversold` and holds until RSI
// climbs back above `exit`; with `allow_short = true` it mirrors that above `overbought`.
// Each entry carries a stop `stop_pct` away from the price.
//
// Params (all optional): `period` (14), `oversold` (30), `overbought` (70), `exit` (50),
// `timeframe` (1m), `allow_short` (false), `fraction` (an equal share), `stop_pct` (0.03),
// `limit_pct` (0 = market entries): entries become limit orders this fraction below the
// price (above it for a short), good for the day; a signal that goes flat cancels the
// symbol's unfilled entries.

import { Bot, BotError, HostError, ParamError, TIMEFRAMES, confidence, rsi } from './flotilla.js';

const SIGN = { flat: 0, long: 1, short: -1 };

export class RsiBot extends Bot {
  static botName = 'rsi_js';
  static version = '0.1.0';
  // `describe` runs before `init`, and the timeframe is a param: declare them all.
  static timeframes = TIMEFRAMES;
  // The last signal acted on per symbol survives reloads through snapshot/restore.
  static state = ['ticks', 'fills', 'signals'];
  static stateVersion = 1;

  init(config) {
    this.period = this.param('period', 'int', 14);
    this.oversold = this.param('oversold', 'number', 30);
    this.overbought = this.param('overbought', 'number', 70);
    this.exit = this.param('exit', 'number', 50);
    this.timeframe = this.param('timeframe', 'timeframe', '1m');
    this.allowShort = this.param('allow_short', 'bool', false);
    this.fraction = this.param('fraction', 'number', 1 / Math.max(config.symbols.length, 1));
    this.stopPct = this.param('stop_pct', 'number', 0.03);
    this.limitPct = this.param('limit_pct', 'number', 0);
    if (this.period < 2) throw new ParamError(`param \`period\`: must be a whole number >= 2, got ${this.period}`);
    if (!(this.oversold > 0 && this.oversold < this.exit && this.exit < this.overbought && this.overbought < 100)) {
      throw new ParamError(`params: need 0 < oversold < exit < overbought < 100, got ${this.oversold}, ${this.exit}, ${this.overbought}`);
    }
    if (!(this.fraction >= 0 && this.fraction <= 10)) throw new ParamError(`param \`fraction\`: must be in [0, 10], got ${this.fraction}`);
    if (!(this.stopPct >= 0 && this.stopPct < 1)) throw new ParamError(`param \`stop_pct\`: must be in [0, 1), got ${this.stopPct}`);
    if (!(this.limitPct >= 0 && this.limitPct < 1)) throw new ParamError(`param \`limit_pct\`: must be in [0, 1), got ${this.limitPct}`);
    this.rsi = rsi(this.period); // kept: the SDK checks a spec once
    this.ticks = 0;
    this.fills = 0;
    this.signals = {};
  }

  checkState(state) {
    if (!Object.values(state.signals ?? {}).every((s) => s in SIGN)) throw new BotError('snapshot holds an unknown signal');
  }

  // Holds an open position until RSI crosses `exit`; otherwise enters on the extremes.
  decide(prev, value) {
    if (prev === 'long' && value <= this.exit) return 'long';
    if (prev === 'short' && value >= this.exit) return 'short';
    if (value < this.oversold) return 'long';
    if (value > this.overbought) return this.allowShort ? 'short' : 'flat';
    return 'flat';
  }

  onTick(tick) {
    this.ticks += 1;
    for (const symbol of tick.symbols) {
      let value;
      try {
        value = tick.indicator(symbol, this.timeframe, this.rsi);
      } catch (e) {
        if (!(e instanceof HostError)) throw e;
        this.warn(`${symbol}: no RSI: ${e.message}`);
        continue;
      }
      if (value === undefined) continue; // still warming up
      if (value === 0 && this.flatMarket(tick, symbol)) value = 50;
      let prev = this.signals[symbol] ?? 'flat';
      // A stop the host executed, or an entry risk refused: nothing is held, so decide afresh.
      if (prev !== 'flat' && tick.position(symbol).quantity === 0) prev = 'flat';
      const signal = this.decide(prev, value);
      this.signals[symbol] = signal;
      if (signal === prev) continue;
      if (signal === 'flat' && this.limitPct > 0) this.cancelEntries(tick, symbol);
      this.order(tick, symbol, signal, value);
    }
  }

  // TA-Lib's RSI is 0 both after nothing but losses and when nothing moved; only the first
  // is oversold. True when the last `period + 1` closes are all equal.
  flatMarket(tick, symbol) {
    let closes;
    try {
      closes = tick.closes(symbol, this.timeframe, this.period + 1);
    } catch (_e) {
      return false;
    }
    return closes.length > 1 && closes.every((c) => c === closes[0]);
  }

  // Asks the host to cancel the symbol's unfilled limit entries (done after the tick).
  cancelEntries(tick, symbol) {
    for (const o of tick.workingOrders()) {
      if (o.symbol !== symbol || o.limitPrice === undefined || o.filled !== 0) continue;
      try {
        tick.cancel(o.id);
      } catch (e) {
        this.debug(`${symbol}: order ${o.id} not canceled: ${e.message}`);
      }
    }
  }

  order(tick, symbol, signal, value) {
    const tag = `rsi_js:${signal}`;
    if (signal === 'flat') {
      tick.close(symbol, { tag });
      return;
    }
    const price = tick.lastPrice(symbol);
    const qty = price > 0 ? SIGN[signal] * Math.max((tick.capital * this.fraction) / price, 0) : 0;
    const strength = signal === 'long' ? (this.oversold - value) / 10 : (value - this.overbought) / 10;
    const stop = this.stopPct > 0 ? price * (1 - SIGN[signal] * this.stopPct) : undefined;
    // A limit entry waits for the price to come `limit_pct` its way; undefined is a market order.
    const limit = this.limitPct > 0 ? price * (1 - SIGN[signal] * this.limitPct) : undefined;
    tick.target(symbol, qty, { confidence: confidence(strength), stop, limit, tif: limit === undefined ? undefined : 'day', tag });
  }

  onFill(_fill) {
    this.fills += 1;
  }

  onOrder(update) {
    if (update.event === 'rejected') this.warn(`${update.symbol}: order ${update.orderId} rejected: ${update.reason}`);
  }
}
