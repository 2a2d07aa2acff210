// rsi_js's logic under `node --test`, against the JavaScript SDK's mock host (no wasm build).
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { ParamError } from '../../../sdk/js/flotilla.js';
import { Harness, MockHost, closesToBars, rsiSeries } from '../../../sdk/js/testing.js';
import { RsiBot } from '../rsi_js/rsi.js';

// Flat, a slide (RSI(5) falls under 30 at bar 13), a climb (over 50 at bar 22), flat.
const CLOSES = [
  ...Array.from({ length: 12 }, (_, i) => 100 + (i % 2) * 0.5),
  ...Array.from({ length: 8 }, (_, i) => 99 - 1.5 * i),
  ...Array.from({ length: 8 }, (_, i) => 88 + 2 * i),
];

const run = (params, closes = CLOSES) => {
  const h = new Harness(RsiBot, { params: { period: 5, ...params } });
  return [h, h.replay('AAA', closesToBars(closes))];
};

test('buys under oversold and sells above exit', () => {
  const [h, fills] = run({});
  assert.deepEqual(fills.map((f) => [f.side, f.price, f.tag]), [['buy', CLOSES[13], 'rsi_js:long'], ['sell', CLOSES[22], 'rsi_js:flat']]);
  assert.ok(rsiSeries(CLOSES.slice(0, 14), 5).at(-1) < 30 && rsiSeries(CLOSES.slice(0, 23), 5).at(-1) > 50);
  assert.ok(Math.abs(fills[0].quantity - 100_000 / 97.5) < 1e-9);
  assert.deepEqual([h.bot.fills, h.bot.signals], [2, { AAA: 'flat' }]);
});

test('an entry carries a stop and an RSI-scaled confidence', () => {
  const [h] = run({}, CLOSES.slice(0, 13));
  h.host.setCloses('AAA', '1m', CLOSES.slice(0, 14));
  const [intent] = h.tick();
  const strength = (30 - rsiSeries(CLOSES.slice(0, 14), 5).at(-1)) / 10;
  assert.equal(intent.stop, 97.5 * 0.97);
  assert.equal(intent.confidence, 0.5 + 0.5 * (1 - Math.exp(-strength)));
  assert.deepEqual([intent.limit, intent.tif], [undefined, undefined]);
});

test('shorts only when allowed; a still market is not oversold', () => {
  const up = [...Array.from({ length: 12 }, (_, i) => 100 + (i % 2) * 0.5), ...Array.from({ length: 8 }, (_, i) => 101 + 1.5 * i)];
  assert.deepEqual(run({}, up)[1], []);
  assert.deepEqual(run({ allow_short: true }, up)[1].map((f) => [f.side, f.tag]), [['sell', 'rsi_js:short']]);
  assert.deepEqual(run({}, Array(30).fill(100))[1], []);
});

test('limit entries are day orders, and going flat cancels the unfilled ones', () => {
  const h = new Harness(RsiBot, { params: { period: 5, limit_pct: 0.01 } });
  const bars = closesToBars(CLOSES);
  assert.deepEqual(h.replay('AAA', bars.slice(0, 14)), []);
  const [order] = h.host.working;
  assert.deepEqual([order.side, order.timeInForce, order.limitPrice], ['buy', 'day', 97.5 * 0.99]);
  h.host.setPosition('AAA', 100, 96.5);
  const fills = h.replay('AAA', bars.slice(0, 23), { warmup: 15 });
  assert.deepEqual(fills.map((f) => [f.side, f.quantity, f.price]), [['sell', 100, 92]]);
  assert.deepEqual(h.host.cancels, [order.id]);
});

test('bad params name themselves and unknown ones are warned', () => {
  for (const [params, words] of [
    [{ period: 1 }, 'param `period`: must be a whole number >= 2'],
    [{ oversold: 60 }, 'need 0 < oversold < exit < overbought < 100'],
    [{ timeframe: '2h' }, 'param `timeframe`: expected a timeframe'],
  ]) {
    assert.throws(() => new Harness(RsiBot, { params }), (e) => e instanceof ParamError && e.message.includes(words));
  }
  const host = new MockHost();
  new Harness(RsiBot, { params: { perod: 5 }, host });
  assert.deepEqual(host.logs, [['warn', 'ignoring unknown param `perod`']]);
});

test('signals survive a snapshot; an unknown one is refused', () => {
  const [h] = run({}, CLOSES.slice(0, 16));
  const again = new Harness(RsiBot);
  again.restore(h.snapshot());
  assert.deepEqual([again.bot.signals, again.bot.ticks, again.bot.fills], [{ AAA: 'long' }, 16, 1]);
  assert.throws(() => again.restore(new TextEncoder().encode('{"v":1,"signals":{"AAA":"up"}}')), /unknown signal/);
});
