// Crashes (issue 4): kill -9 the agent at random moments of a refresh-heavy workload with refresh
// token rotation, 50 times. After each kill: every store file parses (never half-written), the stale
// socket is replaced by the next start, and that start either serves a token with the stored login
// or says exactly why not. A lost login is only acceptable inside the documented window (a refresh
// the provider answered, whose rotated token the agent had not stored yet); a preload of the test's (test/support/slowStoreWrites.cjs) widens that
// window to show both sides of it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AgentClient } from '../../dist/client/fast/agentClient.js';
import { CLI, startForeground, storeFileOf } from '../support/harness.mjs';
import {
  exited,
  loginViaRpc,
  makeIsolatedSandbox,
  sleep,
  stopChild,
  withSandbox,
} from '../support/reliability.mjs';

const KILLS = 50;
const SLOW_WRITES = fileURLToPath(new URL('../support/slowStoreWrites.cjs', import.meta.url));
/**
 * Every WIDEN_EVERY-th kill lands inside the window the preload widens. The kill cuts the pause
 * short, so a long one costs nothing and leaves room for a test process that stalls.
 */
const WIDEN_EVERY = 10;
const WIDEN_MS = 2000;
/** Every STARTUP_EVERY-th kill lands while the agent is starting. */
const STARTUP_EVERY = 7;

test(
  `crashes: ${KILLS} kill -9 during refreshes with rotation; no torn store, stale socket replaced, logins kept outside the window`,
  { timeout: 200_000 },
  async (t) => {
    // 60 s tokens, every request asks for 60 s of validity: each one is a refresh, each refresh rotates.
    const sb = await makeIsolatedSandbox({
      provider: { accessTokenTtl: 60, rotateRefreshToken: true },
      profile: { store: 'file' },
      env: { DBUS_SESSION_BUS_ADDRESS: undefined },
    });
    const storeDir = join(sb.dir, 'state', 'kms-agent');
    const grantFile = storeFileOf(sb);

    // The provider's view: every refresh token presented, in order, since the last reset.
    let presented = [];
    let onRefresh = () => undefined;
    sb.provider.setFault((ctx) => {
      if (
        ctx.method === 'POST' &&
        ctx.path === '/token' &&
        ctx.state.grantType === 'refresh_token'
      ) {
        presented.push(new URLSearchParams(ctx.request.body).get('refresh_token'));
        onRefresh();
      }
      return undefined;
    });

    /** Every store file must parse: a torn write would show here. */
    function storeFiles() {
      const names = existsSync(storeDir) ? readdirSync(storeDir) : [];
      const grants = names
        .filter((n) => n.endsWith('.json'))
        .map((n) => {
          const text = readFileSync(join(storeDir, n), 'utf8');
          let grant;
          assert.doesNotThrow(
            () => (grant = JSON.parse(text)),
            `${n} parses: ${JSON.stringify(text.slice(0, 80))}`,
          );
          assert.equal(typeof grant.refresh_token, 'string', `${n} holds a refresh token`);
          assert.ok(grant.refresh_token.length > 10);
          assert.equal(typeof grant.saved_at, 'number');
          return grant;
        });
      return { grants, temps: names.filter((n) => n.endsWith('.tmp')) };
    }

    const figures = {
      kills: 0,
      startupKills: 0,
      widenedKills: 0,
      keptLogins: 0,
      lostInWindow: 0,
      lostInWidenedWindow: 0,
      lostOutsideWindow: [],
      answeredBeforeStored: 0,
      staleSocketsReplaced: 0,
      tornFiles: 0,
      leftoverTemps: 0,
      requestsAnswered: 0,
    };
    let agent;
    const seenTemps = new Set();
    let lastKill; // what the previous kill left behind, to judge the next start by
    await withSandbox(
      sb,
      t,
      async () => {
        for (let i = 0; i < KILLS; i++) {
          const widen = i % WIDEN_EVERY === WIDEN_EVERY - 1;
          const duringStartup = !widen && i % STARTUP_EVERY === STARTUP_EVERY - 1;
          // Widened: the agent's store writes pause halfway (a preload of the test's, test/support/slowStoreWrites.cjs).
          const env = widen
            ? { NODE_OPTIONS: `--require ${SLOW_WRITES}`, SLOW_STORE_WRITES_MS: String(WIDEN_MS) }
            : {};

          // The previous agent died by SIGKILL: its socket file is still there, and nobody answers on it.
          const staleSocket = existsSync(sb.socketPath) && lstatSync(sb.socketPath).isSocket();

          if (duringStartup && lastKill) {
            // A kill while the agent is still starting (reading config, binding, or just bound).
            const child = spawn(process.execPath, [CLI, 'start', '--foreground'], {
              env: { ...sb.env, ...env },
              stdio: 'ignore',
            });
            await sleep(randomInt(0, 400));
            child.kill('SIGKILL');
            await exited(child);
            figures.kills++;
            figures.startupKills++;
            storeFiles();
            // Nothing was refreshing: the login must survive, judged at the next start like any other kill.
            lastKill = { ...lastKill, startup: true };
            continue;
          }

          agent = await startForeground(sb, [], env);
          if (staleSocket) figures.staleSocketsReplaced++;
          const client = await AgentClient.connect(sb.socketPath);

          // The next start after a kill: the stored login works, or the agent says exactly why not.
          let first;
          try {
            first = await client.call('token.get', { min_valid: 60 });
            sb.rememberSecret(first.token);
            if (lastKill) figures.keptLogins++;
          } catch (err) {
            assert.equal(
              err.reason,
              'LOGIN_REQUIRED',
              `after kill ${i}: a token or LOGIN_REQUIRED, got ${err.reason}: ${err.message}`,
            );
            assert.match(
              err.message,
              /^(the login of profile local ended: the provider no longer accepts its refresh token \(.*\)|not logged in to profile local): run `kms-agent login --profile local`$/,
            );
            if (lastKill === undefined) {
              // The very first start: log in.
            } else if (lastKill.inWindow) {
              if (lastKill.widened) figures.lostInWidenedWindow++;
              else figures.lostInWindow++;
            } else {
              figures.lostOutsideWindow.push(`kill ${i - 1}: ${lastKill.why}`);
            }
            await loginViaRpc(sb);
            first = await client.call('token.get', { min_valid: 60 });
            sb.rememberSecret(first.token);
          }

          // The workload: one client refreshing back to back (each refresh rotates the refresh token).
          presented = [];
          let answered = 0;
          let running = true;
          const workload = (async () => {
            while (running) {
              try {
                const reply = await client.call('token.get', { min_valid: 60 });
                sb.rememberSecret(reply.token);
                answered++;
              } catch {
                return; // the agent was killed
              }
            }
          })();

          if (widen) {
            // Kill once a refresh reached the provider and the agent is pausing halfway through writing
            // its answer's rotated token (the temp file has appeared).
            await new Promise((resolve) => (onRefresh = resolve));
            onRefresh = () => undefined;
            const tempsBefore = new Set(storeFiles().temps);
            for (
              let waited = 0;
              waited < 5000 && storeFiles().temps.every((n) => tempsBefore.has(n));
              waited += 5
            )
              await sleep(5);
          } else {
            await sleep(randomInt(0, 500));
          }
          agent.child.kill('SIGKILL');
          await exited(agent.child);
          running = false;
          await workload;
          client.close();
          figures.kills++;
          if (widen) figures.widenedKills++;
          figures.requestsAnswered += answered;

          // Never half-written: every store file parses; at most temp files are left over.
          const { grants, temps } = storeFiles();
          const newTemps = temps.filter((n) => !seenTemps.has(n));
          newTemps.forEach((n) => seenTemps.add(n));
          figures.leftoverTemps += newTemps.length;
          assert.equal(grants.length, 1, 'one grant file');
          const stored = JSON.parse(readFileSync(grantFile, 'utf8')).refresh_token;
          sb.rememberSecret(stored);

          // Where was the agent when it died? `presented` lists the refresh tokens the provider received
          // during the workload, one per refresh; `answered` counts the refreshes the client got back.
          const index = presented.indexOf(stored); // 0-based refresh that used the stored token
          if (index === -1) {
            // The stored token was never used: the newest, so the login must survive.
            lastKill = {
              inWindow: false,
              why: 'the stored refresh token was never used, yet the login was lost',
            };
          } else if (index < answered) {
            // The client was answered for the refresh that consumed the stored token: answered before stored.
            figures.answeredBeforeStored++;
            lastKill = {
              inWindow: false,
              why: `refresh ${index + 1} was answered before its rotated token was stored`,
            };
          } else {
            // The refresh in flight had presented the stored token: inside the window.
            lastKill = { inWindow: true, widened: widen, why: 'in flight' };
          }
          if (widen) {
            // Killed halfway through writing the rotated token: the client has not been answered, the
            // grant file is whole (the old token), only the temp file is torn.
            assert.notEqual(
              index,
              -1,
              `kill ${i}: the grant file holds the token of the refresh in flight, not an older one (each rotated token is stored before the next refresh)`,
            );
            assert.ok(
              index >= answered,
              `kill ${i}: the client was answered (${answered} answers) before the rotated token of refresh ${index + 1} was stored`,
            );
            assert.equal(
              newTemps.length,
              1,
              `kill ${i}: one half-written temp file is left, the grant file is whole`,
            );
          }
        }

        // The last kill is judged by one more start; then the stale socket is replaced once more.
        agent = await startForeground(sb);
        try {
          const reply = await sb.rpc('token.get', { min_valid: 60 });
          sb.rememberSecret(reply.token);
          figures.keptLogins++;
        } catch (err) {
          assert.equal(err.reason, 'LOGIN_REQUIRED');
          if (lastKill.inWindow)
            figures[lastKill.widened ? 'lostInWidenedWindow' : 'lostInWindow']++;
          else figures.lostOutsideWindow.push(`last kill: ${lastKill.why}`);
          await loginViaRpc(sb);
        }

        // Logout leaves no refresh token on disk, not even in a temp file a crash left behind.
        writeFileSync(
          `${grantFile}.0123456789ab.tmp`,
          JSON.stringify({ refresh_token: 'left-over-by-a-crash', saved_at: 1 }),
          { mode: 0o600 },
        );
        const out = await sb.cli(['logout']);
        assert.equal(out.code, 0, out.stderr);
        assert.deepEqual(
          readdirSync(storeDir).filter((n) => n.endsWith('.json') || n.endsWith('.tmp')),
          [],
          'logout removed the grant and any temp file',
        );

        const summary =
          `kills ${figures.kills} (${figures.startupKills} during start-up, ${figures.widenedKills} inside the widened window), ` +
          `stale sockets replaced ${figures.staleSocketsReplaced}, logins kept ${figures.keptLogins}, ` +
          `lost inside the window ${figures.lostInWindow} (+${figures.lostInWidenedWindow} of ${figures.widenedKills} widened, expected), lost outside it ${figures.lostOutsideWindow.length}, ` +
          `answered before stored ${figures.answeredBeforeStored}, torn store files 0, leftover temp files ${figures.leftoverTemps}, refreshes answered ${figures.requestsAnswered}`;
        t.diagnostic(summary);
        console.log(`# crashes: ${summary}`);
        assert.deepEqual(
          figures.lostOutsideWindow,
          [],
          'no login lost outside the documented window',
        );
        assert.equal(
          figures.answeredBeforeStored,
          0,
          'no client answered before the rotated refresh token was stored',
        );
        assert.equal(
          figures.lostInWidenedWindow,
          figures.widenedKills,
          'a kill between receiving and storing a rotated token does lose that login (the documented window)',
        );
        assert.ok(
          figures.staleSocketsReplaced >= KILLS - 2 * figures.startupKills - 1,
          `stale sockets replaced: ${figures.staleSocketsReplaced}`,
        );
      },
      () => stopChild(agent?.child),
    );
  },
);
