// `kms-agent demo --auto` as a newcomer runs it: to completion, narrating a token served, refreshed
// ahead of expiry and surviving a restart, and leaving nothing behind — also when interrupted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { CLI } from './support/harness.mjs';
import { daemonsUnder } from './support/processes.mjs';

const DEMO_TIMEOUT_MS = 90_000;
// A JWT's header and payload, both JSON objects: eyJ… (a random state or nonce may hold "eyJ").
const JWT_LOOKING = /eyJ[\w-]{8,}\.eyJ[\w-]{8,}/;

function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs the demo with its own TMPDIR (so its temp dir is findable and removable whatever happens),
 * resolving with its exit code and output. `onStdout(text, child)` sees the output as it grows.
 */
async function runDemo(onStdout = () => {}, args = ['--auto']) {
  const tmp = mkdtempSync(join(tmpdir(), 'kms-agent-demo-test-'));
  const home = join(tmp, 'home');
  const env = {
    PATH: process.env.PATH,
    HOME: home,
    TMPDIR: tmp,
    XDG_RUNTIME_DIR: join(tmp, 'no-runtime-dir'),
    XDG_CONFIG_HOME: join(tmp, 'xdgconfig'),
    // No BROWSER, no DISPLAY: --auto plays the login pages itself.
  };
  const child = spawn(process.execPath, [CLI, 'demo', ...args], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
    onStdout(stdout, child);
  });
  child.stderr.on('data', (d) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), DEMO_TIMEOUT_MS);
  const [code, signal] = await new Promise((resolve) =>
    child.on('close', (c, s) => resolve([c, s])),
  );
  clearTimeout(timer);
  return { tmp, code, signal, stdout, stderr };
}

/** The socket path the demo announced, and the daemon pids it named. */
function announced(stdout) {
  const socket = stdout.match(/listens on (\/\S+\.sock)\./)?.[1];
  const pids = [...stdout.matchAll(/\(pid (\d+)\)/g)].map((m) => Number(m[1]));
  return { socket, pids };
}

/** Asserts that nothing the demo started outlived it; kills (by pid) and removes whatever did. */
async function assertNothingLeft(tmp, socket, pids) {
  // A daemon told to shut down may take a moment to exit after its socket is gone.
  let left = daemonsUnder(tmp);
  for (let i = 0; i < 50 && (left.length || pids.some(isAlive)); i++) {
    await sleep(100);
    left = daemonsUnder(tmp);
  }
  const alive = pids.filter(isAlive);
  for (const { pid } of left) process.kill(pid, 'SIGKILL');
  const demoDir = socket ? dirname(dirname(socket)) : undefined;
  const demoDirLeft = demoDir ? existsSync(demoDir) : false;
  assert.deepEqual(left, [], 'no demo daemon is left running');
  assert.deepEqual(alive, [], 'the daemons the demo named have exited');
  assert.ok(demoDir?.startsWith(tmp + '/'), `the demo's temp dir ${demoDir} is under its TMPDIR`);
  assert.equal(demoDirLeft, false, `the demo removed ${demoDir}`);
  assert.deepEqual(
    readdirSync(tmp).filter((f) => f !== 'home'),
    [],
    'nothing else left in its TMPDIR',
  );
}

test(
  'kms-agent demo --auto: login, token served, refreshed before expiry, restart survived, nothing left',
  { timeout: DEMO_TIMEOUT_MS + 20_000 },
  async () => {
    let tmp;
    try {
      const run = await runDemo();
      tmp = run.tmp;
      const { stdout, stderr } = run;
      assert.equal(run.code, 0, `demo exit code (stderr: ${stderr})`);
      // The narrative, step by step.
      assert.match(
        stdout,
        /^1\. A local OpenID provider \(oidc-provider\) runs at http:\/\/127\.0\.0\.1:\d+\.$/m,
      );
      assert.match(stdout, /^2\. A private agent \(pid \d+\) listens on \/\S+\/agent\.sock\.$/m);
      assert.match(stdout, /^3\. Logging in with Authorization Code \+ PKCE\./m);
      assert.match(stdout, /^ {3}Logged in as alice@example\.com\.$/m);
      assert.match(
        stdout,
        /^4\. Token served: a \d+-character JWT for alice@example\.com, issued by http:\/\/127\.0\.0\.1:\d+, valid until/m,
      );
      const early = stdout.match(
        /^ {3}Refreshed (-?\d+) s before the old token expired: a \d+-character JWT for alice@example\.com/m,
      );
      assert.ok(early, 'the refresh is narrated');
      assert.ok(Number(early[1]) > 0, `refreshed before expiry (${early[1]} s before)`);
      assert.match(
        stdout,
        /^ {3}Refresh requests the provider saw: 1\.$/m,
        'exactly one refresh request',
      );
      assert.match(stdout, /^6\. Restarting the agent: the login must survive\.$/m);
      assert.match(
        stdout,
        /^ {3}New agent \(pid \d+\) served a \d+-character JWT for alice@example\.com/m,
      );
      assert.match(stdout, /new logins needed: 0\.$/m, 'the restart needed no new login');
      assert.match(
        stdout,
        /^Done\. Everything the demo started is stopped and its files are removed\.$/m,
      );
      // Never a token on screen (the login URL's state and PKCE challenge are not tokens).
      assert.doesNotMatch(stdout, JWT_LOOKING, 'no token on stdout');
      assert.doesNotMatch(stderr, JWT_LOOKING, 'no token on stderr');

      const { socket, pids } = announced(stdout);
      assert.equal(pids.length, 2, 'two agents: the first and the restarted one');
      assert.notEqual(pids[0], pids[1]);
      await assertNothingLeft(tmp, socket, pids);
    } finally {
      if (tmp) {
        for (const { pid } of daemonsUnder(tmp)) process.kill(pid, 'SIGKILL');
        rmSync(tmp, { recursive: true, force: true });
      }
    }
  },
);

for (const [step, agents, afterMs] of [
  ['3', 1, 0], // logging in
  // 50 ms after step 1 the agent is being started (spawned, not yet listening): it must not outlive the demo.
  ['1', null, 50],
]) {
  test(
    `kms-agent demo: Ctrl-C after step ${step} exits 130 and leaves nothing running`,
    { timeout: DEMO_TIMEOUT_MS + 20_000 },
    async () => {
      let tmp;
      try {
        let interrupted = false;
        const run = await runDemo((stdout, child) => {
          if (!interrupted && new RegExp(`^${step}\\.`, 'm').test(stdout)) {
            interrupted = true;
            setTimeout(() => child.kill('SIGINT'), afterMs);
          }
        });
        tmp = run.tmp;
        const { stdout, stderr } = run;
        assert.ok(
          interrupted,
          `the demo reached step ${step} (stdout: ${stdout}, stderr: ${stderr})`,
        );
        assert.equal(run.signal, null, 'it handled SIGINT instead of dying of it');
        assert.equal(run.code, 130, `exit code 130 after Ctrl-C (stderr: ${stderr})`);
        assert.match(
          stdout,
          /^Interrupted: stopping the demo agent and provider, removing the temporary files\.$/m,
        );
        assert.doesNotMatch(stdout, /^Done\./m);
        assert.equal(stderr.trim(), '', 'no error message for a Ctrl-C');
        assert.doesNotMatch(stdout + stderr, JWT_LOOKING, 'no token printed');
        const { socket, pids } = announced(stdout);
        if (agents) assert.equal(pids.length, agents);
        // Interrupted before it said so, the demo still used <its temp dir>/run/agent.sock.
        const demoDirs = socket
          ? []
          : readdirSync(tmp).filter((f) => f.startsWith('kms-agent-demo-'));
        await assertNothingLeft(
          tmp,
          socket ?? join(tmp, demoDirs[0] ?? 'kms-agent-demo-?', 'run', 'agent.sock'),
          pids,
        );
      } finally {
        if (tmp) {
          for (const { pid } of daemonsUnder(tmp)) process.kill(pid, 'SIGKILL');
          rmSync(tmp, { recursive: true, force: true });
        }
      }
    },
  );
}

test(
  'kms-agent demo --no-browser without a display only prints the URL: it does not play the login (issue 20, trap 9)',
  { timeout: DEMO_TIMEOUT_MS + 20_000 },
  async () => {
    let tmp;
    try {
      let waited = false;
      const run = await runDemo(
        (stdout, child) => {
          if (!waited && /^ {3}Open it in a browser here/m.test(stdout)) {
            waited = true;
            // Long enough for a played login to have been announced and done.
            setTimeout(() => child.kill('SIGINT'), 2000);
          }
        },
        ['--no-browser'],
      );
      tmp = run.tmp;
      assert.ok(
        waited,
        `the demo printed where to log in (stdout: ${run.stdout}, stderr: ${run.stderr})`,
      );
      assert.match(run.stdout, /^ {3}http:\/\/127\.0\.0\.1:\d+\/auth\?/m, 'the URL');
      assert.match(
        run.stdout,
        /^ {3}Open it in a browser here, or on another machine connected with `ssh -L \d+:localhost:\d+ \S+`; log in with any name and password\.$/m,
      );
      assert.doesNotMatch(
        run.stdout,
        /playing the login pages|Logged in as/,
        'nobody logged in but the user',
      );
      assert.equal(run.code, 130, run.stderr);
      const { socket, pids } = announced(run.stdout);
      await assertNothingLeft(tmp, socket, pids);
    } finally {
      if (tmp) {
        for (const { pid } of daemonsUnder(tmp)) process.kill(pid, 'SIGKILL');
        rmSync(tmp, { recursive: true, force: true });
      }
    }
  },
);
