// Autostart race (issue 10): many `kms-agent token` started at once with no agent running (make -j,
// CI matrices, shells opened together) each launch a daemon. Exactly one agent must come out of it,
// every client must be served, and the daemons that lost must exit quietly (no crash in agent.log).
// 50 clients, 10 rounds; between rounds the agent is stopped, or killed with SIGKILL so that every
// starter meets its stale socket (two starters must not both replace it: one would unlink the other's
// fresh socket and leave an agent nobody can reach). The login is kept in the file store.
// About 1 to 3 s a round on two cores: 50 CLI processes, and up to 50 daemons, start each round.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { allCommandLines } from '../support/processes.mjs';
import { loginViaRpc, makeIsolatedSandbox, sleep, withSandbox } from '../support/reliability.mjs';
import { processAlive } from '../../dist/os/processAlive.js';

const CLIENTS = 50;
const ROUNDS = 10;

/** The daemon processes serving this socket, as /proc shows them. */
function daemonsOn(socketPath) {
  return allCommandLines().filter(
    (p) =>
      p.args.some((a) => a.endsWith('dist/daemon/daemon.cjs')) &&
      p.args[p.args.indexOf('--socket') + 1] === socketPath,
  );
}

/** Waits (bounded) until no more than one daemon is left: the losers exit right after reporting. */
async function settledDaemons(socketPath) {
  let daemons = daemonsOn(socketPath);
  for (let waited = 0; daemons.length > 1 && waited < 10_000; waited += 50) {
    await sleep(50);
    daemons = daemonsOn(socketPath);
  }
  return daemons;
}

test(
  `autostart race: ${CLIENTS} clients at once, ${ROUNDS} rounds, each round one agent and every client served`,
  { timeout: 300_000 },
  async (t) => {
    const sb = await makeIsolatedSandbox({
      profile: { store: 'file' },
      env: { DBUS_SESSION_BUS_ADDRESS: undefined },
    });
    await withSandbox(sb, t, async () => {
      let r = await sb.cli(['start']);
      assert.equal(r.code, 0, r.stderr);
      await loginViaRpc(sb);
      r = await sb.cli(['stop']);
      assert.equal(r.code, 0, r.stderr);

      const figures = { served: 0, failed: [], daemonsPerRound: [], roundMs: [], staleRounds: 0 };
      for (let round = 1; round <= ROUNDS; round++) {
        const stale = round % 2 === 0;
        if (stale) {
          figures.staleRounds++;
          assert.ok(
            lstatSync(sb.socketPath).isSocket(),
            `round ${round}: the killed agent's socket is there`,
          );
        } else {
          assert.equal(existsSync(sb.socketPath), false, `round ${round}: no agent before it`);
        }
        const started = performance.now();
        const results = await Promise.all(Array.from({ length: CLIENTS }, () => sb.token()));
        figures.roundMs.push(Math.round(performance.now() - started));
        for (const res of results) {
          if (res.code === 0 && /^[\w-]+\.[\w-]+\.[\w-]+\n$/.test(res.stdout)) figures.served++;
          else figures.failed.push(`round ${round}: exit ${res.code}: ${res.stderr.trim()}`);
        }
        const daemons = await settledDaemons(sb.socketPath);
        figures.daemonsPerRound.push(daemons.length);
        assert.equal(
          daemons.length,
          1,
          `round ${round}: exactly one daemon left: ${JSON.stringify(daemons)}`,
        );
        assert.equal(
          (await sb.rpc('agent.status', {})).pid,
          daemons[0].pid,
          `round ${round}: and it is the agent that answers`,
        );
        if (round % 2 === 1) {
          process.kill(daemons[0].pid, 'SIGKILL');
          for (let waited = 0; processAlive(daemons[0].pid) && waited < 5000; waited += 20)
            await sleep(20);
        } else {
          r = await sb.cli(['stop']);
          assert.equal(r.code, 0, r.stderr);
        }
      }
      t.diagnostic(
        `served ${figures.served} of ${CLIENTS * ROUNDS} (${figures.staleRounds} rounds over a stale socket); daemons left per round ${figures.daemonsPerRound.join(' ')}; round ms ${figures.roundMs.join(' ')}`,
      );
      assert.deepEqual(figures.failed, [], 'every client was served');
      assert.equal(figures.served, CLIENTS * ROUNDS);

      // The losers said nothing: agent.log holds only the winners' JSON lines, none an error.
      const log = readFileSync(sb.logPath, 'utf8').split('\n').filter(Boolean);
      const notJson = log.filter((line) => !line.startsWith('{'));
      assert.deepEqual(
        notJson.slice(0, 5),
        [],
        'no crash trace (sonic boom, EADDRINUSE, …) in agent.log',
      );
      const errors = log.map((line) => JSON.parse(line)).filter((entry) => entry.level >= 50);
      assert.deepEqual(errors, [], 'no error logged');
      assert.equal(
        log.filter((line) => line.includes('"msg":"agent started"')).length,
        ROUNDS + 1,
        'one agent started per round (and one for the login)',
      );
    });
  },
);

/**
 * A process holding the user's agent lock as an agent does (flock, record naming `socketPath`),
 * without listening there: an agent caught between taking the lock and binding its socket.
 */
async function holdAgentLock(sb) {
  const lockModule = new URL('../../dist/daemon/agentLock.js', import.meta.url).href;
  const script = `const { takeAgentLock } = await import(${JSON.stringify(lockModule)});
await takeAgentLock(process.argv[1], { socket: process.argv[2], config: process.argv[3] });
process.stdout.write('held\\n');
setInterval(() => {}, 1000);`;
  const lockPath = join(sb.dir, 'state', 'kms-agent', 'agent.lock');
  const args = ['--input-type=module', '-e', script, lockPath, sb.socketPath, sb.configPath];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve, reject) => {
    child.stdout.once('data', resolve);
    child.once('exit', (code) => reject(new Error(`the lock holder exited (${code})`)));
  });
  child.removeAllListeners('exit');
  return child;
}

async function killed(child) {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

const lockTest = 'the agent lock: starters wait for its holder, free once it dies, losers quiet';
test(lockTest, { timeout: 120_000 }, async (t) => {
  const sb = await makeIsolatedSandbox({
    profile: { store: 'memory' },
    env: { DBUS_SESSION_BUS_ADDRESS: undefined },
  });
  const lockPath = join(sb.dir, 'state', 'kms-agent', 'agent.lock');
  const tokenInBackground = () => {
    const running = sb.token();
    running.done = false;
    running.then(() => (running.done = true));
    return running;
  };
  await withSandbox(sb, t, async () => {
    mkdirSync(dirname(sb.socketPath), { mode: 0o700 });

    await t.test('a live holder: the starter waits, binds nothing; once killed, go', async () => {
      const holder = await holdAgentLock(sb);
      const client = tokenInBackground();
      await sleep(1500);
      assert.equal(client.done, false, 'the client is still waiting for its agent');
      assert.equal(existsSync(sb.socketPath), false, 'nobody bound the socket while it was held');
      assert.equal(daemonsOn(sb.socketPath).length, 1, 'its daemon is waiting');
      await killed(holder);
      const r = await client;
      assert.equal(
        r.code,
        5,
        `served by the agent once the lock was free (not logged in): ${r.stderr}`,
      );
      const { pid } = await sb.rpc('agent.status', {});
      const lock = () => readFileSync(lockPath, 'utf8');
      assert.equal(JSON.parse(lock()).pid, pid, 'the lock names the new agent');
      assert.equal((await sb.cli(['stop'])).code, 0);
      assert.equal(lock(), '', 'a stopped agent leaves the lock file empty');
    });

    await t.test(
      'twenty starters released at once over a stale socket: one binds, the others find it and exit quietly',
      async () => {
        const dies =
          "require('net').createServer().listen(process.argv[1], () => process.kill(process.pid, 9))";
        const killedAgent = spawnSync(process.execPath, ['-e', dies, sb.socketPath]);
        assert.equal(killedAgent.signal, 'SIGKILL');
        assert.ok(lstatSync(sb.socketPath).isSocket(), 'a stale socket, nobody listening');
        const holder = await holdAgentLock(sb);
        const clients = Array.from({ length: 20 }, () => tokenInBackground());
        for (let waited = 0; daemonsOn(sb.socketPath).length < 20 && waited < 20_000; waited += 50)
          await sleep(50);
        assert.equal(
          daemonsOn(sb.socketPath).length,
          20,
          'every client launched a daemon, all waiting',
        );
        await killed(holder);
        const results = await Promise.all(clients);
        assert.deepEqual(
          results.map((r) => r.code),
          Array(20).fill(5),
          results.map((r) => r.stderr).join(''),
        );
        const daemons = await settledDaemons(sb.socketPath);
        assert.equal(daemons.length, 1, 'one agent left');
        assert.equal(
          (await sb.rpc('agent.status', {})).pid,
          daemons[0].pid,
          'and it owns the socket',
        );
        const log = readFileSync(sb.logPath, 'utf8');
        const started = log.split('\n').filter((l) => l.includes('"msg":"agent started"'));
        assert.equal(started.length, 2, 'the losers loaded and logged nothing');
        assert.ok(
          log
            .split('\n')
            .filter(Boolean)
            .every((l) => l.startsWith('{')),
          'no crash trace',
        );
      },
    );
  });
});
