// `kms-agent exec --ckms -- ckms …` (README "Cosmian CLI"), against a stand-in `ckms` on PATH that
// records what the real one would read (test/support/tools/standInCkms.mjs): ckms ≥ 5.17 gets the
// token in CLI_HEADER and nothing is written; older (or unknown) ones read a private 0600 copy of
// their config with only the token changed, gone when the command ends, however it ends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'smol-toml';
import { cosmianConfig } from './support/cosmianFiles.mjs';
import { CLI, makeSandbox, profileToml } from './support/harness.mjs';
import { exited, sleep } from './support/reliability.mjs';
import { assertNoLeak, watchForToken } from './support/tokenWatch.mjs';

const STAND_IN = join(
  dirname(fileURLToPath(import.meta.url)),
  'support',
  'tools',
  'standInCkms.mjs',
);
const sha256 = (text) => createHash('sha256').update(text).digest('hex');
/**
 * The stand-in, given the token in its environment on purpose, as its command line shows it:
 * `node …/bin/ckms …`, or `/usr/bin/env node …/bin/ckms …` while its #! line is being followed.
 */
const isStandIn = (args) => args.some((arg) => arg.endsWith('/bin/ckms'));

/**
 * A sandbox with the agent's own profile `local` (the default) and the Cosmian CLI's config as
 * profile `ckms`, both logged in; `ckms` on PATH is the stand-in.
 */
async function ckmsSandbox(layout = 'ckms.toml') {
  const sb = await makeSandbox({
    config: (issuer) =>
      `default_profile = "local"\n${profileToml('local', issuer, { store: 'memory' })}`,
  });
  const cosmianFile = join(sb.env.HOME, '.cosmian', layout);
  mkdirSync(dirname(cosmianFile));
  writeFileSync(cosmianFile, cosmianConfig(layout, sb.provider.issuer), { mode: 0o600 });
  const bin = join(sb.dir, 'bin');
  mkdirSync(bin);
  symlinkSync(STAND_IN, join(bin, 'ckms'));
  const log = join(sb.dir, 'ckms.log');
  await sb.login(['--profile', 'ckms']);
  await sb.login(['--profile', 'local']);
  const tokenOf = async (profile) => {
    const r = await sb.token(['--profile', profile]);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.trim();
  };
  const env = (version, extra = {}) => ({
    PATH: `${bin}:${process.env.PATH}`,
    STAND_IN_LOG: log,
    STAND_IN_CKMS_VERSION: version,
    ...extra,
  });
  /** What the stand-in recorded since the last call. */
  const entries = () => {
    if (!existsSync(log)) return [];
    const lines = readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    rmSync(log);
    return lines;
  };
  const copiesDir = join(sb.env.XDG_RUNTIME_DIR, 'kms-agent', 'ckms');
  return {
    sb,
    cosmianFile,
    original: readFileSync(cosmianFile, 'utf8'),
    copiesDir,
    copies: () => (existsSync(copiesDir) ? readdirSync(copiesDir) : []),
    tokenOf,
    entries,
    /** `kms-agent exec --ckms [opts] -- ckms ARGS` with the stand-in at `version`. */
    run: (args, { version = '5.17.0', opts = [], extra = {} } = {}) =>
      sb.cli(['exec', '--ckms', ...opts, '--', 'ckms', ...args], { env: env(version, extra) }),
    spawn: (args, { version, extra }) =>
      spawn(process.execPath, [CLI, 'exec', '--ckms', '--', 'ckms', ...args], {
        env: { ...sb.env, ...env(version, extra) },
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
  };
}

/** The user's config as the stand-in describes a copy of it: every line but the token's, and the parsed rest. */
function expectedCopy(original, layout) {
  const document = layout.endsWith('.json')
    ? JSON.parse(original)
    : JSON.parse(JSON.stringify(parse(original)));
  if (layout.endsWith('.json')) delete document.kms_access_token;
  else delete (document.kms_config?.http_config ?? document.http_config).access_token;
  return document;
}

test('exec --ckms with ckms 5.17 and later: the token in CLI_HEADER, nothing written, nothing in argv', async (t) => {
  const c = await ckmsSandbox();
  try {
    const token = await c.tokenOf('ckms');
    for (const version of ['5.17.0', '5.18.2', '6.0.0']) {
      await t.test(`ckms ${version}`, async () => {
        const watch = watchForToken(token, { environAllowed: isStandIn });
        const r = await c.run(['sym', 'keys', 'create', '--tag', 'login'], { version });
        const seen = await watch.stop();
        const [entry, ...more] = c.entries();
        assertNoLeak(assert, seen, `ckms ${version}`);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stderr, '', 'nothing to say');
        assert.deepEqual(more, []);
        assert.deepEqual(entry.args, ['sym', 'keys', 'create', '--tag', 'login']);
        assert.deepEqual(
          entry.cliHeader,
          { bearerSha256: sha256(token) },
          'CLI_HEADER is "Authorization: Bearer <the ckms profile\'s token>"',
        );
        assert.deepEqual(entry.variables, {}, 'no config variable is set');
        assert.equal(entry.ckms5Reads.path, c.cosmianFile, 'ckms reads its own config');
        assert.equal(
          entry.ckms5Reads.tokenSha256,
          sha256('do-not-touch'),
          'which keeps its own stored token',
        );
        assert.deepEqual(c.copies(), [], 'no copy was made');
      });
    }
    await t.test('--profile picks another profile', async () => {
      const r = await c.run(['locate'], { opts: ['--profile', 'local'] });
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(c.entries()[0].cliHeader, {
        bearerSha256: sha256(await c.tokenOf('local')),
      });
    });
    await t.test("ckms's exit code is the command's", async () => {
      assert.equal((await c.run(['locate'], { extra: { STAND_IN_EXIT: '3' } })).code, 3);
      c.entries();
    });
    assert.equal(readFileSync(c.cosmianFile, 'utf8'), c.original, "the user's config is untouched");
  } finally {
    await c.sb.close();
  }
});

test('exec --ckms with an older ckms: a private 0600 copy of its config with only the token changed, gone afterwards', async (t) => {
  const c = await ckmsSandbox();
  try {
    const token = await c.tokenOf('ckms');
    const cases = [
      { why: 'ckms 5.16', version: '5.16.2' },
      { why: 'a ckms that cannot tell its version', version: 'none' },
      {
        why: "ckms 5.17 given a header of the user's own with -H",
        version: '5.17.0',
        args: ['-H', 'X-Trace: 1'],
      },
      {
        why: 'ckms 5.17 with CLI_HEADER already set by the user',
        version: '5.17.0',
        extra: { CLI_HEADER: 'X-Trace: 1' },
      },
    ];
    for (const { why, version, args = [], extra = {} } of cases) {
      await t.test(why, async () => {
        const watch = watchForToken(token, { environAllowed: isStandIn });
        const r = await c.run([...args, 'sym', 'keys', 'locate'], { version, extra });
        const seen = await watch.stop();
        const [entry] = c.entries();
        assertNoLeak(assert, seen, why);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stderr, '');
        if (extra.CLI_HEADER)
          assert.deepEqual(
            entry.cliHeader,
            { other: true },
            "the user's CLI_HEADER is left as it was",
          );
        else assert.equal(entry.cliHeader, null, 'no CLI_HEADER');
        const names = Object.keys(entry.variables).sort();
        assert.deepEqual(names, [
          'CKMS_CONF',
          'CKMS_CONF_PATH',
          'COSMIAN_CLI_CONF',
          'COSMIAN_CLI_CONF_PATH',
          'KMS_CLI_CONF',
        ]);
        const copy = entry.variables.CKMS_CONF_PATH;
        for (const name of names)
          assert.equal(entry.variables[name].path, copy.path, `${name} names the copy`);
        assert.deepEqual(entry.ckms5Reads, copy, 'ckms 5 reads the copy');
        assert.equal(dirname(dirname(copy.path)), c.copiesDir, "in the agent's directory");
        assert.ok(copy.exists);
        assert.equal(copy.mode, 0o600);
        assert.equal(copy.dirMode, 0o700);
        assert.equal(copy.uid, process.getuid());
        assert.equal(copy.tokenSha256, sha256(token), "access_token is the ckms profile's token");
        assert.deepEqual(
          copy.rest,
          expectedCopy(c.original, 'ckms.toml'),
          'everything else means the same',
        );
        const tokenLine = c.original
          .split('\n')
          .map((line) => (line.startsWith('access_token =') ? '<TOKEN LINE>' : line));
        assert.deepEqual(copy.lines, tokenLine, 'byte for byte, but for the token line');
        assert.equal(existsSync(copy.path), false, 'the copy is gone once ckms exited');
        assert.deepEqual(c.copies(), []);
      });
    }
    await t.test('--profile local: that token, in a copy of the Cosmian config', async () => {
      const r = await c.run(['locate'], { version: '5.0.0', opts: ['--profile', 'local'] });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(
        c.entries()[0].variables.CKMS_CONF_PATH.tokenSha256,
        sha256(await c.tokenOf('local')),
      );
    });
    assert.equal(readFileSync(c.cosmianFile, 'utf8'), c.original, "the user's config is untouched");
  } finally {
    await c.sb.close();
  }
});

test('exec --ckms with ckms 4 and its kms.json: the copy has kms_access_token, read through KMS_CLI_CONF', async () => {
  const c = await ckmsSandbox('kms.json');
  try {
    const token = await c.tokenOf('ckms');
    const watch = watchForToken(token, { environAllowed: isStandIn });
    const r = await c.run(['locate'], { version: '4.20.1' });
    const seen = await watch.stop();
    const copy = c.entries()[0].variables.KMS_CLI_CONF;
    assertNoLeak(assert, seen, 'ckms 4');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(copy.path.endsWith('/kms.json'), true);
    assert.equal(copy.mode, 0o600);
    assert.equal(copy.tokenSha256, sha256(token));
    assert.deepEqual(copy.rest, expectedCopy(c.original, 'kms.json'));
    assert.equal(existsSync(copy.path), false);
  } finally {
    await c.sb.close();
  }
});

test('exec --ckms: login, logout and configure run untouched (they save the config), with one line saying so', async () => {
  const c = await ckmsSandbox();
  try {
    for (const args of [
      ['login'],
      ['--url', 'https://kms.example.com', 'logout'],
      ['configure'],
      ['-c', '/dev/null', 'kms', 'login'],
    ]) {
      const r = await c.run(args, {
        extra: {
          KMS_AGENT_SOCK: join(c.sb.dir, 'none', 'agent.sock'),
          KMS_AGENT_NO_AUTOSTART: '1',
        },
      });
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      const command = args.at(-1);
      assert.equal(
        r.stderr,
        `kms-agent: \`ckms ${command}\` saves its config file, so it runs as is, without the agent's token (the agent logs in with \`kms-agent login --profile ckms\`)\n`,
      );
      const [entry] = c.entries();
      assert.deepEqual(entry.args, args);
      assert.equal(entry.cliHeader, null, 'no header');
      assert.deepEqual(entry.variables, {}, 'no copy');
    }
    assert.deepEqual(c.copies(), []);
  } finally {
    await c.sb.close();
  }
});

test('exec --ckms: the copy is removed when kms-agent is told to stop, when ckms is killed, and after kms-agent itself was killed', async (t) => {
  const c = await ckmsSandbox();
  try {
    /** Starts `exec --ckms` with a ckms that waits; resolves with the process and the copy once ckms runs. */
    const startWaiting = async () => {
      const child = c.spawn(['locate'], {
        version: '5.16.0',
        extra: { STAND_IN_SLEEP_MS: '30000' },
      });
      const log = join(c.sb.dir, 'ckms.log');
      for (
        let i = 0;
        i < 400 && !(existsSync(log) && readFileSync(log, 'utf8').includes('"ready"'));
        i++
      )
        await sleep(25);
      const [entry, ready] = c.entries();
      assert.ok(ready?.ready, 'ckms is running');
      assert.ok(existsSync(entry.variables.CKMS_CONF_PATH.path), 'the copy exists while ckms runs');
      return { child, copy: entry.variables.CKMS_CONF_PATH.path, ckmsPid: entry.pid };
    };
    for (const [signal, code] of [
      ['SIGTERM', 143],
      ['SIGINT', 130],
      ['SIGHUP', 129],
    ]) {
      await t.test(
        `${signal} to kms-agent reaches ckms; the copy is removed; exit ${code}`,
        async () => {
          const { child, copy } = await startWaiting();
          child.kill(signal);
          const result = await exited(child);
          assert.equal(result.code, code);
          assert.equal(existsSync(copy), false);
          assert.deepEqual(c.copies(), []);
        },
      );
    }
    await t.test('ckms killed (SIGKILL): the copy is removed, exit 137', async () => {
      const { child, copy, ckmsPid } = await startWaiting();
      process.kill(ckmsPid, 'SIGKILL');
      assert.equal((await exited(child)).code, 137);
      assert.equal(existsSync(copy), false);
    });
    await t.test(
      'kms-agent killed (SIGKILL) leaves its copy; the next exec --ckms removes it',
      async () => {
        const { child, copy, ckmsPid } = await startWaiting();
        const gone = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await gone;
        // ckms, orphaned, still holds the output pipes.
        process.kill(ckmsPid, 'SIGKILL');
        await exited(child);
        assert.ok(existsSync(copy), 'nothing could remove it');
        const r = await c.run(['locate'], { version: '5.16.0' });
        assert.equal(r.code, 0, r.stderr);
        c.entries();
        assert.equal(existsSync(copy), false, 'removed by the next run');
        assert.deepEqual(c.copies(), []);
      },
    );
  } finally {
    await c.sb.close();
  }
});

test('exec --ckms: not logged in is exit 5 and ckms does not run; a missing ckms is exit 127', async () => {
  const c = await ckmsSandbox();
  try {
    assert.equal((await c.sb.cli(['logout', '--profile', 'ckms'])).code, 0);
    let r = await c.run(['locate']);
    assert.equal(r.code, 5);
    assert.match(r.stderr, /not logged in to profile ckms/);
    assert.deepEqual(c.entries(), [], 'ckms did not run');
    r = await c.sb.cli(['exec', '--ckms', '--', join(c.sb.dir, 'no-such-ckms'), 'locate']);
    assert.equal(r.code, 127);
    assert.match(r.stderr, /cannot run .*no-such-ckms: command not found/);
    r = await c.sb.cli(['exec', '--ckms', '--env', 'X', '--', 'ckms']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /--env and --ckms cannot be used together/);
  } finally {
    await c.sb.close();
  }
});
