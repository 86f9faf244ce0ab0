// The audit (issue 22, docs/protocol.md `audit.list`): every token.get outcome, with who asked (pid,
// uid, executable from the kernel and /proc), through which socket, for what, and what happened;
// the last 1,000 in memory, each run's first in the log at once and its repeats when it ends;
// per-profile counters in status; never a token.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { AgentClient } from '../dist/client/fast/agentClient.js';
import { AUDIT_CAPACITY, AuditLog } from '../dist/daemon/control/auditLog.js';
import { logRecords } from './support/harness.mjs';
import { loginViaRpc, makeIsolatedSandbox, sleep, withSandbox } from './support/reliability.mjs';

test('kms-agent audit: who got which token, through which socket, how often; in the log and the counters; never a token', async (t) => {
  const sb = await makeIsolatedSandbox({ profile: { store: 'memory' } });
  await withSandbox(sb, t, async () => {
    assert.equal((await sb.cli(['start'])).code, 0);
    await loginViaRpc(sb);
    const printed = await sb.token();
    assert.equal(printed.code, 0, printed.stderr);

    // One connection asking 50 times in a row: one record, counted.
    const client = await AgentClient.connect(sb.socketPath);
    const replies = await Promise.all(
      Array.from({ length: 50 }, () => client.call('token.get', { kind: 'access' })),
    );
    const unknown = await client.call('token.get', { profile: 'nope' }).catch((e) => e);
    assert.equal(unknown.reason, 'UNKNOWN_PROFILE');
    client.close();
    await sleep(100);

    const shown = await sb.cli(['audit', '--json']);
    assert.equal(shown.code, 0, shown.stderr);
    const entries = JSON.parse(shown.stdout);
    const [viaCli, pipelined, failed] = entries;
    assert.equal(entries.length, 3, shown.stdout);
    assert.equal(viaCli.outcome, 'served');
    assert.equal(viaCli.profile, 'local');
    assert.equal(viaCli.via, 'agent');
    assert.equal(viaCli.uid, process.getuid());
    assert.notEqual(viaCli.pid, process.pid, 'the CLI process, not this one');
    assert.equal(viaCli.exe, process.execPath, 'its executable, from /proc/PID/exe');
    assert.deepEqual(
      { pid: pipelined.pid, kind: pipelined.kind, count: pipelined.count },
      { pid: process.pid, kind: 'access', count: 50 },
    );
    assert.ok(pipelined.last_time >= pipelined.time);
    assert.deepEqual(
      { outcome: failed.outcome, reason: failed.reason, profile: failed.profile },
      { outcome: 'failed', reason: 'UNKNOWN_PROFILE', profile: 'nope' },
    );

    const text = await sb.cli(['audit', '--last', '2']);
    const lines = text.stdout.trim().split('\n');
    assert.equal(lines.length, 2, text.stdout);
    assert.match(lines[0], /served ×50 {2}local access {2}pid \d+ uid 0 \S+ {2}via agent$/);
    assert.match(lines[1], /failed \(UNKNOWN_PROFILE\) {2}nope auto/);

    const status = JSON.parse((await sb.cli(['status', '--json'])).stdout);
    assert.deepEqual(status.profiles[0].counters, {
      served: 51,
      refreshed: 0,
      refused: 0,
      failed: 0,
    });

    // The log: each run's first at once, the 49 repeats when the run ended (another request).
    const logged = logRecords(sb).filter((r) => r.msg?.startsWith('token.get'));
    assert.deepEqual(
      logged.map((r) => [r.msg, r.outcome, r.repeats]),
      [
        ['token.get', 'served', undefined],
        ['token.get', 'served', undefined],
        ['token.get repeated', 'served', 49],
        ['token.get', 'failed', undefined],
      ],
    );
    assert.equal(logged[1].pid, process.pid);
    assert.equal(logged[1].level, 30, 'at info');

    const tokens = [printed.stdout.trim(), replies[0].token];
    for (const where of [shown.stdout, text.stdout, readFileSync(sb.logPath, 'utf8')])
      for (const token of tokens) assert.ok(!where.includes(token), 'never a token');
  });
});

/** A connection as the audit sees one. */
const connection = (pid) => ({ peer: { pid, uid: 1000, exe: '/usr/bin/curl' }, via: 'agent' });

test('the audit keeps the last 1,000 outcomes, one record per run of repeats of a process', () => {
  const logged = [];
  const log = { info: (fields, msg) => logged.push({ ...fields, msg }) };
  const audit = new AuditLog(log, (name) => name === 'p');
  const a = connection(1);
  const b = connection(2);
  for (let i = 0; i < 3; i++) audit.record(a, 'p', 'access', undefined, undefined, 'served');
  audit.record(b, 'p', 'access', undefined, undefined, 'served');
  audit.record(a, 'p', 'access', undefined, undefined, 'served');
  audit.record(a, 'p', 'id', undefined, undefined, 'served');
  audit.record(a, 'other', 'id', undefined, undefined, 'failed', 'UNKNOWN_PROFILE');
  assert.deepEqual(
    audit.list().map((e) => [e.pid, e.kind, e.count]),
    [
      [1, 'access', 4],
      [2, 'access', 1],
      [1, 'id', 1],
      [1, 'id', 1],
    ],
    "a's run goes on across b's request from another process; a new request ends it",
  );
  // A process that connects for each request is one run; without a pid, each connection is.
  audit.record(connection(7), 'p', 'access', undefined, undefined, 'served');
  audit.record(connection(7), 'p', 'access', undefined, undefined, 'served');
  const unknown = [connection(-1), connection(-1)];
  for (const c of [...unknown, ...unknown])
    audit.record(c, 'p', 'access', undefined, undefined, 'served');
  audit.closed(unknown[1]);
  assert.deepEqual(
    audit
      .list()
      .slice(-3)
      .map((e) => [e.pid, e.count]),
    [
      [7, 2],
      [-1, 2],
      [-1, 2],
    ],
    'each connection without a pid its own run',
  );
  assert.equal(logged.at(-1).repeats, 1, "the closed connection's repeat is logged");
  assert.equal(logged.filter((l) => l.msg === 'token.get repeated')[0].repeats, 3);
  assert.deepEqual(audit.countersOf('p'), { served: 12, refreshed: 0, refused: 0, failed: 0 });
  assert.deepEqual(audit.countersOf('other'), { served: 0, refreshed: 0, refused: 0, failed: 0 });

  for (let i = 0; i < 1500; i++)
    audit.record(connection(100 + i), 'p', 'access', undefined, undefined, 'served');
  const kept = audit.list();
  assert.equal(kept.length, AUDIT_CAPACITY);
  assert.equal(kept[0].pid, 100 + 500, 'the oldest kept is the 1,000th from the end');
  assert.equal(audit.list('p', 10).length, 10);
  // A connection whose record was overwritten meanwhile starts a new one.
  audit.record(a, 'p', 'id', undefined, undefined, 'failed', 'UNKNOWN_PROFILE');
  assert.equal(audit.list().at(-1).count, 1);
});
