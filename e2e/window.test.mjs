// Real-window end-to-end test of the Wardwatch console.
//
// Starts the built app (target/debug/wardwatch-app) through WebKitWebDriver,
// sends real syslog messages to it with util-linux `logger` over TCP and UDP,
// and checks that they show up in the window. Plain W3C WebDriver over HTTP.
//
// Run from the repo root, inside the desktop-session wrapper:
//   scripts/with-desktop-session.sh node --test e2e/
// Environment:
//   WARDWATCH_APP_BIN  the app binary (default: $CARGO_TARGET_DIR or
//                      <repo>/target, then debug/wardwatch-app)
//   E2E_KEEP_TMP=1     keep the temp dir (app data, logs) for a look afterwards
// Leaves artifacts/e2e/console.png (screenshot) and artifacts/e2e/app.log
// (WebKitWebDriver and app output).

import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { createServer } from 'node:http';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ARTIFACTS = path.join(REPO, 'artifacts', 'e2e');
// The W3C web element identifier key (WebDriver spec, "web element reference").
const ELEMENT = 'element-6066-11e4-a52e-4f735466cecf';
const APP_START_MS = 30_000;
const UI_WAIT_MS = 15_000;
const POLL_MS = 100;
const HTTP_MS = 15_000;

const run = promisify(execFile);

// ---------------------------------------------------------------- setup ----

function cliBinary() {
  if (process.env.WARDWATCH_CLI_BIN) return path.resolve(process.env.WARDWATCH_CLI_BIN);
  return path.join(path.dirname(appBinary()), 'wardwatch');
}

function appBinary() {
  if (process.env.WARDWATCH_APP_BIN) return path.resolve(process.env.WARDWATCH_APP_BIN);
  // Like cargo, a relative CARGO_TARGET_DIR is taken from the current directory.
  const target = process.env.CARGO_TARGET_DIR ? path.resolve(process.env.CARGO_TARGET_DIR) : path.join(REPO, 'target');
  return path.join(target, 'debug', 'wardwatch-app');
}

/** A port the OS considers free right now, for TCP and, if asked, UDP too. */
async function freePort({ udp = false } = {}) {
  for (let attempt = 0; attempt < 20; attempt++) {
    const server = net.createServer();
    await new Promise((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
    const { port } = server.address();
    let ok = true;
    if (udp) {
      const sock = dgram.createSocket('udp4');
      ok = await new Promise((resolve) => {
        sock.once('error', () => resolve(false));
        sock.bind(port, '127.0.0.1', () => resolve(true));
      });
      sock.close();
    }
    await new Promise((resolve) => server.close(resolve));
    if (ok) return port;
  }
  throw new Error('no port free for both TCP and UDP after 20 tries');
}

/** Keeps the last `max` characters written by a child process, for error messages. */
function tail(max = 20_000) {
  let text = '';
  return {
    push(chunk) {
      text = (text + chunk).slice(-max);
    },
    get text() {
      return text;
    },
  };
}

const state = {
  tmp: null,
  driver: null, // child process of WebKitWebDriver (own process group)
  driverExit: null, // why it ended, once it has
  driverGone: null, // resolves when it has ended
  driverLog: tail(200_000),
  base: null, // http://127.0.0.1:N
  session: null,
  listenPort: null,
};

async function http(method, url, body, ms = HTTP_MS) {
  let res;
  try {
    res = await fetch(url, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(ms),
    });
  } catch (e) {
    throw new Error(`${method} ${url} failed: ${e.cause?.message ?? e.message}`);
  }
  const raw = await res.text();
  let json;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new Error(`${method} ${url}: HTTP ${res.status}, not JSON: ${raw.slice(0, 300)}`);
  }
  if (!res.ok || (json.value && json.value.error)) {
    const err = new Error(`${method} ${url}: HTTP ${res.status} ${json.value?.error}: ${json.value?.message}`);
    err.webdriverError = json.value?.error;
    throw err;
  }
  return json.value;
}

/** One WebDriver command on the current session. */
function wd(method, suffix, body, ms) {
  return http(method, `${state.base}/session/${state.session}${suffix}`, body, ms);
}

async function startDriver() {
  const port = await freePort();
  state.base = `http://127.0.0.1:${port}`;
  const env = { ...process.env };
  delete env.WARDWATCH_CONFIG;
  Object.assign(env, {
    // Without this the session hangs forever (the webview refuses automation).
    TAURI_WEBVIEW_AUTOMATION: 'true',
    // The app inherits the driver's environment; this is how it is configured.
    WARDWATCH_DATA_DIR: path.join(state.tmp, 'data'),
    WARDWATCH_CONFIG: state.config,
    WARDWATCH_LISTEN: `udp://127.0.0.1:${state.listenPort},tcp://127.0.0.1:${state.listenPort}`,
    // Keep any config.toml and the webview caches of the person running this out.
    XDG_CONFIG_HOME: path.join(state.tmp, 'config'),
    XDG_CACHE_HOME: path.join(state.tmp, 'cache'),
    // ... but not Mesa's shader cache: with it cold, llvmpipe compiles shaders
    // on the first draws and a new row took 0.1-1.1 s to reach the screen
    // (20-110 ms warm). Mesa adds "mesa_shader_cache" to this directory.
    MESA_SHADER_CACHE_DIR: process.env.MESA_SHADER_CACHE_DIR || process.env.XDG_CACHE_HOME || path.join(homedir(), '.cache'),
  });
  await mkdir(env.WARDWATCH_DATA_DIR, { recursive: true });
  const driver = spawn('WebKitWebDriver', [`--port=${port}`, '--host=127.0.0.1'], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    // Own process group: cleanup stops the driver and the app it started together.
    detached: true,
  });
  state.driver = driver;
  state.driverGone = new Promise((resolve) => {
    driver.once('exit', (code, signal) => {
      state.driverExit = `exited with ${signal ?? `code ${code}`}`;
      resolve();
    });
    driver.once('error', (e) => {
      state.driverExit =
        e.code === 'ENOENT' ? 'is not installed (Debian package webkit2gtk-driver)' : `could not start: ${e.message}`;
      resolve();
    });
  });
  driver.stdout.setEncoding('utf8').on('data', (d) => state.driverLog.push(d));
  driver.stderr.setEncoding('utf8').on('data', (d) => state.driverLog.push(d));

  await waitFor(
    async () => {
      try {
        const status = await http('GET', `${state.base}/status`, undefined, 1000);
        return status?.ready === true;
      } catch {
        return false;
      }
    },
    'WebKitWebDriver to answer /status ready',
    APP_START_MS,
    { pageText: false },
  );
}

async function startSession(binary) {
  const value = await http(
    'POST',
    `${state.base}/session`,
    { capabilities: { alwaysMatch: { 'webkitgtk:browserOptions': { binary, args: [] } } } },
    APP_START_MS,
  );
  state.session = value.sessionId;
}

async function stopAll() {
  if (state.session) {
    await wd('DELETE', '', undefined, 10_000).catch((e) => console.log(`cleanup: closing the session: ${e.message}`));
    state.session = null;
  }
  const driver = state.driver;
  if (driver?.pid) {
    const kill = (sig) => {
      try {
        process.kill(-driver.pid, sig); // the whole group: driver and app
      } catch {
        /* the group is empty */
      }
    };
    if (!state.driverExit) {
      kill('SIGTERM');
      const timer = setTimeout(() => kill('SIGKILL'), 5000);
      await state.driverGone;
      clearTimeout(timer);
    }
    // Anything still in the group (the app after a failed DELETE) goes too.
    kill('SIGKILL');
  }
  state.driver = null;
  if (driver) {
    await mkdir(ARTIFACTS, { recursive: true });
    await writeFile(path.join(ARTIFACTS, 'app.log'), state.driverLog.text);
  }
  if (state.tmp && !process.env.E2E_KEEP_TMP) await rm(state.tmp, { recursive: true, force: true });
  else if (state.tmp) console.log(`kept temp dir ${state.tmp}`);
}

// ------------------------------------------------------------- helpers ----

/** Clicks the first element matching `css`, once it is there. */
async function click(css, parent) {
  const el = await waitFor(async () => (await findAll(css, parent))[0], `an element ${css} to click`);
  await wd('POST', `/element/${el}/click`, {});
  return el;
}

/** Elements matching `css`, under `parent` (an element id) or the whole page. */
async function findAll(css, parent) {
  const where = parent ? `/element/${parent}/elements` : '/elements';
  const found = await wd('POST', where, { using: 'css selector', value: css });
  return found.map((e) => e[ELEMENT]);
}

/** Rendered text of an element. */
function text(eid) {
  return wd('GET', `/element/${eid}/text`);
}

/** Value of an attribute of an element (null when absent). */
function attr(eid, name) {
  return wd('GET', `/element/${eid}/attribute/${encodeURIComponent(name)}`);
}

/** Text of the whole page, for error messages; never throws. */
async function pageText() {
  try {
    const [body] = await findAll('body');
    return body ? (await text(body)).slice(0, 3000) : '(no body element)';
  } catch (e) {
    return `(page text unavailable: ${e.message})`;
  }
}

/**
 * Polls `cond` every POLL_MS until it returns a truthy value, which is
 * returned. Errors from `cond` (a row re-rendered between two calls, ...)
 * count as "not yet". Throws after `ms`, naming `what`, with the last error
 * and the page text then; at once if WebKitWebDriver has ended.
 */
async function waitFor(cond, what, ms = UI_WAIT_MS, { pageText: withPage = true } = {}) {
  const deadline = Date.now() + ms;
  let lastError = null;
  for (;;) {
    if (state.driverExit) {
      throw new Error(`WebKitWebDriver ${state.driverExit} while waiting for ${what}:\n${state.driverLog.text.slice(-3000)}`);
    }
    try {
      const value = await cond();
      if (value) return value;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  let msg = `timed out after ${ms} ms waiting for ${what}`;
  if (lastError) msg += `\nlast error: ${lastError.message}`;
  if (withPage && state.session) msg += `\npage text:\n${await pageText()}`;
  msg += `\n(WebKitWebDriver and app output: ${path.join(ARTIFACTS, 'app.log')})`;
  throw new Error(msg);
}

/** The alert rows, newest first, as { eid, name, severity }. */
async function alertRows() {
  const rows = [];
  for (const eid of await findAll('[data-testid="alert-row"]')) {
    const [nameEl] = await findAll('[data-testid="alert-name"]', eid);
    const [sevEl] = await findAll('[data-testid="alert-severity"]', eid);
    rows.push({ eid, name: nameEl ? await text(nameEl) : '', severity: sevEl ? await text(sevEl) : '' });
  }
  return rows;
}

/**
 * Records in the page when an alert name containing `marker` first enters the
 * DOM and when the next frame is rendered with it, so the latency does not
 * depend on the polling interval. Best effort: false if scripts cannot run.
 */
async function watchInPage(marker) {
  const script = `
    const marker = arguments[0];
    const seen = (window.__e2eSeen = window.__e2eSeen || {});
    const check = () => {
      for (const el of document.querySelectorAll('[data-testid="alert-name"]')) {
        if (!el.textContent.includes(marker)) continue;
        seen[marker] = { dom: Date.now(), frame: null };
        requestAnimationFrame(() => (seen[marker].frame = Date.now()));
        return true;
      }
      return false;
    };
    if (!check()) {
      const obs = new MutationObserver(() => check() && obs.disconnect());
      obs.observe(document.body, { childList: true, subtree: true, characterData: true });
    }
    return true;`;
  try {
    await wd('POST', '/execute/sync', { script, args: [marker] });
    return true;
  } catch {
    return false;
  }
}

/** The times recorded by watchInPage, once the frame time is there too. */
async function seenInPage(marker) {
  const script = `
    const done = arguments[arguments.length - 1];
    const tick = () => {
      const s = (window.__e2eSeen || {})[arguments[0]];
      if (s && s.frame) done(s);
      else requestAnimationFrame(tick);
    };
    tick();`;
  try {
    return await wd('POST', '/execute/async', { script, args: [marker] });
  } catch {
    return null;
  }
}

/** Sends with `logger`, waits until `isShown(rows)` returns a row; returns it and the timings. */
async function sendAndWait(loggerArgs, marker, what, isShown) {
  const watching = await watchInPage(marker);
  const sentAt = Date.now();
  await run('logger', [...loggerArgs, '-n', '127.0.0.1', '-P', String(state.listenPort)], { timeout: 10_000 });
  const row = await waitFor(async () => isShown(await alertRows()), what);
  const polledMs = Date.now() - sentAt;
  const seen = watching ? await seenInPage(marker) : null;
  const timing = seen
    ? `in the DOM ${seen.dom - sentAt} ms and in a rendered frame ${seen.frame - sentAt} ms after send`
    : 'page timing unavailable';
  return { row, summary: `${timing} (the test saw it after ${polledMs} ms of polling)` };
}

/**
 * Resolves once the page has produced a frame after everything seen so far:
 * two animation frames, as WebKit runs the second one only after the frame
 * of the first has been composited.
 */
async function nextFrame() {
  await wd('POST', '/execute/async', {
    script: 'const done = arguments[arguments.length - 1]; requestAnimationFrame(() => requestAnimationFrame(() => done(true)));',
    args: [],
  });
}

async function screenshot() {
  return Buffer.from(await wd('GET', '/screenshot', undefined, 30_000), 'base64');
}

/**
 * A screenshot that shows the page as it is now. A bare WebDriver screenshot
 * returns the last frame WebKit presented, which on a loaded machine was seen
 * to be seconds old (the empty list while the DOM already had two alerts).
 * So: force a frame first, then take shots a frame apart until two agree.
 */
async function freshScreenshot() {
  let previous = null;
  return waitFor(async () => {
    await nextFrame();
    const png = await screenshot();
    const same = previous && previous.equals(png);
    previous = png;
    return same && png;
  }, 'two screenshots a frame apart to agree');
}

const hex = () => randomBytes(4).toString('hex');

// The accounts made with the CLI in before(): an administrator, a security
// officer who runs the tests, and a nurse of the emergency department only.
const PEOPLE = {
  ada: { name: 'Ada Admin', password: 'ada-password-e2e-1' },
  olu: { name: 'Olu Officer', password: 'olu-password-e2e-1' },
  nina: { name: 'Nina Nurse', password: 'nina-password-e2e-1', ward: 'ed' },
  rev: { name: 'Rita Reviewer', password: 'rev-password-e2e-1' },
  cleo: { name: 'Cleo Clinician', password: 'cleo-password-e2e-1' },
};

// The NAC's webhook the console's quarantine adapter posts to: a real HTTP
// server on 127.0.0.1 that records every request it gets.
const webhook = { server: null, port: null, requests: [] };

async function startWebhook() {
  webhook.server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      webhook.requests.push({ method: req.method, url: req.url, headers: req.headers, body });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    });
  });
  await new Promise((resolve, reject) => webhook.server.once('error', reject).listen(0, '127.0.0.1', resolve));
  webhook.port = webhook.server.address().port;
}

/** The CLI arguments that make it act as the auditor (reading the audit log takes that role). */
function asReviewer() {
  return ['--user', 'rev', '--user-password-file', path.join(state.tmp, 'rev-password')];
}

/** The environment of the CLI beside the app: the same keyring and config dirs. */
function cliEnv() {
  return { ...process.env, XDG_CONFIG_HOME: path.join(state.tmp, 'config'), XDG_CACHE_HOME: path.join(state.tmp, 'cache') };
}

/** Runs the CLI with `input` on its standard input (a password, never in argv). */
function cliWithInput(args, input) {
  const pending = run(cliBinary(), args, { timeout: 30_000, env: cliEnv() });
  pending.child.stdin.end(input);
  return pending;
}

/** Logs in at the login screen and waits for the console to name the person. */
async function logIn(username) {
  const who = PEOPLE[username];
  const [user] = await waitFor(async () => {
    const found = await findAll('[data-testid="login-username"]');
    return found.length > 0 && found;
  }, 'the login screen');
  await wd('POST', `/element/${user}/value`, { text: username });
  const [password] = await findAll('[data-testid="login-password"]');
  await wd('POST', `/element/${password}/value`, { text: who.password });
  await click('[data-testid="login-submit"]');
  return waitFor(async () => {
    const [me] = await findAll('[data-testid="current-user"]');
    const t = me && (await text(me));
    return t && t.includes(who.name) && t;
  }, `the console of ${username} ("${who.name}" in the header)`);
}

/**
 * The steps of test `t`, run in order as subtests: once one fails, the
 * rest are skipped (they build on it).
 */
function steps(t) {
  let failed = false;
  return async (name, fn) => {
    if (failed) return t.test(name, { skip: 'an earlier step failed' });
    return t.test(name, async () => {
      try {
        await fn();
      } catch (e) {
        failed = true;
        throw e;
      }
    });
  };
}

// --------------------------------------------------------------- tests ----

before(async () => {
  if (!process.env.DISPLAY) {
    throw new Error('DISPLAY is not set: run this inside the desktop session, e.g. `scripts/with-desktop-session.sh node --test e2e/`');
  }
  const binary = appBinary();
  if (!existsSync(binary)) {
    throw new Error(`the app binary ${binary} is missing: build it with \`make app\` (or set WARDWATCH_APP_BIN)`);
  }
  state.tmp = await mkdtemp(path.join(tmpdir(), 'wardwatch-e2e-'));
  state.listenPort = await freePort({ udp: true });
  // The data directory starts with a small inventory, imported with the CLI
  // as an IT officer would (same keyring as the app: the session's).
  const cli = cliBinary();
  if (!existsSync(cli)) throw new Error(`the CLI ${cli} is missing: build it with \`make app\``);
  const data = path.join(state.tmp, 'data');
  const imported = await run(cli, ['inventory', 'import', '--data-dir', data, path.join(REPO, 'e2e', 'fixtures', 'inventory.csv')], {
    timeout: 30_000,
    env: { ...process.env, XDG_CONFIG_HOME: path.join(state.tmp, 'config'), XDG_CACHE_HOME: path.join(state.tmp, 'cache') },
  });
  console.log(`inventory imported: ${imported.stdout.trim().split('\n').at(-1)}`);
  // The people, as an administrator would add them: the first is the
  // administrator; then she adds the others, proving it with her password.
  const adaFile = path.join(state.tmp, 'ada-password');
  await writeFile(adaFile, `${PEOPLE.ada.password}\n`, { mode: 0o600 });
  const add = (username, roleArgs, asAda) =>
    cliWithInput(
      [
        'users', 'add', '--data-dir', data, '--username', username, '--name', PEOPLE[username].name, ...roleArgs,
        ...(asAda ? ['--as', 'ada', '--as-password-file', adaFile] : []),
      ],
      `${PEOPLE[username].password}\n`,
    );
  await add('ada', ['--role', 'admin'], false);
  await add('olu', ['--role', 'security_officer'], true);
  // Nina covers the emergency department only: the ICU is not hers to see.
  await add('nina', ['--role', 'nurse', '--ward', PEOPLE.nina.ward], true);
  // An auditor reads the audit log beside the running console.
  await add('rev', ['--role', 'auditor'], true);
  // A clinician signs off care-disruptive actions.
  await add('cleo', ['--role', 'clinician'], true);
  await writeFile(path.join(state.tmp, 'olu-password'), `${PEOPLE.olu.password}\n`, { mode: 0o600 });
  // Quarantines go to the NAC's webhook; every other action is a manual checklist.
  await startWebhook();
  state.config = path.join(state.tmp, 'config.toml');
  await writeFile(
    state.config,
    [
      '[[response.adapters]]',
      'kind = "webhook"',
      'name = "nac"',
      `url = "http://127.0.0.1:${webhook.port}/api/quarantine"`,
      'timeout_ms = 5000',
      '',
      '[response.routes]',
      'quarantine = "nac"',
      '',
    ].join('\n'),
  );
  await writeFile(path.join(state.tmp, 'rev-password'), `${PEOPLE.rev.password}\n`, { mode: 0o600 });
  console.log('accounts added: ada (admin), olu (security officer), nina (nurse, ed), rev (auditor), cleo (clinician)');
  const t0 = Date.now();
  await startDriver();
  await startSession(binary);
  console.log(`app window up in ${Date.now() - t0} ms (listening on port ${state.listenPort})`);
});

after(async () => {
  await stopAll();
  webhook.server?.close();
});

test('the console window shows real syslog alerts as they arrive', { timeout: 120_000 }, async (t) => {
  const step = steps(t);

  const tcpMarker = `e2e-${hex()}`;
  const udpMarker = `e2e-${hex()}`;
  const tcpUrl = `tcp://127.0.0.1:${state.listenPort}`;

  await step('the console asks who is there; the security officer logs in', async () => {
    await waitFor(async () => (await findAll('[data-testid="login-screen"]')).length === 1, 'the login screen');
    assert.equal((await findAll('[data-testid="wards-overview"]')).length, 0, 'nothing of the hospital before a login');
    const me = await logIn('olu');
    assert.match(me, /Olu Officer · security officer/, `the header names the person and the role: ${me}`);
  });

  await step('the console opens on the wards; Alerts shows the live alert screen', async () => {
    await waitFor(async () => (await findAll('[data-testid="wards-overview"]')).length === 1, 'the wards overview');
    await click('[data-testid="nav-alerts"]');
    await waitFor(async () => (await findAll('[data-testid="alert-list"]')).length === 1, 'the alert list');
  });

  await step('both listeners are listening and the alert list is shown', async () => {
    const t0 = Date.now();
    await waitFor(async () => {
      const rows = await findAll('[data-testid="listener-row"]');
      if (rows.length !== 2) return false;
      const states = await Promise.all(rows.map((r) => attr(r, 'data-state')));
      return states.every((s) => s === 'listening');
    }, 'two listener rows with data-state="listening"');
    const [list] = await findAll('[data-testid="alert-list"]');
    assert.ok(list, 'the alert list is shown');
    // A fresh data directory: the list shows its empty state, not rows.
    assert.equal((await findAll('[data-testid="alert-empty"]', list)).length, 1, 'the empty state is shown');
    assert.equal((await findAll('[data-testid="alert-row"]', list)).length, 0, 'no alert rows yet');
    console.log(`listeners ready ${Date.now() - t0} ms after the window opened`);
  });

  await step('an alert sent over TCP appears with its severity', async () => {
    const { row, summary } = await sendAndWait(
      ['--rfc5424', '--octet-count', '-T', '-t', 'gw', `pump IP-3 beacon ${tcpMarker}`],
      tcpMarker,
      `an alert row named "... ${tcpMarker}"`,
      (rows) => rows.find((r) => r.name.includes(tcpMarker)),
    );
    console.log(`TCP alert: ${summary}`);
    assert.match(row.severity, /\p{L}/u, `severity cell has a word: ${JSON.stringify(row.severity)}`);
    // logger's default user.notice: syslog 5 -> 3 of 10 -> "Low".
    assert.match(row.severity, /low/i);
  });

  await step('an alert sent over UDP appears first, with severity High', async () => {
    const { row, summary } = await sendAndWait(
      ['--rfc5424', '-d', '-p', 'auth.crit', '-t', 'sentinel', `Exploit attempt ${udpMarker}`],
      udpMarker,
      `the first alert row to be named "... ${udpMarker}"`,
      (rows) => rows[0]?.name.includes(udpMarker) && rows[0],
    );
    console.log(`UDP alert: ${summary}`);
    // auth.crit: syslog 2 -> 8 of 10 -> "High".
    assert.match(row.severity, /high/i);
    const rows = await alertRows();
    assert.ok(rows[1]?.name.includes(tcpMarker), `the TCP alert comes second: ${JSON.stringify(rows.map((r) => r.name))}`);
  });

  await step('the TCP listener counts what it received', async () => {
    // The panel refreshes every 2 s, so this can take a moment.
    const received = await waitFor(async () => {
      for (const eid of await findAll('[data-testid="listener-row"]')) {
        const rowText = await text(eid);
        if (!rowText.includes(tcpUrl)) continue;
        const m = /Received\s*([\d,]+)/.exec(rowText);
        const n = m ? Number(m[1].replace(/,/g, '')) : 0;
        return n >= 1 && n;
      }
      return false;
    }, `the ${tcpUrl} listener row to show "Received" at least 1`);
    console.log(`TCP listener shows Received ${received}`);
  });

  await step('a message that cannot be read is kept and shown under "Messages not understood"', async () => {
    const marker = `e2e-bad-${hex()}`;
    // A priority over 191 is no syslog reading at all: the console keeps it raw.
    const sock = dgram.createSocket('udp4');
    await new Promise((resolve, reject) =>
      sock.send(Buffer.from(`<999>1 - - - - - - ${marker}`), state.listenPort, '127.0.0.1', (e) => (e ? reject(e) : resolve())),
    );
    sock.close();
    // The count comes with the listener panel's refresh (every 2 s).
    await waitFor(async () => {
      const [count] = await findAll('[data-testid="rejected-count"]');
      return count && /^\D*[1-9]/.test(await text(count));
    }, 'the "Messages not understood" count to be at least 1');
    const [summary] = await findAll('[data-testid="rejected-list"] summary');
    await wd('POST', `/element/${summary}/click`, {});
    const row = await waitFor(async () => {
      for (const eid of await findAll('[data-testid="rejected-row"]')) {
        const rowText = await text(eid);
        if (rowText.includes(marker)) return rowText;
      }
      return false;
    }, `a rejected row holding ${marker}`);
    assert.match(row, /priority is over 191/, `the reason is shown: ${row}`);
  });

  await step('the record-keeping panel says the store is writing and the audit log is intact', async () => {
    // The audit log is checked in the background at start, and the panel
    // refreshes every 2 s, so this can take a moment.
    const auditText = await waitFor(async () => {
      const [store] = await findAll('[data-testid="store-state"][data-state="writing"]');
      const [audit] = await findAll('[data-testid="audit-state"][data-state="verified"]');
      return store && audit && (await text(audit));
    }, 'store-state with data-state="writing" and audit-state with data-state="verified"');
    assert.match(auditText, /Intact/, `the audit state says it in words: ${JSON.stringify(auditText)}`);
  });

  const exploit = `Exploit attempt ${hex()}`;
  await step('an alert about an imported pump shows on its ward tile', async () => {
    await click('[data-testid="nav-wards"]');
    await waitFor(async () => (await findAll('[data-testid="ward-tile"][data-ward="icu"]')).length === 1, 'the ICU tile');
    const cef = `CEF:0|Wardwatch e2e|IDS|1|100|${exploit}|8|src=203.0.113.9 dst=10.77.1.5`;
    await run('logger', ['-T', '-n', '127.0.0.1', '-P', String(state.listenPort), cef], { timeout: 10_000 });
    const incident = await waitFor(async () => {
      const [tile] = await findAll('[data-testid="ward-tile"][data-ward="icu"]');
      const [inc] = tile ? await findAll('[data-testid="ward-incident"]', tile) : [];
      const t = inc && (await text(inc));
      // The incident is named by its condition, the same whichever sensor reported it.
      return t && t.includes('Exploit attempt') && t;
    }, 'the ICU tile\'s worst incident to be the exploit attempt');
    assert.match(incident, /ICU-PUMP-01/, `the tile names the device: ${incident}`);
    const [tile] = await findAll('[data-testid="ward-tile"][data-ward="icu"]');
    assert.equal(await attr(tile, 'data-health'), 'compromised_suspected', 'a high alert on a life-supporting pump');
    const [status] = await findAll('[data-testid="ward-status"]', tile);
    assert.match(await text(status), /Compromise suspected/, 'the status is in words, not colour alone');
  });

  await step('the ward opens with its devices, and a device with its alert, vulnerabilities and criticality', async () => {
    await click('[data-testid="ward-tile"][data-ward="icu"]');
    const row = await waitFor(
      async () => (await findAll('[data-testid="ward-view"] [data-testid="device-row"][data-device="ICU-PUMP-01"]'))[0],
      'the ward view with the pump',
    );
    assert.equal((await findAll('[data-testid="ward-view"] [data-testid="device-row"]')).length, 2, 'both ICU devices');
    const [use] = await findAll('[data-testid="use-state"]', row);
    assert.match(await text(use), /treated as in use/i, 'no evidence of use yet: treated as in use');
    await wd('POST', `/element/${row}/click`, {});
    const view = await waitFor(async () => (await findAll('[data-testid="device-view"][data-device="ICU-PUMP-01"]'))[0], 'the device view');
    const alerts = await waitFor(async () => {
      const els = await findAll('[data-testid="device-alert"]', view);
      const texts = await Promise.all(els.map(text));
      return texts.some((t) => t.includes(exploit)) && texts;
    }, 'the alert in the device view');
    assert.ok(alerts.length >= 1);
    const vulns = await Promise.all((await findAll('[data-testid="vulnerability"]', view)).map(text));
    assert.ok(vulns.some((v) => v.includes('CVE-2020-25165')), `the pump's CVE: ${vulns}`);
    const [factors] = await findAll('[data-testid="device-factors"]', view);
    assert.ok(factors, 'the Fennigkoh–Smith factors are shown');
    const png = await freshScreenshot();
    await mkdir(ARTIFACTS, { recursive: true });
    await writeFile(path.join(ARTIFACTS, 'device.png'), png);
    await click('[data-testid="back-to-ward"]');
    await click('[data-testid="back-to-wards"]');
    await waitFor(async () => (await findAll('[data-testid="wards-overview"]')).length === 1, 'back on the wards');
  });

  await step('screenshot', async () => {
    const png = await freshScreenshot();
    assert.equal(png.subarray(1, 4).toString('latin1'), 'PNG', 'the screenshot is a PNG');
    const width = png.readUInt32BE(16);
    const height = png.readUInt32BE(20);
    assert.ok(width >= 100 && height >= 100, `screenshot is ${width}x${height}`);
    await mkdir(ARTIFACTS, { recursive: true });
    const file = path.join(ARTIFACTS, 'console.png');
    await writeFile(file, png);
    console.log(`screenshot (${width}x${height}): ${file}`);
  });

});

test('an incident is acknowledged and muted with a reason from its view', { timeout: 90_000 }, async (t) => {
  const step = steps(t);
  const muteReason = `e2e mute ${hex()}`;

  await step('the Incidents screen lists the incidents the alerts above were folded into', async () => {
    await click('[data-testid="nav-incidents"]');
    await waitFor(async () => (await findAll('[data-testid="incident-list"]')).length === 1, 'the incident list');
    // The backend folds the alerts sent by the first test into incidents; the first row is the highest priority.
    await waitFor(async () => (await findAll('[data-testid^="incident-row-"]')).length > 0, 'an incident row');
  });

  await step('the first incident opens; Acknowledge makes it acknowledged', async () => {
    const [row] = await findAll('[data-testid^="incident-row-"]');
    const id = await attr(row, 'data-incident');
    await wd('POST', `/element/${row}/click`, {});
    await waitFor(async () => (await findAll(`[data-testid="incident-view"][data-incident="${id}"] [data-testid="incident-view-title"]`)).length === 1, `the view of incident ${id}`);
    await click('[data-testid="incident-ack"]');
    const stateText = await waitFor(async () => {
      const [st] = await findAll('[data-testid="incident-view-state"][data-state="acknowledged"]');
      return st && (await text(st));
    }, 'the incident state to be acknowledged');
    assert.match(stateText, /Acknowledged/, `the state is in words: ${JSON.stringify(stateText)}`);
  });

  await step('Mute… with a reason and an expiry shows the mute and its reason', async () => {
    await click('[data-testid="incident-mute"]');
    const [reason] = await waitFor(async () => {
      const found = await findAll('[data-testid="mute-reason"]');
      return found.length > 0 && found;
    }, 'the mute dialog');
    await wd('POST', `/element/${reason}/value`, { text: muteReason });
    await click('[data-testid="mute-expiry"] option[value="4"]');
    await click('[data-testid="mute-confirm"]');
    const muted = await waitFor(async () => {
      const [m] = await findAll('[data-testid="incident-view-muted"]');
      const mText = m && (await text(m));
      return mText && mText.includes(muteReason) && mText;
    }, `a mute marker with the reason "${muteReason}"`);
    assert.match(muted, /Muted until/, `the mute says until when: ${muted}`);
    assert.equal((await findAll('[data-testid="mute-dialog"]')).length, 0, 'the dialog closed');
  });

  await step('the audit log records the acknowledgement and the mute', async () => {
    // Read beside the running console with the CLI, as a reviewer would (same keyring).
    const out = await run(cliBinary(), ['audit', 'log', '--data-dir', path.join(state.tmp, 'data'), '--kind', 'incident.', '--json', ...asReviewer()], {
      timeout: 30_000,
      env: { ...process.env, XDG_CONFIG_HOME: path.join(state.tmp, 'config'), XDG_CACHE_HOME: path.join(state.tmp, 'cache') },
    });
    const records = out.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
    const acked = records.filter((r) => r.kind === 'incident.acknowledged');
    const muted = records.filter((r) => r.kind === 'incident.muted');
    assert.equal(acked.length, 1, `one acknowledgement recorded: ${out.stdout}`);
    assert.equal(muted.length, 1, `one mute recorded: ${out.stdout}`);
    assert.equal(muted[0].body.incident, acked[0].body.incident, 'both on the same incident');
    assert.equal(muted[0].body.reason, muteReason, 'the mute\'s reason is in the record');
    assert.ok(Date.parse(muted[0].body.until) > Date.now() + 3 * 3600_000, `the mute's expiry is about 4 h ahead: ${muted[0].body.until}`);
    assert.equal(acked[0].actor, 'olu', 'attributed to the person logged in at the window');
    assert.equal(muted[0].actor, 'olu', 'the mute too');
    const png = await freshScreenshot();
    await mkdir(ARTIFACTS, { recursive: true });
    await writeFile(path.join(ARTIFACTS, 'incidents.png'), png);
  });
});

test('a shared console: locked, a nurse sees only her ward and may not mute, the officer back', { timeout: 120_000 }, async (t) => {
  const step = steps(t);
  const scan = `Port scan ${hex()}`;

  await step('Lock shows the lock screen and takes the console off the page', async () => {
    await click('[data-testid="nav-wards"]');
    await waitFor(async () => (await findAll('[data-testid="ward-tile"][data-ward="icu"]')).length === 1, 'the ICU tile');
    await click('[data-testid="lock-button"]');
    const title = await waitFor(async () => {
      const [el] = await findAll('[data-testid="lock-screen"] [data-testid="lock-title"]');
      return el && (await text(el));
    }, 'the lock screen');
    assert.match(title, /Locked — Olu Officer/, `the lock screen names whose console it is: ${title}`);
    for (const id of ['wards-overview', 'ward-tile', 'current-user', 'incident-list', 'incident-view', 'alert-list']) {
      assert.equal((await findAll(`[data-testid="${id}"]`)).length, 0, `no ${id} on the locked screen`);
    }    await mkdir(ARTIFACTS, { recursive: true });
    await writeFile(path.join(ARTIFACTS, 'locked.png'), await freshScreenshot());
  });

  await step('an alert about the emergency department workstation, for the nurse to see', async () => {
    const cef = `CEF:0|Wardwatch e2e|IDS|1|101|${scan}|8|src=203.0.113.10 dst=10.77.2.10`;
    await run('logger', ['-T', '-n', '127.0.0.1', '-P', String(state.listenPort), cef], { timeout: 10_000 });
  });

  await step('Switch user; the nurse logs in and sees her ward only, and no officer tools', async () => {
    await click('[data-testid="switch-user"]');
    const me = await logIn('nina');
    assert.match(me, /Nina Nurse · nurse/, `the header says nurse: ${me}`);
    await waitFor(async () => (await findAll('[data-testid="ward-tile"][data-ward="ed"]')).length === 1, 'the emergency department tile');
    assert.equal((await findAll('[data-testid="ward-tile"][data-ward="icu"]')).length, 0, 'the ICU is not hers: no tile');
    assert.equal((await findAll('[data-testid="ward-tile"]')).length, 1, 'one tile only');
    assert.equal((await findAll('[data-testid="nav-alerts"]')).length, 0, 'no Alerts for a nurse');
    assert.equal((await findAll('[data-testid="nav-users"]')).length, 0, 'no Users for a nurse');
    assert.equal((await findAll('[data-testid="open-import"]')).length, 0, 'no Import inventory for a nurse');
  });

  await step("the nurse opens her ward's incident; Mute is refused with the reason in words", async () => {
    await click('[data-testid="nav-incidents"]');
    const row = await waitFor(async () => (await findAll('[data-testid^="incident-row-"]'))[0], 'an incident row of the emergency department');
    for (const r of await findAll('[data-testid^="incident-row-"]')) {
      const rowText = await text(r);
      assert.ok(!rowText.includes('ICU-PUMP-01'), `no ICU incident for the nurse: ${rowText}`);
    }
    await wd('POST', `/element/${row}/click`, {});
    await click('[data-testid="incident-mute"]');
    const [reason] = await waitFor(async () => {
      const found = await findAll('[data-testid="mute-reason"]');
      return found.length > 0 && found;
    }, 'the mute dialog');
    await wd('POST', `/element/${reason}/value`, { text: 'e2e: a nurse tries to mute' });
    await click('[data-testid="mute-confirm"]');
    const refused = await waitFor(async () => {
      const [el] = await findAll('[data-testid="mute-error"]');
      return el && (await text(el));
    }, 'the refusal in the mute dialog');
    assert.match(refused, /access\.refused/, `the refusal's code: ${refused}`);
    assert.match(refused, /nurse/i, `the refusal says why, in words: ${refused}`);
    await writeFile(path.join(ARTIFACTS, 'nurse-refused.png'), await freshScreenshot());
    await click('[data-testid="mute-cancel"]');
  });

  await step('the nurse locks; the officer switches user and is back with every ward', async () => {
    await click('[data-testid="lock-button"]');
    const title = await waitFor(async () => {
      const [el] = await findAll('[data-testid="lock-screen"] [data-testid="lock-title"]');
      return el && (await text(el));
    }, 'the lock screen');
    assert.match(title, /Locked — Nina Nurse/, title);
    assert.equal((await findAll('[data-testid="incident-view"]')).length, 0, 'the incident is off the page');
    await click('[data-testid="switch-user"]');
    await logIn('olu');
    await click('[data-testid="nav-wards"]');
    await waitFor(async () => (await findAll('[data-testid="ward-tile"][data-ward="icu"]')).length === 1, 'the ICU tile for the officer');
  });

  await step('the audit log records the logins of the officer and the nurse', async () => {
    const out = await run(cliBinary(), ['audit', 'log', '--data-dir', path.join(state.tmp, 'data'), '--kind', 'auth.', '--json', ...asReviewer()], {
      timeout: 30_000,
      env: cliEnv(),
    });
    const logins = out.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((r) => r.kind === 'auth.login');
    const of = (who) => logins.filter((r) => r.actor === who || r.body?.username === who);
    assert.ok(of('olu').length >= 2, `olu logged in twice: ${out.stdout}`);
    assert.ok(of('nina').length >= 1, `nina logged in: ${out.stdout}`);
  });
});

test('care-safe response: the officer asks to quarantine an in-use monitor, a clinician signs off, the NAC gets one request', { timeout: 150_000 }, async (t) => {
  const step = steps(t);
  const data = path.join(state.tmp, 'data');
  const malware = `Malware beacon ${hex()}`;
  const reason = `e2e: contain the malware ${hex()}`;
  const signoff = `e2e: patient on bedside watch ${hex()}`;
  let incidentId = null;

  await step('the ICU monitor is in use with a patient, and malware is reported on it', async () => {
    await run(cliBinary(), ['device', 'set-use', '--data-dir', data, 'ICU-MON-01', '--state', 'in_use', '--reason', 'patient attached', '--user', 'olu', '--user-password-file', path.join(state.tmp, 'olu-password')], { timeout: 30_000, env: cliEnv() });
    const cef = `CEF:0|Wardwatch e2e|IDS|1|102|${malware}|9|src=10.77.1.6 dst=198.51.100.23`;
    await run('logger', ['-T', '-n', '127.0.0.1', '-P', String(state.listenPort), cef], { timeout: 10_000 });
  });

  await step("the incident's playbook grades quarantine as clinician sign-off, with its reasons", async () => {
    await click('[data-testid="nav-incidents"]');
    const row = await waitFor(async () => {
      for (const r of await findAll('[data-testid^="incident-row-"]')) {
        if ((await text(r)).includes('ICU-MON-01')) return r;
      }
      return null;
    }, 'the incident row of ICU-MON-01');
    incidentId = await attr(row, 'data-incident');
    await wd('POST', `/element/${row}/click`, {});
    const grade = await waitFor(async () => {
      const [g] = await findAll('[data-testid="play-quarantine"] [data-testid="grade-quarantine"]');
      return g && (await text(g));
    }, 'the grade of quarantine in the playbook');
    assert.match(grade, /Clinician sign-off/, `the grade in words: ${grade}`);
    const [play] = await findAll('[data-testid="play-quarantine"]');
    const playText = await text(play);
    assert.match(playText, /alarms stop reaching the central station/, `the reasons show: ${playText}`);
    assert.match(playText, /in use with a patient/, `the reasons say the monitor is in use: ${playText}`);
    const [safe] = await findAll('[data-testid="grade-block_destination"]');
    assert.match(await text(safe), /Safe now/, 'blocking the outside address is safe now');
    // The playbook sits below the incident's facts: bring it into view for the screenshot.
    await wd('POST', '/execute/sync', { script: 'arguments[0].scrollIntoView({ block: "start" }); return true;', args: [{ [ELEMENT]: play }] });
    await mkdir(ARTIFACTS, { recursive: true });
    await writeFile(path.join(ARTIFACTS, 'playbook.png'), await freshScreenshot());
  });

  await step('the officer requests the quarantine with a reason: it waits for a clinician, nothing is sent', async () => {
    await click('[data-testid="request-quarantine"]');
    const [box] = await waitFor(async () => {
      const found = await findAll('[data-testid="request-reason"]');
      return found.length > 0 && found;
    }, 'the request dialog');
    await wd('POST', `/element/${box}/value`, { text: reason });
    await click('[data-testid="request-submit"]');
    const stateText = await waitFor(async () => {
      const [el] = await findAll('[data-testid="request-card"][data-action="quarantine"][data-state="awaiting_gate"] [data-testid="request-state"]');
      return el && (await text(el));
    }, 'the quarantine request, waiting');
    assert.match(stateText, /clinician/i, `it says what it waits for: ${stateText}`);
    assert.equal(webhook.requests.length, 0, 'nothing reached the NAC before the sign-off');
  });

  await step('the officer may not sign off her own request: no sign-off button for her', async () => {
    const [card] = await findAll('[data-testid="request-card"][data-action="quarantine"]');
    assert.equal((await findAll('[data-testid="step-sign_off"]', card)).length, 0, 'no sign-off for the requester');
  });

  await step('the clinician logs in, reads the request in plain words and signs off', async () => {
    await click('[data-testid="lock-button"]');
    await click('[data-testid="switch-user"]');
    await logIn('cleo');
    await click('[data-testid="nav-requests"]');
    const card = await waitFor(async () => (await findAll('[data-testid="requests-page"] [data-testid="request-card"][data-action="quarantine"]'))[0], 'the quarantine request on the Requests screen');
    const [ask] = await findAll('[data-testid="request-ask"]', card);
    const askText = await text(ask);
    assert.match(askText, /IT wants to cut patient monitor ICU-MON-01 .*off the network/, `the ask in plain words: ${askText}`);
    await writeFile(path.join(ARTIFACTS, 'requests.png'), await freshScreenshot());
    await click('[data-testid="step-sign_off"]', card);
    const [box] = await waitFor(async () => {
      const found = await findAll('[data-testid="step-reason"]');
      return found.length > 0 && found;
    }, 'the sign-off dialog');
    await wd('POST', `/element/${box}/value`, { text: signoff });
    await click('[data-testid="step-submit"]');
  });

  await step('the NAC receives exactly one quarantine request, for the monitor', async () => {
    await waitFor(async () => webhook.requests.length >= 1, 'the webhook request', 20_000);
    // A second would come within the dispatcher's next rounds (every second): wait past them.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    assert.equal(webhook.requests.length, 1, `exactly one request: ${JSON.stringify(webhook.requests.map((r) => r.url))}`);
    const [req] = webhook.requests;
    assert.equal(req.method, 'POST');
    assert.equal(req.url, '/api/quarantine');
    assert.match(req.headers['idempotency-key'] ?? '', /^wardwatch-\d+$/, 'an idempotency key');
    const order = JSON.parse(req.body);
    assert.equal(order.action, 'quarantine');
    assert.equal(order.device.id, 'ICU-MON-01');
    assert.deepEqual(order.device.ips, ['10.77.1.6']);
    assert.equal(order.requested_by, 'olu');
    assert.deepEqual(order.approved_by, ['cleo']);
    assert.equal(order.break_glass, false);
  });

  await step('the request shows done', async () => {
    await waitFor(async () => (await findAll('[data-testid="request-card"][data-action="quarantine"][data-state="done"]')).length > 0 || (await findAll('[data-testid="requests-page"] [data-testid="request-card"][data-action="quarantine"]')).length === 0, 'the request to be done (or gone from the open requests)');
  });

  await step('the audit log tells the whole story', async () => {
    const out = await run(cliBinary(), ['audit', 'log', '--data-dir', data, '--kind', 'response.', '--json', ...asReviewer()], { timeout: 30_000, env: cliEnv() });
    const records = out.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((r) => r.body?.action === 'quarantine');
    const kinds = records.map((r) => r.kind);
    assert.deepEqual(kinds, ['response.requested', 'response.signed_off', 'response.dispatching', 'response.done'], out.stdout);
    const [requested, signed] = records;
    assert.equal(requested.actor, 'olu');
    assert.equal(requested.body.grade, 'clinician_signoff');
    assert.equal(requested.body.reason, reason);
    assert.equal(String(requested.body.incident), String(incidentId));
    assert.ok(requested.body.reasons.some((r) => r.includes('central station')), 'the reasons are recorded with the request');
    assert.equal(signed.actor, 'cleo');
    assert.equal(signed.body.reason, signoff);
    assert.equal(signed.body.state, 'approved');
  });

  await step('the clinician locks; the officer is back', async () => {
    await click('[data-testid="lock-button"]');
    await click('[data-testid="switch-user"]');
    await logIn('olu');
  });
});
