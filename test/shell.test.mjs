// Shell integration as a user types it: eval "$(kms-agent start)" in sh (and csh syntax), and
// `kms-agent exec` putting the token in one command's environment — never on a command line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CLI, makeSandbox } from './support/harness.mjs';
import { allCommandLines, waitForChild } from './support/processes.mjs';
import { freePort } from '../dist/demo/freePort.js';

const sha256 = (text) => createHash('sha256').update(text).digest('hex');

/** Runs `sh -c SCRIPT` in the sandbox's environment. */
function sh(sb, script, extraEnv = {}) {
  return new Promise((resolve) => {
    execFile(
      'sh',
      ['-c', script],
      { env: { ...sb.env, KMS_CLI: CLI, NODE: process.execPath, ...extraEnv }, timeout: 60_000 },
      (error, stdout, stderr) => {
        sb.logs.push(stderr);
        resolve({
          code: error ? (typeof error.code === 'number' ? error.code : 1) : 0,
          stdout,
          stderr,
        });
      },
    );
  });
}

/** A sandbox whose login listener has a port of its own and whose refresh token goes to a file. */
async function sandbox() {
  const redirect = `http://localhost:${await freePort()}/authorization`;
  return makeSandbox({
    provider: { redirectUris: [redirect] },
    profile: { redirect_url: redirect, store: 'file' },
  });
}

test(
  'eval "$(kms-agent start)" in sh exports the socket, status works; csh syntax; a second start prints the same',
  { timeout: 60_000 },
  async () => {
    const sb = await sandbox();
    try {
      const r = await sh(
        sb,
        'eval "$("$NODE" "$KMS_CLI" start)" || exit 90; echo "sock=$KMS_AGENT_SOCK"; echo "pid=$KMS_AGENT_PID"; "$NODE" "$KMS_CLI" status',
      );
      assert.equal(r.code, 0, `eval + status (stderr: ${r.stderr})`);
      const lines = r.stdout.split('\n');
      assert.match(lines[0], /^Agent pid \d+$/, 'ssh-agent style "Agent pid N" from the eval');
      assert.equal(lines[1], `sock=${sb.socketPath}`, 'KMS_AGENT_SOCK is the agent socket');
      const pid = Number(lines[2].replace('pid=', ''));
      assert.ok(pid > 0, 'KMS_AGENT_PID is set');
      assert.match(
        lines[3],
        new RegExp(`^agent pid ${pid}, version \\S+, up \\S+, socket ${sb.socketPath}$`),
      );
      assert.match(r.stdout, /^profile local: not logged in$/m);
      process.kill(pid, 0); // the agent outlives the shell that started it

      // The socket variable is what the client uses: a shell that exports another path finds no agent there.
      const elsewhere = await sh(sb, '"$NODE" "$KMS_CLI" status', {
        KMS_AGENT_SOCK: `${sb.dir}/nothing-here.sock`,
      });
      assert.equal(elsewhere.code, 2, 'no agent at the exported path: exit 2');

      // A second start with the agent running: the same exports, exit 0, no second agent.
      const again = await sb.cli(['start']);
      assert.equal(again.code, 0, again.stderr);
      assert.equal(
        again.stdout,
        `KMS_AGENT_SOCK=${sb.socketPath}; export KMS_AGENT_SOCK;\nKMS_AGENT_PID=${pid}; export KMS_AGENT_PID;\necho Agent pid ${pid};\n`,
      );
      const evalAgain = await sh(
        sb,
        'eval "$("$NODE" "$KMS_CLI" start)" >/dev/null && echo "$KMS_AGENT_SOCK $KMS_AGENT_PID"',
      );
      assert.equal(evalAgain.stdout, `${sb.socketPath} ${pid}\n`);

      // csh syntax, by flag and from $SHELL.
      const csh = await sb.cli(['start', '-c']);
      assert.equal(csh.code, 0, csh.stderr);
      assert.equal(
        csh.stdout,
        `setenv KMS_AGENT_SOCK ${sb.socketPath};\nsetenv KMS_AGENT_PID ${pid};\necho Agent pid ${pid};\n`,
      );
      const fromShell = await sb.cli(['start'], { env: { SHELL: '/bin/tcsh' } });
      assert.equal(fromShell.stdout, csh.stdout, '$SHELL ending in csh selects csh syntax');
      const forcedSh = await sb.cli(['start', '-s'], { env: { SHELL: '/bin/tcsh' } });
      assert.equal(forcedSh.stdout, again.stdout, '-s overrides $SHELL');

      const status = await sb.rpc('agent.status');
      assert.equal(status.pid, pid, 'still the first agent');

      // eval "$(kms-agent stop)", as with ssh-agent -k: the agent goes, and so do the variables.
      const stopped = await sh(
        sb,
        'eval "$("$NODE" "$KMS_CLI" start)" >/dev/null; eval "$("$NODE" "$KMS_CLI" stop)" || exit 90; echo "sock=${KMS_AGENT_SOCK-unset} pid=${KMS_AGENT_PID-unset}"',
      );
      assert.equal(stopped.code, 0, stopped.stderr);
      assert.equal(stopped.stdout, `Agent pid ${pid} killed\nsock=unset pid=unset\n`);
      const alive = () => {
        try {
          return process.kill(pid, 0);
        } catch {
          return false;
        }
      };
      for (let i = 0; i < 100 && alive(); i++) await new Promise((r) => setTimeout(r, 50));
      assert.equal(alive(), false, 'the agent is gone');
      await sb.cli(['start']);
      const cshStop = await sb.cli(['stop', '-c']);
      assert.match(
        cshStop.stdout,
        /^unsetenv KMS_AGENT_SOCK;\nunsetenv KMS_AGENT_PID;\necho Agent pid \d+ killed;\n$/,
      );
    } finally {
      await sb.close();
    }
  },
);

test(
  'kms-agent exec: token in the environment, --env, exit codes and signals passed through, never on a command line',
  { timeout: 90_000 },
  async () => {
    const sb = await sandbox();
    let background;
    try {
      await sb.login();
      const t = await sb.token();
      assert.equal(t.code, 0, t.stderr);
      const token = t.stdout.trim();
      assert.match(token, /^eyJ[\w-]+\.[\w-]+\.[\w-]+$/);

      // The variable is set (the exit code proves it), and it is the token `kms-agent token` prints.
      let r = await sb.cli(['exec', '--', 'sh', '-c', 'test -n "$KMS_ACCESS_TOKEN" && exit 7']);
      assert.equal(r.code, 7, `exec passes the exit code through (stderr: ${r.stderr})`);
      r = await sb.cli(['exec', '--', 'sh', '-c', 'printf %s "$KMS_ACCESS_TOKEN" | sha256sum']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.split(' ')[0], sha256(token), 'KMS_ACCESS_TOKEN holds the token');

      // --env NAME puts it there instead.
      r = await sb.cli([
        'exec',
        '--env',
        'MY_TOKEN',
        '--',
        'sh',
        '-c',
        'test -z "$KMS_ACCESS_TOKEN" || exit 9; printf %s "$MY_TOKEN" | sha256sum',
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.split(' ')[0], sha256(token), 'MY_TOKEN holds the token');
      r = await sb.cli(['exec', '--env', 'not a name', '--', 'true']);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /--env: "not a name" is not a valid variable name/);
      // The command's own option without -- (issue 20, trap 5): the hint says where -- goes.
      r = await sb.cli(['exec', '--env', 'MY_TOKEN', 'sh', '-c', 'exit 7']);
      assert.equal(r.code, 1);
      assert.equal(
        r.stderr,
        "error: unknown option '-c': put -- before the command, so its options are its own: `kms-agent exec -- sh -c …`\n",
      );
      r = await sb.cli(['exec', '--evn', 'X', '--', 'true']);
      assert.equal(
        r.stderr,
        "error: unknown option '--evn'\n(Did you mean --env?)\n",
        "a typo of exec's own option gets no such hint",
      );

      // Exit codes: plain, a signal (128 + 15 for SIGTERM, as shells report it), command not found.
      r = await sb.cli(['exec', '--', 'sh', '-c', 'exit 3']);
      assert.equal(r.code, 3);
      r = await sb.cli(['exec', '--', 'sh', '-c', 'kill -TERM $$; sleep 5']);
      assert.equal(r.code, 143, 'a child killed by SIGTERM gives 143');
      r = await sb.cli(['exec', '--', 'sh', '-c', 'kill -KILL $$']);
      assert.equal(r.code, 137, 'SIGKILL gives 137');
      r = await sb.cli(['exec', '--', 'kms-agent-no-such-command']);
      assert.equal(r.code, 127);
      assert.match(r.stderr, /cannot run kms-agent-no-such-command: command not found/);

      // While `exec -- sleep 30` runs, no process's command line holds the token (what `ps` shows),
      // though the sleep's environment does (which only its owner can read). The test ends the sleep.
      background = spawn(process.execPath, [CLI, 'exec', '--', 'sleep', '30'], {
        env: sb.env,
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let bgStderr = '';
      background.stderr.on('data', (d) => (bgStderr += d));
      const bgExit = new Promise((resolve) => background.on('close', (code) => resolve(code)));
      const sleeper = await waitForChild(background.pid, ['sleep', '30'], 5000);
      assert.ok(sleeper, 'the exec child `sleep 30` is running');
      const environ = readFileSync(`/proc/${sleeper.pid}/environ`, 'utf8').split('\0');
      assert.ok(
        environ.includes(`KMS_ACCESS_TOKEN=${token}`),
        'the token is in the child environment',
      );
      const withToken = allCommandLines().filter(({ args }) => args.some((a) => a.includes(token)));
      assert.deepEqual(withToken, [], 'no command line holds the token');
      const ps = await new Promise((resolve) =>
        execFile('ps', ['-eww', '-o', 'pid=,args='], (error, stdout) => resolve(stdout)),
      );
      assert.match(ps, new RegExp(`^\\s*${sleeper.pid} sleep 30$`, 'm'), 'ps lists the child');
      assert.equal(ps.includes(token), false, 'ps shows no token');
      assert.equal(ps.includes(token.split('.')[2]), false, 'not even the signature part');
      process.kill(sleeper.pid, 'SIGTERM');
      assert.equal(await bgExit, 143, bgStderr);
      sb.logs.push(bgStderr);
    } finally {
      if (background && background.exitCode === null) background.kill('SIGKILL');
      await sb.close();
    }
  },
);
