// The README as a new user follows it: its first screen gives the two set-up commands, its
// command table lists every command (with logout's exit 1), and its protocol examples answer
// instead of hanging (`nc -N -U`, socat).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, makeSandbox } from './support/harness.mjs';
import { hasCommand } from './support/processes.mjs';

const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

test('the first screen gives exactly the two set-up commands, and .ci/run runs the test one', () => {
  const firstScreen = README.slice(0, README.indexOf('\n---\n'));
  const commands = firstScreen.split('\n').filter((line) => line.startsWith('./scripts/'));
  assert.deepEqual(
    commands.map((line) => line.replace(/\s+#.*$/, '')),
    [
      './scripts/setup-debian.sh demo && npm run demo',
      './scripts/setup-debian.sh test && npm test',
    ],
  );
  assert.match(
    readFileSync(join(ROOT, '.ci', 'run'), 'utf8'),
    /grep -m1 -o '\^\\\.\/scripts\/setup-debian\\\.sh test && npm test' README\.md/,
  );
});

test('the command table lists every command of --help; logout exits 1 for an unknown profile, as it says', async () => {
  const sb = await makeSandbox({ profile: { store: 'memory' } });
  try {
    const help = (await sb.cli(['--help'])).stdout;
    const names = [
      ...help
        .slice(help.indexOf('Commands:'), help.indexOf('Typical use:'))
        .matchAll(/^ {2}([a-z-]+) /gm),
    ]
      .map((m) => m[1])
      .filter((n) => n !== 'help');
    assert.ok(
      names.includes('whoami') &&
        names.includes('add') &&
        names.includes('reload') &&
        names.includes('completion'),
      names.join(' '),
    );
    const table = README.slice(README.indexOf('## Commands'));
    for (const name of names)
      assert.match(table, new RegExp(`^\\| \`${name}[ \`]`, 'm'), `README's table has ${name}`);
    assert.match(table, /^\| `logout .*\| 0; 1 unknown profile; 2 no agent; 7 locked \|$/m);
    const r = await sb.cli(['logout', '--profile', 'nope']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^kms-agent: no profile named nope: configured profiles are local/);
  } finally {
    await sb.close();
  }
});

test(
  'the protocol examples answer and end (nc -N -U, socat), instead of waiting forever',
  { skip: !(hasCommand('nc') && hasCommand('socat')) && 'needs nc (netcat-openbsd) and socat' },
  async () => {
    const sb = await makeSandbox({ profile: { store: 'memory' } });
    try {
      assert.equal((await sb.cli(['start'])).code, 0);
      const protocol = README.slice(README.indexOf('## Protocol'));
      const examples = protocol.split('\n').filter((line) => line.startsWith("echo '{"));
      assert.equal(examples.length, 2, 'an nc and a socat example');
      for (const example of examples) {
        const r = await new Promise((resolve) =>
          execFile(
            'sh',
            ['-c', example],
            { env: { ...sb.env, KMS_AGENT_SOCK: sb.socketPath }, timeout: 10_000 },
            (error, stdout, stderr) => resolve({ error, stdout, stderr }),
          ),
        );
        assert.equal(r.error, null, `${example}: ${r.error?.killed ? 'hung' : r.stderr}`);
        const reply = JSON.parse(r.stdout);
        assert.equal(reply.jsonrpc, '2.0');
        assert.equal(reply.id, 1);
      }
    } finally {
      await sb.close();
    }
  },
);
