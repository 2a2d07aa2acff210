// {{name}}'s logic under `node --test`, against the SDK's mock host (testing.js).
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { Harness, closesToBars } from './testing.js';
import { {{type}} } from './strategy.js';

test('buys above the EMA and sells below', () => {
  const h = new Harness({{type}}, { symbols: ['AAPL'], params: { period: 3 } });
  const fills = h.replay('AAPL', closesToBars([10, 10, 10, 11, 12, 13, 12, 10, 9]));
  assert.deepEqual(fills.map((f) => f.side), ['buy', 'sell']);
});
