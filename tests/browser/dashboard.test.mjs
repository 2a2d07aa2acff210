// The dashboard in a real browser against a real fleet: Debian's Chromium (headless,
// driven by playwright-core) opens the page that `flotilla run` serves, signs in with the
// token the fleet wrote, watches the bots and the equity chart, halts the fleet through the
// confirmation dialog, and checks the halt in the API and in the ledger.
//
// Needs target/release/flotilla and the bundled bots (scripts/test-browser.sh builds both).
// FLOTILLA_BIN and CHROMIUM override the binary and the browser.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, mkdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const bin = process.env.FLOTILLA_BIN ?? join(root, 'target/release/flotilla');
const browserPath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const screenshot = join(root, 'target/dashboard.png');
const API_LINE = /flotilla: API on http:\/\/(\S+) \(tokens in (.+)\)/;

/** Starts the fleet; resolves once it prints where its API is. */
function startFleet(dir) {
  const args = [
    'run',
    '--config', join(root, 'config/fleet.toml'),
    '--db', join(dir, 'f.db'),
    '--cache-dir', join(root, '.flotilla/cache'),
    // Fast enough that equity marks arrive every second, long enough to outlast the test.
    '--speed', '1440',
    '--duration', '60d',
    '--no-watch',
    '--api-listen', '127.0.0.1:0',
  ];
  const child = spawn(bin, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const fleet = { child, stderr: '', stdout: '', addr: null, tokenFile: null, exited: null };
  child.stdout.on('data', (d) => (fleet.stdout += d));
  child.on('exit', (code, sig) => (fleet.exited = `exit code ${code}, signal ${sig}`));
  fleet.ready = new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error('the fleet printed no API line within 180 s')), 180_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      fail(new Error(`cannot start ${bin}: ${e.message}`));
    });
    child.on('exit', () => {
      clearTimeout(timer);
      fail(new Error(`the fleet ended before its API came up (${fleet.exited})`));
    });
    child.stderr.on('data', (d) => {
      fleet.stderr += d;
      const m = fleet.stderr.match(API_LINE);
      if (m && !fleet.addr) {
        clearTimeout(timer);
        fleet.addr = m[1];
        fleet.tokenFile = m[2].trim();
        ok();
      }
    });
  });
  return fleet;
}

/** Ends the fleet: SIGTERM, then SIGKILL if it lingers. */
async function stopFleet(fleet) {
  if (!fleet || fleet.exited) return;
  const gone = new Promise((r) => fleet.child.once('exit', r));
  fleet.child.kill('SIGTERM');
  const late = setTimeout(() => fleet.child.kill('SIGKILL'), 10_000);
  await gone;
  clearTimeout(late);
}

/** The first `name token` line of the token file. */
function readToken(path) {
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const t = line.trim();
    if (!t || t.startsWith('#')) continue;
    const [name, token] = t.split(/\s+/);
    if (name && token) return { name, token };
  }
  throw new Error(`no 'name token' line in ${path}`);
}

async function apiGet(fleet, path, token) {
  const res = await fetch(`http://${fleet.addr}/api/v1/${path}`, {
    headers: token ? { Authorization: `Bearer ${token}` } : {},
  });
  return { status: res.status, body: res.status === 200 ? await res.json() : await res.text() };
}

/** Polls `f` until it returns a truthy value; fails with `what` after `ms`. */
async function until(what, ms, f) {
  const end = Date.now() + ms;
  let last;
  for (;;) {
    try {
      last = await f();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what} (last: ${last?.message ?? JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Who the ledger says halted the fleet: from `flotilla status --json`. */
function ledgerHalt(status, name) {
  const json = JSON.stringify(status);
  const ts = status.trading_state;
  const halted =
    (ts && typeof ts === 'object' && ts.state === 'halted') ||
    (status.events ?? []).some((e) => e.kind === 'trading_state' && /-> ?Halted/i.test(e.message));
  const controls = (status.events ?? [])
    .concat(status.controls ?? [], status.audit ?? [])
    .filter((e) => e.kind === 'control' || e.control);
  const byName = (s) => typeof s === 'string' && s.includes(name);
  const who =
    (ts && byName(ts.set_by)) ||
    controls.some((e) => {
      let rec = e;
      try {
        if (typeof e.message === 'string') rec = JSON.parse(e.message);
      } catch {
        /* not JSON */
      }
      return rec.control === 'halt' && byName(rec.by);
    });
  return { halted, who, json };
}

test('the dashboard of a running fleet: sign in, bots, live equity, halt', { timeout: 600_000 }, async (t) => {
  assert.ok(existsSync(bin), `${bin} is missing: build it with cargo build --release -p flotilla`);
  assert.ok(existsSync(browserPath), `${browserPath} is missing: apt-get install chromium`);
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-browser-'));
  let fleet = null;
  let browser = null;
  let ok = false;
  try {
    fleet = startFleet(dir);
    await fleet.ready;
    const { name, token } = readToken(fleet.tokenFile);
    t.diagnostic(`fleet API on ${fleet.addr}, token named ${name}`);

    // The API refuses a missing token; the page itself needs none.
    assert.equal((await apiGet(fleet, 'state')).status, 401);

    browser = await chromium.launchPersistentContext(join(dir, 'chromium-profile'), {
      executablePath: browserPath,
      headless: true,
      viewport: { width: 1400, height: 1400 },
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
    browser.setDefaultTimeout(60_000);
    const page = await browser.newPage();
    const pageErrors = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    // The refused sign-in below makes the browser log its 401; any other error counts.
    page.on('console', (m) => {
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) pageErrors.push(`console: ${m.text()}`);
    });

    await page.goto(`http://${fleet.addr}/`);
    await page.getByTestId('login').waitFor({ state: 'visible' });
    // A wrong token stays on the login screen with a message.
    await page.getByTestId('token-input').fill('not-the-token');
    await page.getByTestId('login-button').click();
    await until('the refusal message', 30_000, async () => /refused/.test(await page.getByTestId('login-error').textContent()));
    await page.getByTestId('token-input').fill(token);
    await page.getByTestId('login-button').click();
    await page.getByTestId('app').waitFor({ state: 'visible' });

    // The bots of the bundled registry are listed.
    const registry = readFileSync(join(root, 'config/fleet.toml'), 'utf8');
    const ids = [...registry.matchAll(/^id\s*=\s*"([^"]+)"/gm)].map((m) => m[1]);
    assert.ok(ids.length >= 2, 'the bundled registry lists bots');
    await until('every bot in the table', 60_000, async () => {
      const shown = await page.locator('#bots-table tbody tr[data-bot]').evaluateAll((rows) => rows.map((r) => r.dataset.bot));
      return ids.every((id) => shown.includes(id));
    });

    // The stream is connected, and the equity chart has points and moves on.
    await until('the live stream', 60_000, async () => (await page.getByTestId('conn-status').textContent()) === 'live');
    const chart = page.getByTestId('equity-chart');
    const label = page.getByTestId('equity-label');
    await until('an equity chart with points', 90_000, async () => Number(await chart.getAttribute('data-points')) >= 2);
    const before = { points: await chart.getAttribute('data-points'), label: await label.textContent() };
    await until('the equity chart to update', 90_000, async () => {
      const now = { points: await chart.getAttribute('data-points'), label: await label.textContent() };
      return now.points !== before.points || now.label !== before.label;
    });
    t.diagnostic(`equity chart went from "${before.label}" to "${await label.textContent()}"`);

    // Halt, through the confirmation dialog.
    await page.getByTestId('btn-halt').click();
    await page.getByTestId('confirm-dialog').waitFor({ state: 'visible' });
    await page.getByTestId('confirm-reason').fill('browser test');
    await page.getByTestId('confirm-ok').click();
    await until('the control result', 30_000, async () => (await page.getByTestId('control-result').getAttribute('data-ok')) !== null);
    const result = await page.getByTestId('control-result').textContent();
    assert.equal(await page.getByTestId('control-result').getAttribute('data-ok'), 'true', `halt failed: ${result}`);
    await until('HALTED on the page', 30_000, async () => (await page.getByTestId('trading-state').textContent()) === 'HALTED');

    // The API says halted, and by whom.
    const state = await apiGet(fleet, 'state', token);
    assert.equal(state.status, 200);
    assert.equal(state.body.state, 'halted', JSON.stringify(state.body));
    assert.ok(JSON.stringify(state.body).includes(name), `the API's state does not name ${name}: ${JSON.stringify(state.body)}`);
    await until('who set the state on the page', 30_000, async () =>
      (await page.getByTestId('state-reason').textContent()).includes(name),
    );

    // The ledger says so too, through the CLI.
    const { stdout } = await promisify(execFile)(bin, ['status', '--db', join(dir, 'f.db'), '--json'], {
      maxBuffer: 64 << 20,
    });
    const seen = ledgerHalt(JSON.parse(stdout), name);
    assert.ok(seen.halted, `flotilla status shows no halt: ${seen.json.slice(0, 4000)}`);
    assert.ok(seen.who, `flotilla status does not say ${name} halted the fleet: ${seen.json.slice(0, 4000)}`);

    mkdirSync(dirname(screenshot), { recursive: true });
    await page.screenshot({ path: screenshot, fullPage: true });
    t.diagnostic(`screenshot: ${screenshot}`);
    assert.deepEqual(pageErrors, [], 'the page logged errors');
    ok = true;
  } finally {
    if (!ok && browser) {
      // What the page showed when it failed.
      const pages = browser.pages();
      await pages[pages.length - 1]?.screenshot({ path: join(root, 'target/dashboard-failed.png'), fullPage: true }).catch(() => {});
    }
    await browser?.close().catch(() => {});
    await stopFleet(fleet);
    if (!ok && fleet) {
      console.error(`--- the fleet's stderr (last 8000 chars) ---\n${fleet.stderr.slice(-8000)}`);
    }
    rmSync(dir, { recursive: true, force: true });
  }
});
