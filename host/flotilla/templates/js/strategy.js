// {{name}}: a Flotilla bot. Long while a symbol's close is above its EMA, flat otherwise.
//
// Params (text in the registry, all optional): `period` (20) bars of the EMA, computed by
// the host; `fraction` of capital per symbol (an equal share); `stop_pct` (0.03).
// Test it natively with `node --test` (strategy.test.js).

import { Bot, ParamError, ema } from './flotilla.js';

export class {{type}} extends Bot {
  static botName = '{{name}}';
  static version = '0.1.0';
  static timeframes = ['1m'];

  init(config) {
    this.period = this.param('period', 'int', 20);
    this.fraction = this.param('fraction', 'number', 1 / Math.max(config.symbols.length, 1));
    this.stopPct = this.param('stop_pct', 'number', 0.03);
    if (this.period < 2) throw new ParamError(`param \`period\`: must be at least 2, got ${this.period}`);
  }

  onTick(tick) {
    for (const symbol of tick.symbols) {
      const level = tick.indicator(symbol, '1m', ema(this.period));
      if (level === undefined) continue; // the EMA is warming up
      const price = tick.lastPrice(symbol);
      const long = price > level;
      if (long === tick.position(symbol).quantity > 0) continue; // already where it wants to be
      if (!long) {
        tick.close(symbol, { tag: '{{name}}' });
        continue;
      }
      // More of the exit plan: take, trail: atr(1.5), activateAtR: 1,
      // scaleOuts: [[1, 0.33], [2, 0.33]]; limit: price * 0.999, tif: 'gtc'.
      tick.target(symbol, tick.units(this.fraction, price), { stop: this.stopPct > 0 ? price * (1 - this.stopPct) : undefined, tag: '{{name}}' });
    }
  }

  onFill(fill) {
    this.info(`filled ${fill.quantity} ${fill.symbol} at ${fill.price}`);
  }
}
