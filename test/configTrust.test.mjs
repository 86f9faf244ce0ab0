// StrictModes for the files that say where the refresh token goes (README.md, docs/SECURITY.md): the agent's config
// and the Cosmian CLI's file are refused, with the file and the command that fixes it, when
// another user could change them or a directory above them. In-process for each case, through
// the built CLI as the user meets it, and the attack itself: another uid rewrites a world-writable
// config's token_url, and the agent refuses the file instead of sending the refresh token there.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { loadConfig } from '../dist/config/config.js';
import { makeSandbox } from './support/harness.mjs';
import {
  assertConfigError,
  COSMIAN_LAYOUTS,
  ENTRA,
  OWN_ENTRA,
  sandbox,
  seedSection,
} from './support/configSandbox.mjs';
import { loginViaRpc, makeIsolatedSandbox, withSandbox } from './support/reliability.mjs';

const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;
const canSwitchUser = isRoot && spawnSync('sh', ['-c', 'command -v setpriv']).status === 0;
const posix = process.platform !== 'win32';
const me = isRoot ? 'root' : process.env.USER;

const writable = (path) => [
  /can be changed by group or others/,
  new RegExp(`run chmod go-w ${escape(path)}$`),
];
const foreign = (path) => [
  new RegExp(`owned by uid ${NOBODY}, not by you`),
  new RegExp(`run chown \\S+ ${escape(path)}$`),
];
function escape(text) {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

describe(
  'the config file: refused when others could change it',
  { skip: !posix && 'no POSIX modes' },
  () => {
    for (const mode of [0o666, 0o620, 0o602, 0o660]) {
      test(`a ${mode.toString(8).padStart(4, '0')} config is refused, naming it and the chmod`, (t) => {
        const s = sandbox(t);
        const file = s.writeConfig(OWN_ENTRA, mode);
        assertConfigError(() => loadConfig({ env: s.env }), {
          file,
          says: [/^config \S+: refusing to use this file: it can be changed/, ...writable(file)],
        });
      });
    }

    test('a config in a 0777 directory, or below one, is refused, naming the directory', (t) => {
      const s = sandbox(t);
      const file = s.writeConfig(OWN_ENTRA);
      const dir = join(s.home, '.config/kms-agent');
      for (const open of [dir, join(s.home, '.config'), s.home]) {
        chmodSync(open, 0o777);
        assertConfigError(() => loadConfig({ env: s.env }), {
          file,
          says: [new RegExp(`its directory ${escape(open)} can be changed`), ...writable(open)],
        });
        chmodSync(open, 0o755);
      }
      assert.equal(
        loadConfig({ env: s.env }).defaultProfile,
        'entra',
        'loads once the directories are safe',
      );
    });

    test('a sticky world-writable directory (like /tmp) is fine: others cannot replace what is not theirs', (t) => {
      const s = sandbox(t);
      const file = s.write('shared/config.toml', OWN_ENTRA);
      chmodSync(join(s.home, 'shared'), 0o1777);
      assert.equal(loadConfig({ configPath: file, env: s.env }).defaultProfile, 'entra');
    });

    test('a config readable by others but not writable loads (a secret in it is only warned about)', (t) => {
      const s = sandbox(t);
      s.writeConfig(OWN_ENTRA, 0o644);
      assert.equal(loadConfig({ env: s.env }).defaultProfile, 'entra');
    });

    test(
      'a config owned by another user is refused, naming the chown',
      { skip: !isRoot && 'needs root to chown' },
      (t) => {
        const s = sandbox(t);
        const file = s.writeConfig(OWN_ENTRA);
        chownSync(file, NOBODY, NOBODY);
        assertConfigError(() => loadConfig({ env: s.env }), { file, says: foreign(file) });
        assert.match(
          assertMessage(() => loadConfig({ env: s.env })),
          new RegExp(`not by you \\(${me}\\)`),
        );
        chownSync(file, 0, 0);
        const dir = join(s.home, '.config');
        chownSync(dir, NOBODY, NOBODY);
        assertConfigError(() => loadConfig({ env: s.env }), {
          file,
          says: [
            new RegExp(`its directory ${escape(dir)} is owned by uid ${NOBODY}`),
            ...foreign(dir),
          ],
        });
      },
    );

    test("through a symlink: the link's directory and the real file's are both checked", (t) => {
      const s = sandbox(t);
      const real = s.write('dotfiles/kms-agent.toml', OWN_ENTRA);
      mkdirSync(join(s.home, '.config/kms-agent'), { recursive: true });
      symlinkSync(real, s.configPath);
      assert.equal(
        loadConfig({ env: s.env }).defaultProfile,
        'entra',
        'a symlinked config is fine',
      );
      chmodSync(join(s.home, 'dotfiles'), 0o777);
      assertConfigError(() => loadConfig({ env: s.env }), {
        file: s.configPath,
        says: writable(join(s.home, 'dotfiles')),
      });
      chmodSync(join(s.home, 'dotfiles'), 0o755);
      chmodSync(real, 0o666);
      assertConfigError(() => loadConfig({ env: s.env }), {
        file: s.configPath,
        says: writable(s.configPath),
      });
      chmodSync(real, 0o600);
      chmodSync(join(s.home, '.config/kms-agent'), 0o777);
      assertConfigError(() => loadConfig({ env: s.env }), {
        file: s.configPath,
        says: writable(join(s.home, '.config/kms-agent')),
      });
    });
  },
);

describe('the Cosmian CLI file: the same rule', { skip: !posix && 'no POSIX modes' }, () => {
  test('a 0666 ckms.toml is refused, naming it', (t) => {
    const s = sandbox(t);
    const file = s.write('.cosmian/ckms.toml', COSMIAN_LAYOUTS['ckms.toml'], 0o666);
    assertConfigError(() => loadConfig({ env: s.env }), { file, says: writable(file) });
  });

  test('a kms.json in a 0777 ~/.cosmian is refused, naming the directory', (t) => {
    const s = sandbox(t);
    const file = s.write('.cosmian/kms.json', COSMIAN_LAYOUTS['kms.json'], 0o644);
    chmodSync(join(s.home, '.cosmian'), 0o777);
    assertConfigError(() => loadConfig({ env: s.env }), {
      file,
      says: writable(join(s.home, '.cosmian')),
    });
  });

  test(
    'a Cosmian file named by CKMS_CONF and owned by another user is refused',
    { skip: !isRoot && 'needs root to chown' },
    (t) => {
      const s = sandbox(t);
      const file = s.write('elsewhere/client.toml', COSMIAN_LAYOUTS['cosmian.toml']);
      chownSync(file, NOBODY, NOBODY);
      assertConfigError(() => loadConfig({ env: { ...s.env, CKMS_CONF: file } }), {
        file,
        says: foreign(file),
      });
    },
  );
});

describe('client secrets in readable files', { skip: !posix && 'no POSIX modes' }, () => {
  test('a client_secret in a file others can read gets a chmod 600 warning', (t) => {
    const s = sandbox(t);
    const withSecret = `[profiles.google]\nclient_id = "x"\nclient_secret = "s"\nissuer = "https://accounts.google.com"\n`;
    const own = s.writeConfig(withSecret, 0o644);
    let warnings = loadConfig({ env: s.env }).warnings;
    assert.equal(warnings.length, 1);
    assert.ok(warnings[0].includes(`chmod 600 ${own}`), warnings[0]);

    chmodSync(own, 0o640);
    assert.equal(loadConfig({ env: s.env }).warnings.length, 1, 'group-readable counts');
    chmodSync(own, 0o600);
    assert.deepEqual(loadConfig({ env: s.env }).warnings, []);
    writeFileSync(own, seedSection('[profiles.entra]', ENTRA));
    chmodSync(own, 0o644);
    assert.deepEqual(loadConfig({ env: s.env }).warnings, [], 'no secret, nothing to protect');

    const cosmian = s.write('.cosmian/ckms.toml', COSMIAN_LAYOUTS['ckms.toml'], 0o644);
    assert.deepEqual(
      loadConfig({ env: s.env }).warnings,
      [],
      'an empty Cosmian secret is no secret',
    );
    writeFileSync(
      cosmian,
      COSMIAN_LAYOUTS['ckms.toml'].replace('client_secret = ""', 'client_secret = "s"'),
    );
    warnings = loadConfig({ env: s.env }).warnings;
    assert.equal(warnings.length, 1);
    assert.ok(warnings[0].includes(`chmod 600 ${cosmian}`), warnings[0]);
  });
});

/** The message of the error `fn` throws. */
function assertMessage(fn) {
  try {
    fn();
  } catch (err) {
    return err.message;
  }
  assert.fail('expected an error');
}

// ---- through the built CLI ----

const STATIC_PROFILE = seedSection('[profiles.entra]', ENTRA);

/** What `start` and an autostarting `token` say about an untrusted file: one line, exits 1 and 2. */
async function assertRefusedByCli(sb, { names, fix }, t) {
  for (const [args, code] of [
    [['start'], 1],
    [['token'], 2],
  ]) {
    const r = await sb.cli(args);
    assert.equal(r.code, code, `${args[0]}: exit ${code} (${r.stderr})`);
    assert.equal(r.stdout, '');
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, `${args[0]}: one line: ${r.stderr}`);
    assert.ok(lines[0].includes(`config ${names}: refusing to use this file`), lines[0]);
    assert.ok(lines[0].endsWith(fix), `${args[0]}: ends with the fix "${fix}": ${lines[0]}`);
    t.diagnostic(`${args[0]}: ${lines[0]}`);
  }
}

describe(
  'through the CLI: start and token refuse, with the file and the fix',
  { skip: !posix && 'no POSIX modes' },
  () => {
    for (const mode of [0o666, 0o620]) {
      test(`a ${mode.toString(8).padStart(4, '0')} config`, async (t) => {
        const sb = await makeSandbox({ provider: null, config: STATIC_PROFILE });
        await withSandbox(sb, t, async () => {
          chmodSync(sb.configPath, mode);
          await assertRefusedByCli(
            sb,
            { names: sb.configPath, fix: `run chmod go-w ${sb.configPath}` },
            t,
          );
        });
      });
    }

    test('a config in a 0777 directory', async (t) => {
      const sb = await makeSandbox({ provider: null, config: STATIC_PROFILE });
      await withSandbox(sb, t, async () => {
        const dir = join(sb.dir, 'conf');
        mkdirSync(dir, { mode: 0o777 });
        chmodSync(dir, 0o777);
        const file = join(dir, 'config.toml');
        writeFileSync(file, STATIC_PROFILE, { mode: 0o600 });
        await assertRefusedByCli(
          { ...sb, cli: (args) => sb.cli(['--config', file, ...args]) },
          { names: file, fix: `run chmod go-w ${dir}` },
          t,
        );
      });
    });

    test(
      'a config owned by another user',
      { skip: !isRoot && 'needs root to chown' },
      async (t) => {
        const sb = await makeSandbox({ provider: null, config: STATIC_PROFILE });
        await withSandbox(sb, t, async () => {
          chownSync(sb.configPath, NOBODY, NOBODY);
          await assertRefusedByCli(
            sb,
            { names: sb.configPath, fix: `run chown ${me} ${sb.configPath}` },
            t,
          );
        });
      },
    );

    test('a Cosmian file others can write', async (t) => {
      const sb = await makeSandbox({ provider: null, config: '' });
      await withSandbox(sb, t, async () => {
        mkdirSync(join(sb.env.HOME, '.cosmian'));
        const file = join(sb.env.HOME, '.cosmian', 'ckms.toml');
        writeFileSync(file, COSMIAN_LAYOUTS['ckms.toml'], { mode: 0o666 });
        chmodSync(file, 0o666);
        await assertRefusedByCli(sb, { names: file, fix: `run chmod go-w ${file}` }, t);
      });
    });
  },
);

// ---- the attack ----

/** Runs a node snippet as another uid (nobody), as a hostile local user would. */
function runAsNobody(script, env) {
  const r = spawnSync(
    'setpriv',
    [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', process.execPath, '-e', script],
    {
      env: { PATH: process.env.PATH, ...env },
      cwd: '/',
      encoding: 'utf8',
      timeout: 15_000,
    },
  );
  assert.equal(r.status, 0, `as nobody: ${r.stderr}`);
}

/** A token endpoint of the attacker's: it records what it is sent and refuses everything. */
async function harvester(t) {
  const received = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      received.push({ path: req.url, body });
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"invalid_grant"}');
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  return { url: `http://127.0.0.1:${server.address().port}/token`, received };
}

test(
  "attack: another user rewrites a world-writable config's token_url; the agent refuses the file and sends nothing there",
  { skip: !canSwitchUser && 'needs root and setpriv to act as another uid' },
  async (t) => {
    const sb = await makeIsolatedSandbox({
      profile: { store: 'file' },
      env: { DBUS_SESSION_BUS_ADDRESS: undefined },
    });
    const evil = await harvester(t);
    await withSandbox(sb, t, async () => {
      // The user logs in (the refresh token goes to the file store), then stops the agent.
      assert.equal((await sb.cli(['start'])).code, 0);
      await loginViaRpc(sb);
      assert.equal((await sb.cli(['stop'])).code, 0);

      // The user's mistake: a config others can write, in a directory they can reach.
      chmodSync(sb.configPath, 0o666);
      chmodSync(sb.dir, 0o711);
      // Another uid points the profile's token endpoint at its own server.
      runAsNobody(
        `require('fs').appendFileSync(process.env.CONFIG, 'token_url = ' + JSON.stringify(process.env.EVIL) + '\\n')`,
        {
          CONFIG: sb.configPath,
          EVIL: evil.url,
        },
      );
      assert.ok(
        readFileSync(sb.configPath, 'utf8').includes(evil.url),
        'the other user could write the config',
      );

      // The next token needs a refresh: the agent refuses the file instead.
      const r = await sb.token(['--min-valid', '86400']);
      assert.equal(r.code, 2, r.stderr);
      assert.match(
        r.stderr,
        new RegExp(
          `config ${escape(sb.configPath)}: refusing to use this file: it can be changed by group or others \\(mode 0666\\)`,
        ),
      );
      assert.match(r.stderr, new RegExp(`run chmod go-w ${escape(sb.configPath)}`));
      assert.deepEqual(evil.received, [], "the attacker's endpoint received nothing");
      t.diagnostic(`refused: ${r.stderr.trim()}`);
    });
  },
);
