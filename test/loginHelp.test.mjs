// A login never just waits: with no way to open a browser it uses the device flow by itself (when
// the profile has one) or says at once how to log in from here; on a terminal, a browser login
// that does not come back says after 20 s what the browser may be showing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { playDeviceLogin } from '../dist/demo/browserPlayer.js';
import { LOCAL_PUBLIC_CLIENT_ID } from '../dist/demo/localProvider.js';
import { loginDevice } from './support/deviceLogin.mjs';
import { CLI, makeSandbox } from './support/harness.mjs';
import { hasCommand } from './support/processes.mjs';

/** No display and no $BROWSER: an SSH session or a server. An empty BROWSER is none. */
const HEADLESS = { DISPLAY: undefined, WAYLAND_DISPLAY: undefined, BROWSER: '' };

test('no display and no $BROWSER, a provider with device flow: login uses it by itself, says so, and logs in', async (t) => {
  const sb = await makeSandbox({ provider: { deviceInterval: 1 }, profile: { store: 'memory' } });
  try {
    const login = loginDevice(sb, [], { device: false, env: HEADLESS });
    const link = await login.link;
    await playDeviceLogin(link, { login: 'dora' });
    const done = await login.exit;
    assert.equal(done.code, 0, done.stderr);
    assert.equal(done.stdout, 'logged in to profile local as dora@example.com\n');
    const said =
      'Cannot open a browser here: no display is available (DISPLAY and WAYLAND_DISPLAY are unset) and BROWSER is not set; logging in with the device flow instead.';
    assert.equal(done.stderr.split('\n')[0], said);
    assert.match(
      done.stderr,
      /open this page on any device:\n {2}http:\/\/127\.0\.0\.1:\d+\/device\n/,
    );
    assert.equal(
      sb.provider.stats.grants['urn:ietf:params:oauth:grant-type:device_code'] >= 1,
      true,
      'the device grant was used',
    );
    assert.equal(sb.provider.stats.grants.authorization_code, undefined, 'no browser login');
    t.diagnostic(said);
  } finally {
    await sb.close();
  }
});

test('no display, no $BROWSER and no device flow: login says at once how to log in from here, and exits 3', async (t) => {
  const sb = await makeSandbox({
    config: (issuer) =>
      `[profiles.plain]\nclient_id = "${LOCAL_PUBLIC_CLIENT_ID}"\nauthorize_url = "${issuer}/auth"\ntoken_url = "${issuer}/token"\nstore = "memory"\n`,
  });
  try {
    const started = Date.now();
    const r = await sb.cli(['login'], { env: HEADLESS });
    assert.equal(r.code, 3, r.stderr);
    assert.ok(
      Date.now() - started < 10_000,
      `answered at once (${Date.now() - started} ms), not after a login timeout`,
    );
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(
      lines[0],
      'kms-agent: cannot log in to profile plain from here: no display is available (DISPLAY and WAYLAND_DISPLAY are unset) and BROWSER is not set, and the profile has no device flow. Instead:',
    );
    assert.ok(
      lines.some(
        (l) =>
          l.includes(`\`ssh -L 17899:localhost:17899 ${hostname()}\``) &&
          l.includes('`kms-agent login --no-browser --profile plain`'),
      ),
      r.stderr,
    );
    assert.ok(
      lines.some((l) => l.includes('set BROWSER to a program')),
      r.stderr,
    );
    assert.ok(
      lines.some((l) => l.includes('`kms-agent login --device --profile plain`')),
      r.stderr,
    );
    assert.doesNotMatch(r.stderr, /Waiting for the login/);
    assert.doesNotMatch(r.stderr, /code_challenge|state=/, 'no authorization URL');
    // The probe login that gave the redirect port is gone: nothing pending, the port is free.
    const status = await sb.rpc('agent.status', {});
    assert.equal(status.profiles[0].login_pending, undefined);
    t.diagnostic(r.stderr.trimEnd());
  } finally {
    await sb.close();
  }
});

test('login --no-browser prints the URL and the ssh -L line that lets a browser elsewhere finish it', async () => {
  const sb = await makeSandbox({ profile: { store: 'memory' } });
  try {
    const r = await sb.cli(['login', '--no-browser', '--timeout', '1'], { env: HEADLESS });
    assert.equal(r.code, 4, r.stderr);
    assert.match(
      r.stderr,
      /^Log in to profile local in your browser:\n {2}http:\/\/127\.0\.0\.1:\d+\/auth\?/,
    );
    assert.ok(
      r.stderr.includes(
        `Open the URL above in a browser on this machine, or on another one connected with \`ssh -L 17899:localhost:17899 ${hostname()}\`.`,
      ),
      r.stderr,
    );
    assert.match(r.stderr, /not completed within 1 s: run `kms-agent login --profile local` again/);
  } finally {
    await sb.close();
  }
});

/** Runs `kms-agent ARGS` on a pseudo-terminal (util-linux `script`); resolves with its exit code and the terminal's text. */
function onTerminal(sb, args, env) {
  return new Promise((resolve) => {
    const command = [process.execPath, CLI, ...args].join(' ');
    const child = spawn('script', ['-q', '-e', '-c', command, '/dev/null'], {
      env: { ...sb.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let text = '';
    child.stdout.on('data', (d) => (text += d));
    child.stderr.on('data', (d) => (text += d));
    child.on('close', (code) => {
      sb.logs.push(text);
      resolve({ code, text });
    });
  });
}

test(
  'on a terminal, a browser login that does not come back says after 20 s what the browser may show',
  { skip: !hasCommand('script') && 'needs script (util-linux)', timeout: 60_000 },
  async (t) => {
    const sb = await makeSandbox({ profile: { store: 'memory' } });
    try {
      // A browser that opens nothing: as if it showed the provider's error page and stayed there.
      const r = await onTerminal(sb, ['login', '--timeout', '23'], {
        ...HEADLESS,
        BROWSER: 'true',
      });
      assert.equal(r.code, 4, r.text);
      const lines = r.text
        .replace(/\r\n/g, '\n')
        .split(/[\r\n]/)
        .map((l) => l.replace('\x1b[K', ''));
      const at = lines.findIndex((l) => l.startsWith('Still waiting.'));
      assert.ok(at > 0, `the hint: ${JSON.stringify(r.text)}`);
      assert.ok(
        lines.slice(0, at).some((l) => / 1[89]s$| 2[01]s$/.test(l)),
        'shown after about 20 s of waiting',
      );
      assert.equal(
        lines[at],
        'Still waiting. If the browser shows an error page instead of a login page, this login cannot finish:',
      );
      assert.match(lines[at + 1], /"unknown client".*no client kms-agent-test; check client_id$/);
      assert.match(
        lines[at + 2],
        /"redirect_uri" mismatch or not registered: register http:\/\/localhost:17899\/authorization for this client/,
      );
      assert.match(lines[at + 3], /wrong tenant/);
      assert.equal(
        lines[at + 4],
        'Fix the profile, then run `kms-agent login` again. Ctrl-C stops the wait.',
      );
      assert.match(r.text, /the login to profile local was not completed within 23 s/);
      t.diagnostic(lines.slice(at, at + 5).join('\n'));
    } finally {
      await sb.close();
    }
  },
);

test('a $BROWSER that exits with an error: login says so at once, with the URL (issue 20, trap 3)', async () => {
  const sb = await makeSandbox({ profile: { store: 'memory' } });
  try {
    const failing = join(sb.dir, 'failing-browser.sh');
    writeFileSync(failing, '#!/bin/sh\nexit 3\n', { mode: 0o755 });
    const r = await sb.cli(['login', '--timeout', '5'], { env: { ...HEADLESS, BROWSER: failing } });
    assert.equal(r.code, 4, r.stderr);
    const lines = r.stderr.split('\n');
    const at = lines.findIndex((l) => l.startsWith('The browser command failed'));
    assert.ok(at > 0, `said before the 5 s timeout: ${r.stderr}`);
    assert.equal(
      lines[at],
      `The browser command failed (${failing} exited with code 3), so no browser may have opened.`,
    );
    assert.match(
      lines[at - 1],
      /^ {2}http:\/\/127\.0\.0\.1:\d+\/auth\?/,
      'with the URL to open by hand',
    );
    assert.match(
      lines[at + 1],
      /^Open the URL above in a browser on this machine, or on another one connected with `ssh -L 17899:localhost:17899 /,
    );
  } finally {
    await sb.close();
  }
});
