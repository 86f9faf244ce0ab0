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

/** The commands that get something from the agent, as [args, options]; the CLI is the user's. */
const SERVED = [
  [['token']],
  [['exec', '--', 'true']],
  [['kubectl-credential']],
  [['git-credential', 'get'], GIT_GET],
  [['whoami']],
  [['profiles']],
];
/** Every command that asks the agent, but stop and status. */
const ASKING = [
  ...SERVED,
  [['login', '--no-browser', '--timeout', '5']],
  [['logout']],
  [['reload']],
  [['start']],
];

const escaped = (text) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** The rules, in order, against one agent started with the sandbox's config. */
async function namedConfigRules(t) {
  const sb = await makeSandbox({ profile: { store: 'memory' } });
  const other = join(sb.dir, 'other.toml');
  const profile = profileToml('local', sb.provider.issuer, { store: 'memory' });
  writeFileSync(other, profile, { mode: 0o600 });
  await withSandbox(sb, t, async () => {
    assert.equal((await sb.cli(['start'])).code, 0);
    const { pid } = await sb.rpc('agent.status');
    const agentFile = escaped(sb.configPath);
    const reads = `the running agent \\(pid ${pid}\\) reads ${agentFile}, not ${escaped(other)}`;
    const refusal = new RegExp(
      `^kms-agent: ${reads}: to use ${escaped(other)}, run \`kms-agent stop\` first; ` +
        "to use the agent's, leave out --config and KMS_AGENT_CONFIG\\n",
      'm',
    );

    await t.test('every asking command exits 1, by --config and KMS_AGENT_CONFIG', async () => {
      for (const [args, options = {}] of ASKING) {
        const ways = [
          [['--config', other, ...args], {}],
          [args, { KMS_AGENT_CONFIG: other }],
        ];
        for (const [line, env] of ways) {
          const r = await sb.cli(line, { ...options, env });
          assert.equal(r.code, 1, `${line.join(' ')}: ${r.stderr}`);
          assert.match(r.stderr, refusal, line.join(' '));
        }
      }
    });

    await t.test("the same file through a symbolic link is the agent's", async () => {
      const link = join(sb.dir, 'link.toml');
      symlinkSync(sb.configPath, link);
      const r = await sb.cli(['--config', link, 'profiles']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '');
      const token = await sb.cli(['token'], { env: { KMS_AGENT_CONFIG: link } });
      assert.equal(token.code, 5, 'token is asked (not logged in)');
    });

    const typo = join(sb.dir, 'confg.toml');
    const typoRefused = async (commands) => {
      for (const args of commands) {
        const r = await sb.cli(['--config', typo, ...args]);
        assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
        const missing = `config ${escaped(typo)}: the file does not exist \\(named by --config`;
        assert.match(r.stderr, new RegExp(`^kms-agent: ${missing}`), args.join(' '));
      }
    };
    await t.test('a typo in --config with an agent running: exit 1, the file does not exist', () =>
      typoRefused([['token'], ['whoami'], ['status'], ['profiles'], ['stop'], ['start']]),
    );

    await t.test('add --config, the agent on another file: says it will not see it', async () => {
      const added = join(sb.dir, 'added.toml');
      const provider = ['--issuer', sb.provider.issuer, '--client-id', LOCAL_PUBLIC_CLIENT_ID];
      const r = await sb.cli(['--config', added, 'add', 'work', ...provider]);
      assert.equal(r.code, 0, r.stderr);
      const notAdded = `reads ${agentFile}, not ${escaped(added)}`;
      const unseen = `^The running agent \\(pid ${pid}\\) ${notAdded}: it will not see profile`;
      assert.match(r.stdout, new RegExp(unseen, 'm'));
      assert.ok(r.stdout.includes('it will not see profile work.'), r.stdout);
      assert.doesNotMatch(JSON.stringify(await sb.rpc('profiles.list')), /work/, 'and it does not');
    });

    await t.test('status and stop only warn', async () => {
      let r = await sb.cli(['--config', other, 'status']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, new RegExp(`^kms-agent: warning: ${reads}`));
      assert.match(r.stdout, new RegExp(`^agent pid ${pid}`));
      r = await sb.cli(['stop'], { env: { KMS_AGENT_CONFIG: other } });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /^kms-agent: warning: the running agent/);
      assert.match(r.stdout, new RegExp(`Agent pid ${pid} killed`));
    });

    await t.test('the same typo with no agent: exit 1 (not 2), and none started', async () => {
      await typoRefused([['--no-autostart', 'token'], ['token'], ['status'], ['start']]);
      assert.equal((await sb.cli(['--no-autostart', 'status'])).code, 2, 'no agent was started');
    });
  });
}

test(
  'a config the running agent does not read: exit 1 naming both files; stop and status warn; ' +
    'links resolved; a missing file is an error',
  { timeout: 120_000 },
  namedConfigRules,
);

/** An edit that did not load, then every asking command once. */
async function brokenConfigSaid(t) {
  const git = '[git."git.example.com"]\nprofile = "local"\n';
  const good = (issuer) => `${profileToml('local', issuer, { store: 'memory' })}\n${git}`;
  const sb = await makeSandbox({ config: good });
  await withSandbox(sb, t, async () => {
    await sb.login();
    const broken = `${sb.configPath}.new`;
    writeFileSync(broken, `${good(sb.provider.issuer)}\n[profiles.second\n`, { mode: 0o600 });
    renameSync(broken, sb.configPath);
    const reload = await sb.cli(['reload']);
    assert.equal(reload.code, 1, 'the edit did not load');
    const keeps = 'the agent still uses the config it had';
    const invalid = `config ${escaped(sb.configPath)}: invalid TOML at line \\d+`;
    const fix = 'fix the file, then run `kms-agent reload`';
    const warning = new RegExp(`^kms-agent: warning: ${invalid}.*\\(${keeps}: ${fix}\\)$`, 'gm');
    for (const [args, options] of [...SERVED, [['status']], [['status', '--json']]]) {
      const r = await sb.cli(args, options);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      if (args[0] === 'token') sb.rememberSecret(r.stdout.trim());
      const says = r.stderr.match(warning)?.length;
      assert.equal(says, 1, `${args.join(' ')} says it once: ${r.stderr}`);
    }
  });
}

test(
  'a config that did not reload is said once on stderr by every command asking the agent',
  { timeout: 120_000 },
  brokenConfigSaid,
);
