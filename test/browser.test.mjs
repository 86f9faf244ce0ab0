// The login as a person does it: `kms-agent login` hands the URL to $BROWSER, and a real (headless)
// Chromium fills in the bundled provider's login and consent pages and lands on the agent's
// callback page, which says who is logged in. A screenshot of that page goes to test-output/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLI, ROOT, makeSandbox } from './support/harness.mjs';
import { freePort } from '../dist/demo/freePort.js';

const CHROMIUM = '/usr/bin/chromium';
// What Debian's Chromium needs to run headless here, and nothing that phones home.
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // Loopback only: every host name but localhost fails to resolve (the provider's page @imports a web font).
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1, EXCLUDE [::1]',
];
const SCREENSHOT = join(ROOT, 'test-output', 'login-success.png');
const skip =
  !existsSync(CHROMIUM) &&
  `needs ${CHROMIUM} (apt-get install chromium; scripts/setup-debian.sh installs it for CI)`;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const isLoopback = (url) => ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(url).hostname);

test(
  'login in real headless Chromium through the provider pages to the "logged in" page',
  { skip, timeout: 120_000 },
  async () => {
    const { chromium } = await import('playwright-core');
    const redirect = `http://localhost:${await freePort()}/authorization`;
    const sb = await makeSandbox({
      provider: { redirectUris: [redirect] },
      profile: { redirect_url: redirect, store: 'file' },
    });
    let context;
    let login;
    let pagePath;
    try {
      // $BROWSER is a script that hands the URL to this test, which gives it to Chromium.
      const urlFile = join(sb.dir, 'login-url.txt');
      const browserScript = join(sb.dir, 'hand-url-to-test.sh');
      // Written aside and moved into place, so the test never reads a half-written file.
      writeFileSync(
        browserScript,
        '#!/bin/sh\nprintf "%s\\n" "$1" > "$LOGIN_URL_FILE.part" && mv "$LOGIN_URL_FILE.part" "$LOGIN_URL_FILE"\n',
        { mode: 0o755 },
      );
      login = spawn(process.execPath, [CLI, 'login', '--timeout', '90'], {
        env: { ...sb.env, BROWSER: browserScript, LOGIN_URL_FILE: urlFile },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      login.stdout.on('data', (d) => (stdout += d));
      login.stderr.on('data', (d) => (stderr += d));
      const loginExit = new Promise((resolve) => login.on('close', (code) => resolve(code)));

      for (let i = 0; i < 300 && !existsSync(urlFile); i++) await sleep(50);
      assert.ok(existsSync(urlFile), `$BROWSER was called (login stderr: ${stderr})`);
      // The browser's command line (readable by every user) gets a private page, not the authorization
      // URL with its state and code_challenge: a 0600 file in the agent's 0700 socket directory.
      const url = readFileSync(urlFile, 'utf8').trim();
      assert.ok(url.startsWith('file://'), `a file:// page (${url})`);
      pagePath = fileURLToPath(url);
      assert.equal(dirname(pagePath), dirname(sb.socketPath));
      assert.equal(statSync(pagePath).mode & 0o777, 0o600);
      assert.equal(statSync(dirname(pagePath)).mode & 0o777, 0o700);
      assert.match(
        readFileSync(pagePath, 'utf8'),
        new RegExp(`url=${sb.provider.issuer.replace(/[.]/g, '\\.')}/auth\\?`),
      );
      for (let i = 0; i < 100 && !stderr.includes('browser window'); i++) await sleep(20);
      assert.doesNotMatch(stderr, /\/auth\?/, 'nor is the URL printed when the browser opened');

      const userDataDir = join(sb.dir, 'chromium-profile');
      context = await chromium.launchPersistentContext(userDataDir, {
        executablePath: CHROMIUM,
        headless: true,
        args: CHROMIUM_ARGS,
        viewport: { width: 800, height: 500 },
        timeout: 30_000,
      });
      const blocked = [];
      await context.route('**/*', (route) => {
        if (route.request().url().startsWith('file:') || isLoopback(route.request().url()))
          return route.continue();
        blocked.push(new URL(route.request().url()).hostname);
        return route.abort('blockedbyclient');
      });
      const page = context.pages()[0] ?? (await context.newPage());
      page.setDefaultTimeout(20_000);

      // The provider's sign-in page: any login and password.
      await page.goto(url);
      await page.locator('input[name="login"]').fill('alice');
      await page.locator('input[name="password"]').fill('correct horse');
      await Promise.all([
        page.waitForURL(/\/interaction\//),
        page.locator('button[type="submit"]').click(),
      ]);
      // The consent page.
      const consent = page.locator('button[type="submit"]', { hasText: 'Continue' });
      await consent.waitFor();
      await Promise.all([page.waitForURL((u) => u.href.startsWith(redirect)), consent.click()]);
      await page.waitForLoadState('load');

      // The agent's callback page.
      const callback = new URL(page.url());
      assert.equal(
        `${callback.origin}${callback.pathname}`,
        redirect,
        'the browser landed on the agent loopback callback',
      );
      const code = callback.searchParams.get('code');
      assert.ok(code, 'with an authorization code');
      sb.rememberSecret(code);
      assert.equal(await page.title(), 'kms-agent: Logged in');
      assert.equal(await page.locator('h1').innerText(), 'Logged in');
      assert.equal(
        await page.locator('p').innerText(),
        'kms-agent is logged in to profile local as alice@example.com. You can close this tab.',
      );
      mkdirSync(join(ROOT, 'test-output'), { recursive: true });
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
      assert.ok(
        readFileSync(SCREENSHOT).subarray(1, 4).toString() === 'PNG',
        'a PNG screenshot was saved',
      );
      console.log(
        `screenshot: ${SCREENSHOT}; requests blocked (not loopback): ${[...new Set(blocked)].join(', ') || 'none'}`,
      );

      // `kms-agent login` saw the login complete; a token is served.
      assert.equal(await loginExit, 0, `kms-agent login exit code (stderr: ${stderr})`);
      sb.logs.push(stderr);
      assert.match(stdout, /^logged in to profile local as alice@example\.com$/m);
      const t = await sb.token();
      assert.equal(t.code, 0, t.stderr);
      assert.match(t.stdout, /^eyJ[\w-]+\.[\w-]+\.[\w-]+\n$/);
      assert.equal(sb.provider.stats.grants.authorization_code, 1);
      assert.equal(existsSync(pagePath), false, 'the private page is removed when the login ends');
    } finally {
      await context?.close().catch(() => {});
      if (login && login.exitCode === null) login.kill('SIGKILL');
      await sb.close();
    }
  },
);
