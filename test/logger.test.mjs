// The daemon's log never holds a secret field's value, at a line's own fields, one or two levels
// down, in arrays, or in a child logger's bindings (src/daemon/logger.ts); what the caller logged is
// left unchanged, and a line without secrets is written as given.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../dist/daemon/logger.js';

const SECRET = 'sekret-ab12cd34';

/** The lines `write` logs, as the detached daemon writes them (asynchronously, to its file). */
async function logged(count, write) {
  const dir = mkdtempSync(join(tmpdir(), 'kms-logger-'));
  try {
    const file = join(dir, 'agent.log');
    const log = createLogger('info', file);
    write(log);
    // pino opens the file asynchronously: it may not be there yet.
    const lines = () =>
      existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
    for (let waited = 0; lines().length < count && waited < 5000; waited += 20) {
      log.flush();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return lines().map((line) => JSON.parse(line));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a secret field is censored at the top, one and two levels down, and in arrays', async () => {
  const nested = { profile: 'p', grant: { refresh_token: SECRET, set: { id_token: SECRET } } };
  const asked = { outcome: { token: SECRET, kind: 'id' }, sets: [{ access_token: SECRET }] };
  const lines = await logged(4, (log) => {
    log.info({ token: SECRET, code: SECRET, client_secret: SECRET }, 'top');
    log.info(nested, 'nested');
    log.info(asked, 'asked');
    log.child({ password: SECRET }).info('child');
  });
  const text = JSON.stringify(lines);
  assert.ok(!text.includes(SECRET), text);
  const [top, two, one, child] = lines;
  assert.equal(top.token, '[redacted]');
  assert.equal(top.client_secret, '[redacted]');
  assert.equal(two.grant.refresh_token, '[redacted]');
  assert.equal(two.grant.set.id_token, '[redacted]');
  assert.equal(one.outcome.token, '[redacted]');
  assert.equal(one.outcome.kind, 'id');
  assert.equal(one.sets[0].access_token, '[redacted]');
  assert.equal(child.password, '[redacted]');
  assert.equal(nested.grant.refresh_token, SECRET, 'the caller’s object is not changed');
  assert.equal(asked.sets[0].access_token, SECRET);
});

test('a line without secrets is written as given; an error keeps its message', async () => {
  const [line] = await logged(1, (log) =>
    log.warn({ profile: 'p', detail: { status: 400, why: ['x'] }, err: new Error('boom') }, 'w'),
  );
  assert.deepEqual(line.detail, { status: 400, why: ['x'] });
  assert.equal(line.profile, 'p');
  assert.equal(line.err.message, 'boom');
});
