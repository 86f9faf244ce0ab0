// Lifetimes (issue 22, docs/configuration.md `max_lifetime`, docs/cli.md `login --lifetime`): that
// long after the login the agent forgets it, revoked at the provider as logout does, and clients
// get exit 5 saying why. The end is stored with the login, so a restarted agent keeps it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../dist/config/config.js';
import { storeFileOf } from './support/harness.mjs';
import { makeIsolatedSandbox, sleep, withSandbox } from './support/reliability.mjs';
import { privateTempDir } from './support/tools/processRun.mjs';

const status = async (sb) => JSON.parse((await sb.cli(['status', '--json'])).stdout).profiles[0];

test('max_lifetime caps login --lifetime; the end is shown, survives a restart, and then the login is revoked and gone (exit 5)', async (t) => {
  const sb = await makeIsolatedSandbox({ profile: { store: 'file', max_lifetime: '4s' } });
  await withSandbox(sb, t, async () => {
    const before = Date.now() / 1000;
    const login = await sb.login(['--lifetime', '1h']);
    assert.match(login.stderr, /the agent forgets this login at \d{4}-/);
    const first = await status(sb);
    assert.ok(
      first.login_ends_at >= Math.floor(before) + 4 && first.login_ends_at <= before + 5,
      `capped at max_lifetime: ${first.login_ends_at - before} s`,
    );
    assert.match((await sb.cli(['status'])).stdout, /login ends: in \ds \(at /);
    assert.equal((await sb.token()).code, 0);

    // A restart reads the end from the store.
    assert.equal((await sb.cli(['stop'])).code, 0);
    assert.equal((await sb.cli(['start'])).code, 0);
    assert.equal(
      (await status(sb)).login_ends_at,
      first.login_ends_at,
      'the same end after a restart',
    );

    const revocations = sb.provider.stats.revocations;
    await sleep((first.login_ends_at - Date.now() / 1000) * 1000 + 300);
    const after = await sb.token();
    assert.equal(after.code, 5, after.stderr);
    assert.match(
      after.stderr,
      /the login of profile local ended: its lifetime ended at \d{4}-.*kms-agent login --profile local/,
    );
    assert.equal(sb.provider.stats.revocations, revocations + 1, 'revoked at the provider');
    assert.equal(existsSync(storeFileOf(sb)), false, 'and gone from the store');
    const ended = await status(sb);
    assert.equal(ended.logged_in, false);
    assert.match(ended.last_error, /lifetime ended/);
  });
});

test('max_lifetime is a duration: 90s, 30m, 8h, 7d or seconds; anything else names the key', () => {
  const dir = privateTempDir('lifetime');
  const config = join(dir, 'config.toml');
  const profile = (value) =>
    `[profiles.p]\nclient_id = "c"\nissuer = "https://idp.example"\nmax_lifetime = ${value}\n`;
  for (const [value, seconds] of [
    ['"90s"', 90],
    ['"30m"', 1800],
    ['"8h"', 28_800],
    ['"7d"', 604_800],
    ['600', 600],
  ]) {
    writeFileSync(config, profile(value), { mode: 0o600 });
    assert.equal(loadConfig({ configPath: config }).profiles.get('p').maxLifetime, seconds, value);
  }
  for (const value of ['"eight hours"', '"0s"', '"400d"', 'true']) {
    writeFileSync(config, profile(value), { mode: 0o600 });
    assert.throws(
      () => loadConfig({ configPath: config }),
      /profile "p".*max_lifetime.*a duration like "90s"/s,
      value,
    );
  }
});
