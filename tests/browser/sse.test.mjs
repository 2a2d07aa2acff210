// The dashboard's SSE parser, run in Node on the very file the binary serves.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SseParser } from '../../host/api/src/dashboard/api.js';

test('frames split across chunks come out whole, with id, event and data', () => {
  const p = new SseParser();
  assert.deepEqual(p.push('id: 7\nevent: fill\nda'), []);
  assert.deepEqual(p.push('ta: {"kind":"fill"}\n'), []);
  assert.deepEqual(p.push('\nid: 8\n'), [{ id: '7', event: 'fill', data: '{"kind":"fill"}' }]);
  assert.deepEqual(p.push('data: x\n\n'), [{ id: '8', event: 'message', data: 'x' }]);
});

test('CRLF line ends, comments (keep-alives) and multi-line data', () => {
  const p = new SseParser();
  const out = p.push(': keep-alive\r\n\r\nid:9\r\nevent:order\r\ndata:a\r\ndata: b\r\n\r\n');
  assert.deepEqual(out, [{ id: '9', event: 'order', data: 'a\nb' }]);
});

test('a CRLF cut between two chunks is one line end, not two', () => {
  const p = new SseParser();
  assert.deepEqual(p.push('id: 1\r\ndata: a\r'), []);
  assert.deepEqual(p.push('\ndata: b\r\n\r\n'), [{ id: '1', event: 'message', data: 'a\nb' }]);
  // A lone CR is a line end too (the spec allows CR, LF or CRLF).
  assert.deepEqual(p.push('data: c\r\r'), []);
  assert.deepEqual(p.push('data: d\n\n'), [{ id: null, event: 'message', data: 'c' }, { id: null, event: 'message', data: 'd' }]);
});
