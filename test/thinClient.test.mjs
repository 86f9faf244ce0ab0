// `kms-agent token`, the command scripts run over and over, starts as little as it can: CommonJS,
// node:net and a few small files of ours — no ES module loader, no commander, pino or openid-client,
// even when it has to start an agent — and still behaves exactly like the full client for every
// answer. Its command line has one parser, whichever route it takes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Script } from 'node:vm';
import { CLI, ROOT, makeSandbox } from './support/harness.mjs';

/** Runs the built CLI with a preload that reports, at exit, every module the process loaded. */
function runTraced(args, env, input) {
  const dir = mkdtempSync(join(tmpdir(), 'kms-agent-trace-'));
  const hook = join(dir, 'hook.cjs');
  writeFileSync(
    hook,
    `process.on('exit', () => require('node:fs').writeSync(2, '\\nLOADED ' + JSON.stringify({
      files: Object.keys(require.cache).filter((f) => f !== __filename),
      esmLoader: process.moduleLoadList.includes('NativeModule internal/modules/esm/loader'),
    }) + '\\n'));\n`,
  );
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      ['-r', hook, CLI, ...args],
      { env, timeout: 30_000 },
      (error, stdout, stderr) => {
        rmSync(dir, { recursive: true, force: true });
        const [text, loaded] = stderr.split('\nLOADED ');
        resolve({ code: error ? error.code : 0, stdout, stderr: text, loaded: JSON.parse(loaded) });
      },
    );
    child.stdin.end(input ?? '');
  });
}

const ours = (loaded) => loaded.files.map((f) => relative(ROOT, f)).sort();

/**
 * The only file of ours the fast commands load through Node's module loader: the bin. Their modules
 * come from one script, dist/client/fastPath.bundle.cjs, read and compiled by the bin itself.
 */
const FAST_PATH_FILES = ['dist/client/bin.cjs'];

/**
 * A stand-in agent on a socket of its own, in a private directory: `behaviour(socket, line)` answers
 * each request line; `lines` keeps every line it received.
 */
async function fakeAgent(behaviour) {
  const dir = mkdtempSync(join(tmpdir(), 'kms-agent-fake-'));
  const socketPath = join(dir, 'agent.sock');
  const lines = [];
  const agent = { socketPath, lines, behaviour };
  const server = createServer((socket) => {
    socket.on('error', () => undefined);
    let text = '';
    socket.on('data', (chunk) => {
      text += chunk;
      for (let nl; (nl = text.indexOf('\n')) !== -1; text = text.slice(nl + 1)) {
        lines.push(text.slice(0, nl));
        agent.behaviour(socket, text.slice(0, nl));
      }
    });
  });
  await new Promise((resolve) => server.listen(socketPath, resolve));
  agent.close = () => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  };
  return agent;
}

test('kms-agent token loads only node:net and the fast path; other commands load the full CLI', async (t) => {
  const sb = await makeSandbox({ profile: { store: 'memory' } });
  try {
    await sb.login();
    await t.test('token, and global options before it, run the fast path', async () => {
      for (const args of [
        ['token'],
        ['--socket', sb.socketPath, 'token'],
        ['--no-autostart', 'token', '--json'],
      ]) {
        const r = await runTraced(args, sb.env);
        assert.equal(r.code, 0, r.stderr);
        sb.rememberSecret(r.stdout.replace(/^\{"token":"([^"]+)".*$/s, '$1'));
        assert.match(r.stdout, /^(\{"token":")?[\w-]+\.[\w-]+\.[\w-]+/);
        assert.deepEqual(ours(r.loaded), FAST_PATH_FILES, args.join(' '));
        assert.equal(r.loaded.esmLoader, false, `no ES module loader for ${args.join(' ')}`);
      }
    });
    await t.test('the credential helpers kubectl and git run take the same path', async () => {
      for (const [args, input] of [
        [['kubectl-credential'], undefined],
        [
          ['--no-autostart', 'git-credential', '--profile', 'local', 'get'],
          'protocol=https\nhost=git.example.com\n\n',
        ],
      ]) {
        const r = await runTraced(args, sb.env, input);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /"token":"|password=/);
        sb.rememberSecret(/"token":"([^"]+)"|password=(\S+)/.exec(r.stdout).slice(1).find(Boolean));
        assert.deepEqual(ours(r.loaded), FAST_PATH_FILES, args.join(' '));
        assert.equal(r.loaded.esmLoader, false, `no ES module loader for ${args.join(' ')}`);
      }
    });
    await t.test(
      'the contrast, so the check above can fail: status goes through commander and ES modules',
      async () => {
        const status = await runTraced(['status'], sb.env);
        assert.equal(status.code, 0, status.stderr);
        assert.ok(status.loaded.files.some((f) => f.includes('node_modules/commander/')));
        assert.equal(status.loaded.esmLoader, true);
      },
    );
  } finally {
    await sb.close();
  }
});

test('kms-agent token: errors from the agent keep their message and exit code on the fast path', async (t) => {
  const sb = await makeSandbox({ profile: { store: 'memory' } });
  try {
    assert.equal((await sb.cli(['start'])).code, 0);
    await t.test('LOGIN_REQUIRED is exit 5, one line on stderr and nothing on stdout', async () => {
      const r = await runTraced(['token'], sb.env);
      assert.equal(r.code, 5);
      assert.equal(r.stdout, '');
      assert.equal(
        r.stderr,
        'kms-agent: not logged in to profile local: run `kms-agent login --profile local`\n',
      );
      assert.equal(r.loaded.esmLoader, false, 'an agent that answers is answered on the fast path');
    });
    await t.test('UNKNOWN_PROFILE is exit 1', async () => {
      const r = await runTraced(['token', '--profile', 'nope'], sb.env);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^kms-agent: .*nope.*\n$/);
    });
    await t.test('a usage error is exit 1 before any connection', async () => {
      const r = await runTraced(['token', '--min-valid', 'soon'], sb.env);
      assert.equal(r.code, 1);
      assert.equal(r.stderr, 'kms-agent: --min-valid takes a number of seconds, got "soon"\n');
    });
  } finally {
    await sb.close();
  }
});

test('kms-agent token with no agent starts one through the same client, still without ES modules', async (t) => {
  const sb = await makeSandbox({ profile: { store: 'memory' } });
  try {
    await t.test('--no-autostart: exit 2 and what to run', async () => {
      const r = await runTraced(['token', '--no-autostart'], sb.env);
      assert.equal(r.code, 2);
      assert.match(
        r.stderr,
        /^kms-agent: no agent is running on .*agent\.sock \(no socket there\): start one with `eval "\$\(kms-agent start\)"`\n$/,
      );
    });
    await t.test(
      'autostart: the agent comes up, and the answer is the one it gives (not logged in yet)',
      async () => {
        const r = await runTraced(['token'], sb.env);
        assert.equal(r.code, 5, r.stderr);
        // Before it starts one, the client counts the config's profiles (issue 20: none, no agent) with
        // smol-toml's CommonJS build.
        const smolToml = relative(
          ROOT,
          realpathSync(join(ROOT, 'node_modules/smol-toml/dist/index.cjs')),
        );
        assert.deepEqual(ours(r.loaded), [...FAST_PATH_FILES, smolToml].sort());
        assert.equal(
          r.loaded.esmLoader,
          false,
          'no second client, no commander, no ES modules to start the agent',
        );
        assert.equal((await sb.rpc('agent.status')).socket, sb.socketPath);
      },
    );
  } finally {
    await sb.close();
  }
});

test('kms-agent token: an agent that hangs up, or talks garbage first, gets a clear error, never a hang', async (t) => {
  const agent = await fakeAgent(() => undefined);
  const env = {
    PATH: process.env.PATH,
    KMS_AGENT_SOCK: agent.socketPath,
    KMS_AGENT_NO_AUTOSTART: '1',
  };
  try {
    await t.test(
      'a hang-up before any answer is exit 1, naming the socket and what is behind a forward',
      async () => {
        agent.behaviour = (socket) => socket.destroy();
        const r = await runTraced(['token'], env);
        assert.equal(r.code, 1);
        assert.equal(
          r.stderr,
          `kms-agent: the agent closed the connection without answering: if ${agent.socketPath} is forwarded from another machine (ssh -R), no agent is running there; otherwise the agent stopped\n`,
        );
      },
    );
    await t.test(
      'lines that are not our answer are skipped; the answer after them is used',
      async () => {
        agent.behaviour = (socket) =>
          socket.end(
            'not json\n{"jsonrpc":"2.0","id":7,"result":{"token":"wrong"}}\n{"jsonrpc":"2.0","id":1,"result":{"token":"t0k3n","token_type":"DPoP","expires_at":1,"profile":"p"}}\n',
          );
        const r = await runTraced(['token', '--header'], env);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, 'Authorization: DPoP t0k3n\n');
      },
    );
    await t.test("an answer split across writes, then the error reason's exit code", async () => {
      agent.behaviour = (socket) => {
        socket.write('{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"provider down",');
        setTimeout(() => socket.end('"data":{"reason":"PROVIDER_UNREACHABLE"}}}\n'), 50);
      };
      const r = await runTraced(['token'], env);
      assert.equal(r.code, 6);
      assert.equal(r.stderr, 'kms-agent: provider down\n');
    });
    await t.test(
      "an error without a reason this client knows is exit 1 with the agent's words",
      async () => {
        agent.behaviour = (socket) =>
          socket.end(
            '{"jsonrpc":"2.0","id":1,"error":{"code":-32603,"message":"internal error: boom","data":{"reason":"NO_AGENT"}}}\n',
          );
        const r = await runTraced(['token'], env);
        assert.equal(r.code, 1, "a reason of the client's own, sent by an agent, is not believed");
        assert.equal(r.stderr, 'kms-agent: internal error: boom\n');
      },
    );
    await t.test(
      'a reader that is gone (`kms-agent token | head -c0`) is not an error: exit 0, no stack trace',
      async () => {
        agent.behaviour = (socket) =>
          setTimeout(
            () =>
              socket.end(
                '{"jsonrpc":"2.0","id":1,"result":{"token":"t0k3n","token_type":"Bearer","expires_at":1,"profile":"p"}}\n',
              ),
            300,
          );
        const child = spawn(process.execPath, [CLI, 'token'], {
          env,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        child.stdout.destroy();
        let stderr = '';
        child.stderr.on('data', (d) => (stderr += d));
        const [code, signal] = await new Promise((resolve) =>
          child.on('exit', (...a) => resolve(a)),
        );
        assert.deepEqual([code, signal, stderr], [0, null, '']);
      },
    );
    await t.test('a line past the 64 KiB cap is not buffered forever', async () => {
      agent.behaviour = (socket) => socket.write('x'.repeat(70 * 1024));
      const r = await runTraced(['token'], env);
      assert.equal(r.code, 1);
      assert.equal(r.stderr, 'kms-agent: the agent closed the connection\n');
    });
  } finally {
    agent.close();
  }
});

test("token's command line: one parser, so every route accepts and refuses the same things", async (t) => {
  const TOKEN = '{"token":"t0k3n","token_type":"Bearer","expires_at":4102444800,"profile":"p"}';
  const agent = await fakeAgent((socket, line) =>
    socket.write(`{"jsonrpc":"2.0","id":${JSON.parse(line).id},"result":${TOKEN}}\n`),
  );
  const env = {
    PATH: process.env.PATH,
    KMS_AGENT_SOCK: agent.socketPath,
    KMS_AGENT_NO_AUTOSTART: '1',
    KMS_AGENT_PROFILE: 'from-env',
  };
  /** The routes to `token`: as argv[2], and after global options (which commander used to parse). */
  const routes = [
    (args) => ['token', ...args],
    (args) => ['--no-autostart', 'token', ...args],
    (args) => ['--socket', agent.socketPath, 'token', ...args],
  ];
  /** What each route did with `args`: exit code, output, and the params the agent received. */
  async function onEveryRoute(args) {
    const seen = [];
    for (const route of routes) {
      agent.lines.length = 0;
      const r = await runTraced(route(args), env);
      seen.push({
        code: r.code,
        stdout: r.stdout,
        stderr: r.stderr,
        params: agent.lines.map((l) => JSON.parse(l).params),
      });
    }
    for (const other of seen.slice(1))
      assert.deepEqual(other, seen[0], `every route treats ${JSON.stringify(args)} alike`);
    return seen[0];
  }
  try {
    await t.test('accepted the same way, with the same request', async () => {
      const accepted = [
        [[], { profile: 'from-env' }, 't0k3n\n'],
        [['--json'], { profile: 'from-env' }, `${TOKEN}\n`],
        [
          ['--header', '--id'],
          { profile: 'from-env', kind: 'id' },
          'Authorization: Bearer t0k3n\n',
        ],
        [
          ['-p', 'work', '--access', '--min-valid=30'],
          { profile: 'work', kind: 'access', min_valid: 30 },
          't0k3n\n',
        ],
        [
          ['--profile=x', '--scope', 'openid email', '--audience', 'https://kms'],
          { profile: 'x', scope: 'openid email', audience: 'https://kms' },
          't0k3n\n',
        ],
        [['--id', '--id', '--json', '--json'], { profile: 'from-env', kind: 'id' }, `${TOKEN}\n`],
      ];
      for (const [args, params, stdout] of accepted) {
        const r = await onEveryRoute(args);
        assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
        assert.equal(r.stdout, stdout);
        assert.deepEqual(r.params, [params], args.join(' '));
      }
    });
    await t.test(
      'contradictory flags: exit 1, one line naming both, and the agent hears nothing',
      async () => {
        for (const args of [
          ['--json', '--header'],
          ['--header', '--json'],
          ['--id', '--access'],
          ['--access', '-p', 'x', '--id'],
        ]) {
          const r = await onEveryRoute(args);
          const [a, b] = args.includes('--json') ? ['--json', '--header'] : ['--id', '--access'];
          assert.deepEqual(
            [r.code, r.stdout, r.stderr, r.params],
            [1, '', `kms-agent: ${a} and ${b} cannot be used together\n`, []],
            args.join(' '),
          );
        }
      },
    );
    await t.test('other usage errors: exit 1, one line, nothing sent', async () => {
      const refused = [
        [['--bogus'], /unknown option --bogus/],
        [['--min-valid', 'soon'], /--min-valid takes a number of seconds, got "soon"/],
        [['--profile'], /option --profile needs a value/],
        [['--scope='], /option --scope needs a value/],
        [['--json=yes'], /option --json takes no value/],
        [['extra'], /unknown option extra/],
      ];
      for (const [args, says] of refused) {
        const r = await onEveryRoute(args);
        assert.equal(r.code, 1, args.join(' '));
        assert.match(r.stderr, says);
        assert.equal(r.stderr.split('\n').length, 2, 'one line');
        assert.deepEqual(r.params, []);
      }
    });
    await t.test(
      "commander's token command, were it reached, hands the line to the same parser",
      async () => {
        const { runCli } = await import('../dist/client/cli.js');
        const write = process.stderr.write;
        let stderr = '';
        process.stderr.write = (chunk) => ((stderr += chunk), true);
        let code;
        try {
          code = await runCli([process.execPath, CLI, 'token', '--json', '--header']);
        } finally {
          process.stderr.write = write;
        }
        assert.deepEqual(
          [code, stderr],
          [1, 'kms-agent: --json and --header cannot be used together\n'],
        );
      },
    );
  } finally {
    agent.close();
  }
});

test("the fast path's bundle and its code cache: accepted by this node, and a cache it rejects changes nothing", async (t) => {
  const bundle = join(ROOT, 'dist', 'client', 'fastPath.bundle.cjs');
  await t.test(
    'the build made a cache this node accepts (compiled as src/os/bundleLoader.ts compiles it)',
    () => {
      const script = new Script(readFileSync(bundle, 'utf8'), {
        filename: bundle,
        cachedData: readFileSync(`${bundle}.cache`),
      });
      assert.equal(script.cachedDataRejected, false);
    },
  );
  const agent = await fakeAgent((socket) =>
    socket.end(
      '{"jsonrpc":"2.0","id":1,"result":{"token":"t0k3n","token_type":"Bearer","expires_at":1,"profile":"p"}}\n',
    ),
  );
  // A copy of dist/ whose cache is garbage, then missing: the token path needs no package of node_modules.
  const copy = mkdtempSync(join(tmpdir(), 'kms-agent-dist-'));
  try {
    cpSync(join(ROOT, 'dist'), join(copy, 'dist'), { recursive: true });
    const env = {
      PATH: process.env.PATH,
      KMS_AGENT_SOCK: agent.socketPath,
      KMS_AGENT_NO_AUTOSTART: '1',
    };
    for (const [what, change] of [
      ['a cache from another V8', (file) => writeFileSync(file, Buffer.alloc(4096, 7))],
      ['no cache', (file) => rmSync(file)],
    ]) {
      await t.test(what, async () => {
        change(join(copy, 'dist', 'client', 'fastPath.bundle.cjs.cache'));
        const r = await new Promise((resolve) =>
          execFile(
            process.execPath,
            [join(copy, 'dist', 'client', 'bin.cjs'), 'token', '--json'],
            { env },
            (error, stdout, stderr) => resolve({ code: error ? error.code : 0, stdout, stderr }),
          ),
        );
        assert.deepEqual(r, {
          code: 0,
          stdout: '{"token":"t0k3n","token_type":"Bearer","expires_at":1,"profile":"p"}\n',
          stderr: '',
        });
      });
    }
  } finally {
    agent.close();
    rmSync(copy, { recursive: true, force: true });
  }
});
