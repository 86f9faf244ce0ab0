// `kms-agent remove NAME` (issue 20, trap 2): the profile is logged out, its [profiles.NAME] section
// leaves the config with every other byte kept, and the running agent drops it. A profile that is
// not in the agent's own file (none, or the Cosmian CLI's) is refused, and nothing changes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LOCAL_PUBLIC_CLIENT_ID } from '../dist/demo/localProvider.js';
import { makeSandbox, profileToml, storeFileOf } from './support/harness.mjs';
import { cosmianConfig } from './support/cosmianFiles.mjs';

const HAND_WRITTEN = (issuer) => `# my settings: keep this comment
log_level = "info"   # inline comment

${profileToml('keep', issuer, { store: 'file' })}`;

test('remove: logs the profile out, takes its section out of the file byte for byte, and the agent drops it', async () => {
  const sb = await makeSandbox({ config: HAND_WRITTEN, profile: undefined });
  const issuer = sb.provider.issuer;
  try {
    const original = readFileSync(sb.configPath, 'utf8');
    const added = await sb.cli([
      'add',
      'work',
      '--issuer',
      issuer,
      '--client-id',
      LOCAL_PUBLIC_CLIENT_ID,
    ]);
    assert.equal(added.code, 0, added.stderr);
    const withWork = readFileSync(sb.configPath, 'utf8');
    const kept =
      'default_profile = "keep"   # set by kms-agent add when it added a second profile\n';
    assert.equal(withWork.slice(0, kept.length), kept);
    // The store key is computed from the config: taken while the profile is in it.
    writeFileSync(
      sb.configPath,
      withWork.replace(`issuer    = "${issuer}"\n`, `issuer    = "${issuer}"\nstore = "file"\n`),
    );
    const storeFile = storeFileOf(sb, 'work');
    assert.equal((await sb.cli(['login', '--profile', 'work'])).code, 0);
    assert.ok(existsSync(storeFile), 'the login is stored');
    const revocations = sb.provider.stats.revocations;

    const r = await sb.cli(['remove', 'work']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `Removed profile work from ${sb.configPath}.\n`);
    assert.equal(r.stderr, 'logged out of work: the refresh token was revoked at the provider\n');
    assert.equal(
      readFileSync(sb.configPath, 'utf8'),
      `${kept}${original}`,
      'every other byte kept',
    );
    assert.equal(sb.provider.stats.revocations, revocations + 1, 'the refresh token was revoked');
    assert.equal(existsSync(storeFile), false, 'the stored login is gone');
    assert.deepEqual(
      (await sb.rpc('profiles.list', {})).map((p) => p.name),
      ['keep'],
      'the agent dropped the profile at once',
    );
    const token = await sb.token(['--profile', 'work']);
    assert.equal(token.code, 1);
    assert.match(token.stderr, /no profile named work/);
  } finally {
    await sb.close();
  }
});

test('remove refuses a profile that is not in the file, one from the Cosmian CLI, and one the rest of the file needs', async () => {
  const sb = await makeSandbox({
    config: (issuer) =>
      `default_profile = "local"\n\n${profileToml('local', issuer, { store: 'file' })}\n${profileToml('other', issuer)}`,
  });
  mkdirSync(join(sb.env.HOME, '.cosmian'), { recursive: true, mode: 0o700 });
  writeFileSync(
    join(sb.env.HOME, '.cosmian', 'ckms.toml'),
    cosmianConfig('ckms.toml', sb.provider.issuer),
    { mode: 0o600 },
  );
  try {
    await sb.login();
    const before = readFileSync(sb.configPath, 'utf8');
    const cases = [
      [
        'nope',
        new RegExp(
          `^kms-agent: no profile nope in ${sb.configPath} \\(profiles there: local, other\\): nothing removed\\n$`,
        ),
      ],
      [
        'ckms',
        /^kms-agent: profile ckms comes from the Cosmian CLI's file .*\/\.cosmian\/ckms\.toml, which kms-agent never writes: remove its oauth2_conf there, or point CKMS_CONF elsewhere\n$/,
      ],
      [
        'local',
        /^kms-agent: not removed: without profile local, config .*: key "default_profile": no profile named "local"/,
      ],
    ];
    for (const [name, says] of cases) {
      const r = await sb.cli(['remove', name]);
      assert.equal(r.code, 1, `${name}: ${r.stderr}`);
      assert.match(r.stderr, says);
      assert.equal(readFileSync(sb.configPath, 'utf8'), before, `${name}: the file is unchanged`);
    }
    assert.equal((await sb.token()).code, 0, 'the default profile was not logged out');
  } finally {
    await sb.close();
  }
});
