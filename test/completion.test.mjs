// Shell completion: `kms-agent completion bash|zsh|fish` prints a script each shell accepts, and the
// completions it gives are the commands, their options and the profile names of the config.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI } from './support/harness.mjs';
import { hasCommand } from './support/processes.mjs';

/** A HOME with a config of two profiles and a `kms-agent` on the PATH, as after an install. */
function setup(t) {
  const dir = mkdtempSync(join(tmpdir(), 'kms-agent-completion-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'kms-agent'), `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`, {
    mode: 0o755,
  });
  const profile = (name) =>
    `[profiles.${name}]\nclient_id = "c"\nissuer = "https://idp.example.com"\n`;
  const config = join(dir, 'config.toml');
  writeFileSync(config, profile('work') + profile('home'), { mode: 0o600 });
  const other = join(dir, 'other.toml');
  writeFileSync(other, profile('elsewhere'), { mode: 0o600 });
  chmodSync(dir, 0o700);
  const runtime = join(dir, 'run');
  mkdirSync(runtime, { mode: 0o700 });
  const env = {
    PATH: `${bin}:${process.env.PATH}`,
    HOME: dir,
    XDG_RUNTIME_DIR: runtime,
    XDG_STATE_HOME: join(dir, 'state'),
    KMS_AGENT_CONFIG: config,
  };
  return { dir, env, other, runtime };
}

function run(file, args, env) {
  return new Promise((resolve) => {
    execFile(file, args, { env, timeout: 30_000 }, (error, stdout, stderr) =>
      resolve({
        code: error ? (typeof error.code === 'number' ? error.code : 1) : 0,
        stdout,
        stderr,
      }),
    );
  });
}

test('bash: the script parses, and completes commands, options and profile names (from the config, or the --config on the line)', async (t) => {
  const { env, other, runtime } = setup(t);
  const script = await run('kms-agent', ['completion', 'bash'], env);
  assert.equal(script.code, 0, script.stderr);
  assert.equal((await run('bash', ['-n', '-c', script.stdout], env)).code, 0, 'bash -n');
  /** The words bash would offer for this command line (the last word is being completed). */
  const complete = async (...words) => {
    const body = `source <(kms-agent completion bash)
COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _kms_agent
printf '%s\\n' "\${COMPREPLY[@]}"; complete -p kms-agent`;
    const r = await run('bash', ['-c', body], env);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.equal(lines.pop(), 'complete -F _kms_agent kms-agent');
    return lines.filter(Boolean);
  };
  assert.deepEqual(await complete('kms-agent', 'to'), ['token']);
  for (const command of ['reload', 'whoami', 'add', 'completion', 'login', 'logout'])
    assert.ok((await complete('kms-agent', '')).includes(command), command);
  assert.deepEqual(await complete('kms-agent', 'token', '--h'), ['--header', '--help']);
  assert.deepEqual(await complete('kms-agent', 'token', '--profile', ''), ['work', 'home']);
  assert.deepEqual(await complete('kms-agent', 'login', '-p', 'h'), ['home']);
  assert.deepEqual(await complete('kms-agent', '--config', other, 'whoami', '--profile', ''), [
    'elsewhere',
  ]);
  assert.deepEqual(await complete('kms-agent', 'completion', ''), [
    'bash',
    'zsh',
    'fish',
    '-h',
    '--help',
  ]);
  assert.equal(existsSync(join(runtime, 'kms-agent')), false, 'no TAB started an agent');
});

test(
  'zsh: the script parses and registers its completion function',
  { skip: !hasCommand('zsh') && 'zsh is missing (apt-get install zsh)' },
  async (t) => {
    const { env } = setup(t);
    const script = (await run('kms-agent', ['completion', 'zsh'], env)).stdout;
    assert.equal((await run('zsh', ['-n', '-c', script], env)).code, 0, 'zsh -n');
    const r = await run(
      'zsh',
      [
        '-f',
        '-c',
        'autoload -U compinit && compinit -u -d "$HOME/.zcompdump"; eval "$(kms-agent completion zsh)"; print -r -- $_comps[kms-agent]; _kms_agent_command=kms-agent; whence -w _kms_agent_profiles',
      ],
      env,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '_kms_agent\n_kms_agent_profiles: function\n');
  },
);

test(
  'fish: the script parses and completes commands and profile names',
  { skip: !hasCommand('fish') && 'fish is missing (apt-get install fish)' },
  async (t) => {
    const { env, other } = setup(t);
    const script = (await run('kms-agent', ['completion', 'fish'], env)).stdout;
    assert.equal((await run('fish', ['-n', '-c', script], env)).code, 0, 'fish -n');
    const complete = async (line) => {
      const r = await run(
        'fish',
        ['-c', `kms-agent completion fish | source; complete -C '${line}'`],
        { ...env, XDG_CONFIG_HOME: join(env.HOME, 'fishconfig') },
      );
      assert.equal(r.code, 0, r.stderr);
      return r.stdout
        .trimEnd()
        .split('\n')
        .map((l) => l.split('\t')[0]);
    };
    assert.deepEqual(await complete('kms-agent who'), ['whoami']);
    assert.deepEqual((await complete('kms-agent token --profile ')).sort(), ['home', 'work']);
    assert.deepEqual(await complete(`kms-agent --config ${other} login --profile `), ['elsewhere']);
  },
);

test('completion with no shell is a usage error; --profiles prints nothing for a config it cannot read', async (t) => {
  const { env, dir } = setup(t);
  let r = await run('kms-agent', ['completion'], env);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, 'kms-agent: name a shell: kms-agent completion bash|zsh|fish\n');
  writeFileSync(join(dir, 'broken.toml'), '[profiles.x\n', { mode: 0o600 });
  r = await run(
    'kms-agent',
    ['--config', join(dir, 'broken.toml'), 'completion', '--profiles'],
    env,
  );
  assert.deepEqual([r.code, r.stdout, r.stderr], [0, '', '']);
});
