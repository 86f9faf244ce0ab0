// The config you named is the config you get (issue 19, docs/configuration.md): a --config or
// KMS_AGENT_CONFIG that the running agent does not read fails every command with exit 1 (links
// resolved first), `stop` and `status` only warn, a named file that does not exist is an error
// whether or not an agent runs, and `add` says when the running agent will not see its profile.
// And a config the agent could not reload is said once on stderr by every command that asks it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LOCAL_PUBLIC_CLIENT_ID } from '../dist/demo/localProvider.js';
import { makeSandbox, profileToml } from './support/harness.mjs';
import { withSandbox } from './support/reliability.mjs';

const GIT_GET = { input: 'protocol=https\nhost=git.example.com\n\n' };

/** Every command that asks the agent for something, as [args, options]; the CLI is the user's. */
const ASKING = [
  [['token']],
  [['exec', '--', 'true']],
  [['kubectl-credential']],
  [['git-credential', 'get'], GIT_GET],
  [['whoami']],
  [['profiles']],
  [['login', '--no-browser', '--timeout', '5']],
  [['logout']],
  [['reload']],
  [['start']],
];

const escaped = (text) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

test('a config the running agent does not read: exit 1 naming both files; stop and status warn; links resolved; a missing file is an error', { timeout: 120_000 }, async (t) => {
  const sb = await makeSandbox({ profile: { store: 'memory' } });
  const other = join(sb.dir, 'other.toml');
  writeFileSync(other, profileToml('local', sb.provider.issuer, { store: 'memory' }), { mode: 0o600 });
  await withSandbox(sb, t, async () => {
    assert.equal((await sb.cli(['start'])).code, 0);
    const { pid } = await sb.rpc('agent.status');
    const refusal = new RegExp(`^kms-agent: the running agent \\(pid ${pid}\\) reads ${escaped(sb.configPath)}, not ${escaped(other)}: to use ${escaped(other)}, run \`kms-agent stop\` first; to use the agent's, leave out --config and KMS_AGENT_CONFIG\\n`, 'm');

    await t.test('every command that asks the agent fails with exit 1, by --config and by KMS_AGENT_CONFIG', async () => {
      for (const [args, options = {}] of ASKING) {
        for (const [line, env] of [[['--config', other, ...args], {}], [args, { KMS_AGENT_CONFIG: other }]]) {
          const r = await sb.cli(line, { ...options, env });
          assert.equal(r.code, 1, `${line.join(' ')}: ${r.stderr}`);
          assert.match(r.stderr, refusal, line.join(' '));
        }
      }
    });

    await t.test('the same file through a symbolic link is the agent\'s', async () => {
      const link = join(sb.dir, 'link.toml');
      symlinkSync(sb.configPath, link);
      const r = await sb.cli(['--config', link, 'profiles']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '');
      assert.equal((await sb.cli(['token'], { env: { KMS_AGENT_CONFIG: link } })).code, 5, 'token is asked (not logged in)');
    });

    const typo = join(sb.dir, 'confg.toml');
    const typoRefused = async (commands) => {
      for (const args of commands) {
        const r = await sb.cli(['--config', typo, ...args]);
        assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
        assert.match(r.stderr, new RegExp(`^kms-agent: config ${escaped(typo)}: the file does not exist \\(named by --config or KMS_AGENT_CONFIG\\)`), args.join(' '));
      }
    };
    await t.test('a typo in --config with an agent running: exit 1 saying the file does not exist', () =>
      typoRefused([['token'], ['whoami'], ['status'], ['profiles'], ['stop'], ['start']]),
    );

    await t.test('add --config with the agent on another file says the agent will not see the profile', async () => {
      const added = join(sb.dir, 'added.toml');
      const r = await sb.cli(['--config', added, 'add', 'work', '--issuer', sb.provider.issuer, '--client-id', LOCAL_PUBLIC_CLIENT_ID]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`^The running agent \\(pid ${pid}\\) reads ${escaped(sb.configPath)}, not ${escaped(added)}: it will not see profile work\\.`, 'm'));
      assert.doesNotMatch(JSON.stringify(await sb.rpc('profiles.list')), /work/, 'and it does not');
    });

    await t.test('status and stop only warn', async () => {
      let r = await sb.cli(['--config', other, 'status']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, new RegExp(`^kms-agent: warning: the running agent \\(pid ${pid}\\) reads ${escaped(sb.configPath)}, not ${escaped(other)}`));
      assert.match(r.stdout, new RegExp(`^agent pid ${pid}`));
      r = await sb.cli(['stop'], { env: { KMS_AGENT_CONFIG: other } });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /^kms-agent: warning: the running agent/);
      assert.match(r.stdout, new RegExp(`Agent pid ${pid} killed`));
    });

    await t.test('the same typo with no agent: still exit 1 (not 2: no agent), and none started', async () => {
      await typoRefused([['--no-autostart', 'token'], ['token'], ['status'], ['start']]);
      assert.equal((await sb.cli(['--no-autostart', 'status'])).code, 2, 'no agent was started');
    });
  });
});

test('a broken config the agent could not reload is said once on stderr by every command that asks it', { timeout: 120_000 }, async (t) => {
  const good = (issuer) => `${profileToml('local', issuer, { store: 'memory' })}\n[git."git.example.com"]\nprofile = "local"\n`;
  const sb = await makeSandbox({ config: good });
  await withSandbox(sb, t, async () => {
    await sb.login();
    const broken = `${sb.configPath}.new`;
    writeFileSync(broken, `${good(sb.provider.issuer)}\n[profiles.second\n`, { mode: 0o600 });
    renameSync(broken, sb.configPath);
    const reload = await sb.cli(['reload']);
    assert.equal(reload.code, 1, 'the edit did not load');
    const warning = new RegExp(`^kms-agent: warning: config ${escaped(sb.configPath)}: invalid TOML at line \\d+.*\\(the agent still uses the config it had: fix the file, then run \`kms-agent reload\`\\)$`, 'gm');
    for (const [args, options] of [[['token']], [['exec', '--', 'true']], [['kubectl-credential']], [['git-credential', 'get'], GIT_GET], [['whoami']], [['profiles']], [['status']], [['status', '--json']]]) {
      const r = await sb.cli(args, options);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      if (args[0] === 'token') sb.rememberSecret(r.stdout.trim());
      assert.equal(r.stderr.match(warning)?.length, 1, `${args.join(' ')} says it once: ${r.stderr}`);
    }
  });
});
