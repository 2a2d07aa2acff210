// macd_js's logic under `node --test`, against the JavaScript SDK's mock host.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { ParamError, atr } from '../../../sdk/js/flotilla.js';
import { Harness, MockHost, closesToBars, macdSeries } from '../../../sdk/js/testing.js';
import { MacdBot } from '../macd_js/macd.js';

// A slide, a climb and a slide: the histogram turns positive, then negative.
const CLOSES = [
  ...Array.from({ length: 20 }, (_, i) => 120 - i),
  ...Array.from({ length: 15 }, (_, i) => 101 + 2 * i),
  ...Array.from({ length: 15 }, (_, i) => 129 - 3 * i),
];
const PARAMS = { fast: 3, slow: 6, signal: 3, atr_period: 5 };

// The index of the first bar at which the histogram of CLOSES[..=i] crosses `dir`.
function crossAt(from, dir) {
  for (let i = from; i < CLOSES.length; i++) {
    const h = macdSeries(CLOSES.slice(0, i + 1), 3, 6, 3).histogram;
    if (h.length >= 2 && (dir > 0 ? h.at(-2) <= 0 && h.at(-1) > 0 : h.at(-2) >= 0 && h.at(-1) < 0)) return i;
  }
  return -1;
}

test('goes long on the cross up and flat on the cross down, with an ATR stop', () => {
  const h = new Harness(MacdBot, { params: PARAMS });
  const fills = h.replay('AAA', closesToBars(CLOSES));
  const up = crossAt(0, 1);
  const down = crossAt(up + 1, -1);
  assert.ok(up > 0 && down > up);
  assert.deepEqual(fills.map((f) => [f.side, f.price, f.tag]), [['buy', CLOSES[up], 'macd_js:long'], ['sell', CLOSES[down], 'macd_js:flat']]);
});

test('the entry stop is atr_mult ATRs below the price', () => {
  const host = new MockHost();
  const h = new Harness(MacdBot, { params: PARAMS, host });
  const up = crossAt(0, 1);
  h.replay('AAA', closesToBars(CLOSES.slice(0, up)));
  host.setCloses('AAA', '1m', CLOSES.slice(0, up + 1));
  const [intent] = h.tick();
  const range = host.indicator('AAA', '1m', atr(5), 1)[0];
  assert.equal(intent.stop, CLOSES[up] - 2 * range);
  assert.ok(intent.confidence > 0.5 && intent.confidence < 1);
});

test('shorts on the cross down when allowed', () => {
  const fills = new Harness(MacdBot, { params: { ...PARAMS, allow_short: 'true' } }).replay('AAA', closesToBars(CLOSES));
  assert.deepEqual(fills.map((f) => f.tag), ['macd_js:long', 'macd_js:short']);
  assert.equal(fills[1].quantity, fills[0].quantity + 100_000 / fills[1].price);
});

test('bad params name themselves', () => {
  assert.throws(() => new Harness(MacdBot, { params: { fast: 30, slow: 20 } }), (e) => e instanceof ParamError && /need fast < slow/.test(e.message));
  assert.throws(() => new Harness(MacdBot, { params: { signal: 0 } }), /param `signal`: expected a whole number >= 1, got `0`/);
});
