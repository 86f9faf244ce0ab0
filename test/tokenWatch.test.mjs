// The watch the tool tests rely on to prove that no token lands anywhere else (test/support/tokenWatch.mjs)
// does see a token put on a command line, in an environment, or in a file: otherwise their
// "nothing holds it" would prove nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exited, sleep } from './support/reliability.mjs';
import { watchForToken } from './support/tokenWatch.mjs';

test('the token watch finds a token in a command line, an environment and a new file, and spares what is allowed', async () => {
  const secret = `fake-token-${randomBytes(16).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'kms-agent-watch-'));
  try {
    const watch = watchForToken(secret, {
      fileAllowed: (path) => path.endsWith('allowed'),
      environAllowed: (args) => args.includes('allowed-env'),
    });
    const onCommandLine = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 300)', secret]);
    const inEnvironment = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 300)'], {
      env: { TOKEN: secret },
    });
    const allowedEnvironment = spawn(
      process.execPath,
      ['-e', 'setTimeout(() => {}, 300)', 'allowed-env'],
      { env: { TOKEN: secret } },
    );
    writeFileSync(join(dir, 'leaked'), `Authorization: Bearer ${secret}\n`);
    writeFileSync(join(dir, 'allowed'), secret);
    await sleep(150);
    await Promise.all(
      [onCommandLine, inEnvironment, allowedEnvironment].map((child) => exited(child)),
    );
    const seen = await watch.stop();
    assert.equal(seen.commandLines.length, 1, 'the command line');
    assert.match(seen.commandLines[0], /<TOKEN>/, 'shown without the token');
    assert.equal(seen.environments.length, 1, 'the environment, not the allowed one');
    assert.deepEqual(seen.files, [join(dir, 'leaked')]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
