// {{name}}: a Flotilla bot. Long while a symbol's close is above its EMA, flat otherwise.
//
// Params (text in the registry, all optional): `period` (20) bars of the EMA, computed by
// the host; `fraction` of capital per symbol (an equal share); `stop_pct` (0.03).

import { indicator, lastPrice, positions, log } from 'flotilla:bot/host@0.7.0';
import { nextTick } from 'flotilla:bot/replay@0.7.0';

const bot = { symbols: [] };

// A thrown string becomes the call's `err`; an Error object would trap the instance.
function number(params, key, fallback) {
  const text = params.get(key);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value)) throw `param \`${key}\`: expected a number, got \`${text}\``;
  return value;
}

export const strategy = {
  describe() {
    return { name: '{{name}}', version: '0.1.0', symbols: [], timeframes: ['m1'] };
  },

  init(config) {
    const params = new Map(config.params.map((p) => [p.key, p.value]));
    bot.symbols = [...config.symbols];
    bot.period = number(params, 'period', 20);
    bot.fraction = number(params, 'fraction', 1 / Math.max(bot.symbols.length, 1));
    bot.stopPct = number(params, 'stop_pct', 0.03);
    if (!Number.isInteger(bot.period) || bot.period < 2) {
      throw `param \`period\`: must be a whole number of at least 2, got ${bot.period}`;
    }
  },

  onTick(ctx) {
    const held = new Map(positions().map((p) => [p.symbol, p.quantity]));
    const intents = [];
    for (const symbol of bot.symbols) {
      const values = indicator(symbol, 'm1', { tag: 'ema', val: bot.period }, 1);
      if (values.tag !== 'line' || values.val.length === 0) continue; // warming up
      const price = lastPrice(symbol);
      const long = price > values.val[values.val.length - 1];
      if (long === (held.get(symbol) ?? 0) > 0) continue; // already where it wants to be
      intents.push({
        symbol,
        action: { tag: 'target', val: long ? (ctx.capital * bot.fraction) / price : 0 },
        confidence: 1,
        stopLoss: long && bot.stopPct > 0 ? price * (1 - bot.stopPct) : undefined,
        takeProfit: undefined,
        trailing: undefined, // e.g. { distance: { tag: 'percent', val: 0.02 }, activateAtR: undefined }
        scaleOuts: [], // e.g. [{ atR: 1, fraction: 0.5 }] (needs a stop-loss)
        limitPrice: undefined, // a limit order, e.g. price * 0.999; undefined: a market order
        timeInForce: undefined, // 'day' (undefined), 'gtc', 'ioc' or 'fok'
        tag: '{{name}}',
      });
    }
    return intents;
  },

  onFill(fill) {
    log('info', `filled ${fill.quantity} ${fill.symbol} at ${fill.price}`);
  },

  // What happened to an order: update.event.tag is 'accepted', 'rejected', 'canceled',
  // 'expired', 'partial-fill' or 'filled'.
  onOrder(_update) {},

  snapshot() {
    return new Uint8Array();
  },

  restore(_state) {},
};

// A backtest's run of ticks in one call.
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
