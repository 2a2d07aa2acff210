// The JavaScript SDK against its mock host: indicators with TA-Lib's definitions, typed
// params, ticks, intents with exit plans, orders and cancels, snapshots, state on `this`.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { Bot, BotError, HostError, ParamError, Runner, atr, exportBot, macd, percent, rsi, sma } from '../flotilla.js';
import { Harness, MockHost, closesToBars, atrSeries, bollingerSeries, emaSeries, macdSeries, rocSeries, rsiSeries, smaSeries, stddevSeries, wmaSeries } from '../testing.js';

const C = [1, 2, 3, 4, 5, 4, 3, 2, 3, 4];

function near(got, want) {
  assert.equal(got.length, want.length, `${got} vs ${want}`);
  got.forEach((g, i) => assert.ok(Math.abs(g - want[i]) < 1e-12, `${got} vs ${want}`));
}

test('indicator series match the hand-checked TA-Lib values', () => {
  near(smaSeries(C, 3), [2, 3, 4, 13 / 3, 4, 3, 8 / 3, 3]);
  near(emaSeries(C, 3), [2, 3, 4, 4, 3.5, 2.75, 2.875, 3.4375]);
  near(wmaSeries(C, 3), [7, 10, 13, 13, 11, 8, 8, 10].map((v) => v / 3));
  near(rsiSeries(C, 3), [100, 100, 200 / 3, 400 / 9, 800 / 27, 4300 / 81, 16700 / 243]);
  near(rocSeries(C, 2), [200, 100, 200 / 3, 0, -40, -50, 0, 100]);
  const m = macdSeries(C, 2, 3, 2);
  const m9 = 1753 / 486 - 3.4375;
  near(m.macd, [0.5, 0.5, 1 / 6, -1 / 9, -31 / 108, -35 / 648, m9]);
  near(m.signal, [0.5, 0.5, 5 / 18, 1 / 54, -5 / 27, -95 / 972, (m9 + 95 / 972) * (2 / 3) - 95 / 972]);
  near(atrSeries([10, 11, 12, 11, 13, 12, 10], [8, 9, 10, 9, 10, 11, 9], [9, 10, 11, 9.5, 12, 11.5, 9], 3), [2, 2.5, 2, 13 / 6]);
  const b = bollingerSeries([2, 4, 4, 4, 5, 5, 7, 9], 8, 1.5);
  assert.deepEqual([b.upper, b.middle, b.lower], [[8], [5], [2]]);
  assert.deepEqual(stddevSeries(C, 1), Array(10).fill(0));
  assert.deepEqual(rsiSeries([5, 5, 5, 5, 5, 5], 2), [0, 0, 0, 0]);
  assert.deepEqual(macdSeries(C, 3, 3, 2).macd, []);
});

test('the mock reads the host window and refuses bad specs', () => {
  const host = new MockHost();
  const closes = Array.from({ length: 400 }, (_, i) => 100 + (i % 7) - (i % 3));
  host.setCloses('AAA', '1m', closes);
  assert.deepEqual(host.indicator('AAA', '1m', rsi(14), 2), rsiSeries(closes.slice(-(2 + 14 + 140)), 14).slice(-2));
  assert.deepEqual(host.indicator('AAA', '1m', sma(5), 3), smaSeries(closes, 5).slice(-3));
  assert.throws(() => host.indicator('AAA', '1m', macd(26, 12, 9), 1), /invalid indicator/);
  assert.throws(() => host.indicator('BBB', '1m', rsi(14), 1), HostError);
});

class Counter extends Bot {
  static botName = 'counter';
  static state = ['seen', 'bought'];
  static stateVersion = 2;
  init() {
    this.every = this.param('every', 'int', 3);
    this.seen = 0;
    this.bought = false;
  }
  onTick(tick) {
    this.seen += 1;
    if (this.seen === this.every) {
      tick.target('AAA', 1, { tag: 'in' });
      this.bought = true;
    } else if (this.seen === 2 * this.every) {
      tick.close('AAA', { tag: 'out' });
    }
  }
}

test('state on this survives between ticks and the bot trades', () => {
  const h = new Harness(Counter);
  const fills = h.replay('AAA', closesToBars([10, 11, 12, 13, 14, 15, 16]));
  assert.deepEqual(fills.map((f) => [f.side, f.quantity, f.price, f.tag]), [['buy', 1, 12, 'in'], ['sell', 1, 15, 'out']]);
  assert.equal(h.bot.seen, 7);
});

test('params are typed with defaults, errors name the param, unknown ones are warned', () => {
  class P extends Bot {
    init() {
      this.n = this.param('n', 'int', 14);
      this.x = this.param('x', 'number', 0.5);
      this.flag = this.param('flag', 'bool', false);
      this.tf = this.param('tf', 'timeframe', '1m');
      this.mode = this.param('mode', 'string', 'fast', { choices: ['fast', 'slow'] });
    }
    onTick() {}
  }
  const host = new MockHost();
  const bot = new Harness(P, { params: { n: 20, flag: 'yes', tf: '1h', x: '', typo: 1 }, host }).bot;
  assert.deepEqual([bot.n, bot.x, bot.flag, bot.tf, bot.mode], [20, 0.5, true, '1h', 'fast']);
  assert.deepEqual(host.logs, [['warn', 'ignoring unknown param `typo`']]);
  for (const [params, words] of [
    [{ n: 'abc' }, 'param `n`: expected a whole number, got `abc`'],
    [{ n: '1.5' }, 'param `n`: expected a whole number'],
    [{ x: 'Infinity' }, 'param `x`: expected a finite number'],
    [{ flag: 'maybe' }, 'param `flag`: expected true or false'],
    [{ tf: '2m' }, 'param `tf`: expected a timeframe'],
    [{ mode: 'medium' }, 'param `mode`: expected one of fast, slow'],
  ]) {
    assert.throws(() => new Harness(P, { params }), (e) => e instanceof ParamError && e.message.includes(words));
  }
  class R extends Bot {
    init() {
      this.key = this.param('key', 'string');
    }
    onTick() {}
  }
  assert.throws(() => new Harness(R), /param `key` is required/);
});

test('a tick reads bars, indicators, positions and capital', () => {
  const seen = {};
  class Reader extends Bot {
    onTick(tick) {
      seen.closes = tick.closes('AAA', '1m', 2);
      seen.newest = tick.barAt('AAA', '1m');
      seen.rsi = tick.indicator('AAA', '1m', rsi(3));
      seen.macd = tick.indicator('AAA', '1m', macd(2, 3, 2));
      seen.cold = tick.indicator('AAA', '1m', rsi(50));
      seen.pos = tick.position('AAA');
      seen.flat = tick.position('BBB');
      seen.capital = tick.capital;
    }
  }
  const host = new MockHost(5000);
  host.setCloses('AAA', '1m', C);
  host.setPosition('AAA', 3, 2.5);
  new Harness(Reader, { host }).tick();
  assert.deepEqual(seen.closes, [3, 4]);
  assert.equal(seen.newest.close, 4);
  assert.ok(Math.abs(seen.rsi - 16700 / 243) < 1e-12);
  assert.ok(Math.abs(seen.macd.macd - (1753 / 486 - 3.4375)) < 1e-12);
  assert.equal(seen.cold, undefined);
  assert.deepEqual([seen.pos.quantity, seen.flat.quantity, seen.capital], [3, 0, 5000]);
});

test('a target carries its whole exit plan and a bad plan fails where it is written', () => {
  class Planner extends Bot {
    onTick(tick) {
      tick.target('AAA', 10, { confidence: 0.7, stop: 95, take: 120, trail: atr(1.5), activateAtR: 1, scaleOuts: [[1, 0.33], [2, 0.33]], tag: 'entry' });
      tick.buy('AAA', 2, { limit: 99.5, tif: 'gtc' });
      tick.sell('AAA', 1, { trail: percent(0.02) });
    }
  }
  const [a, b, c] = new Harness(Planner).tick();
  assert.deepEqual([a.action, a.quantity, a.confidence, a.stop, a.take, a.trail, a.activateAtR, a.scaleOuts, a.tag], ['target', 10, 0.7, 95, 120, atr(1.5), 1, [[1, 0.33], [2, 0.33]], 'entry']);
  assert.deepEqual([b.action, b.limit, b.tif], ['buy', 99.5, 'gtc']);
  assert.deepEqual([c.action, c.trail.kind, c.trail.args], ['sell', 'percent', [0.02]]);
  for (const plan of [{ trail: rsi(14) }, { scaleOuts: [1] }, { tif: 'week' }, { activateAtR: 1 }, { stopp: 1 }]) {
    class Bad extends Bot {
      onTick(tick) {
        tick.target('AAA', 1, plan);
      }
    }
    assert.throws(() => new Harness(Bad).tick(), /trail|scaleOuts|tif|activateAtR|unknown order option/);
  }
});

test('limit orders and cancels go through the host', () => {
  class Canceller extends Bot {
    onTick(tick) {
      for (const o of tick.workingOrders()) tick.cancel(o.id);
      assert.throws(() => tick.cancel(999n), /not one of this bot's working orders/);
    }
  }
  const host = new MockHost();
  host.setCloses('AAA', '1m', [100]);
  const h = new Harness(Canceller, { host });
  h.execute([{ symbol: 'AAA', action: 'buy', quantity: 1, limit: 99, tif: 'gtc', scaleOuts: [], tag: '' }]);
  assert.deepEqual(host.working.map((o) => [o.side, o.limitPrice, o.timeInForce]), [['buy', 99, 'gtc']]);
  h.tick();
  h.tick();
  assert.deepEqual(host.cancels, [host.working[0].id]);
});

test('snapshot and restore carry declared state with a version check', () => {
  const h = new Harness(Counter);
  for (let i = 0; i < 4; i++) h.tick();
  const blob = h.snapshot();
  assert.deepEqual(JSON.parse(new TextDecoder().decode(blob)), { v: 2, seen: 4, bought: true });
  const fresh = new Harness(Counter);
  fresh.restore(blob);
  assert.deepEqual([fresh.bot.seen, fresh.bot.bought], [4, true]);
  assert.throws(() => fresh.restore(new TextEncoder().encode('{"v":1,"seen":99}')), /snapshot version 1, expected 2/);
  assert.throws(() => fresh.restore(new Uint8Array([0, 1])), BotError);
  assert.equal(fresh.bot.seen, 4);
});

test('the exports bridge the generated bindings: errors become err text, ids stay BigInt', () => {
  const calls = [];
  const host = {
    bars: () => [{ time: 60000n, open: 1, high: 1, low: 1, close: 1, volume: 1 }],
    barAt: () => undefined,
    indicator: (sym, tf, spec) => {
      calls.push([sym, tf, spec]);
      return { tag: 'line', val: Float64Array.of(25) }; // as the bindings may give it
    },
    lastPrice: () => {
      throw { payload: 'symbol "ZZZ" not granted' };
    },
    positions: () => [],
    capital: () => 1000,
    kvGet: () => undefined,
    kvSet: () => {},
    log: (level, text) => calls.push([level, text]),
    workingOrders: () => [],
    cancelOrder: () => {},
  };
  class Wit extends Bot {
    static botName = 'wit';
    static timeframes = ['1m', '1h'];
    init() {
      this.p = this.param('p', 'int', 3);
    }
    onTick(tick) {
      if (tick.indicator('AAA', '1h', rsi(this.p)) < 30) tick.target('AAA', 2, { stop: 9, trail: atr(1.5), scaleOuts: [[1, 0.5]] });
      if (tick.number === 2) tick.lastPrice('ZZZ');
    }
  }
  const replay = { nextTick: () => undefined };
  const { strategy, replayStrategy } = exportBot(Wit, { host, replay });
  assert.deepEqual(strategy.describe(), { name: 'wit', version: '0.1.0', symbols: [], timeframes: ['m1', 'h1'] });
  assert.throws(() => strategy.onTick({ time: 1n, tick: 1n, capital: 1 }), (e) => e === 'on-tick called before init succeeded');
  assert.throws(() => strategy.init({ botId: 'b', symbols: ['AAA'], params: [{ key: 'p', value: 'x' }] }), (e) => typeof e === 'string' && e.includes('param `p`'));
  strategy.init({ botId: 'b', symbols: ['AAA'], params: [] });
  const [intent] = replayStrategy.onTicks({ time: 60000n, tick: 1n, capital: 1000 });
  assert.deepEqual(calls[0], ['AAA', 'h1', { tag: 'rsi', val: 3 }]);
  assert.deepEqual(intent, {
    symbol: 'AAA',
    action: { tag: 'target', val: 2 },
    confidence: 1,
    stopLoss: 9,
    takeProfit: undefined,
    trailing: { distance: { tag: 'atr', val: 1.5 }, activateAtR: undefined },
    scaleOuts: [{ atR: 1, fraction: 0.5 }],
    limitPrice: undefined,
    timeInForce: undefined,
    tag: '',
  });
  assert.throws(() => strategy.onTick({ time: 120000n, tick: 2n, capital: 1000 }), (e) => e === 'symbol "ZZZ" not granted');
  assert.throws(() => new Runner(class {}), TypeError);
});
