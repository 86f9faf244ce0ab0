// Token files (README "Token files") read by real tools: curl's `-H @file` with the header file, and
// a kubeconfig `tokenFile` read by the real kubectl, against the stand-in API server over HTTPS.
// The token is in those two files the user asked for, and nowhere else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeSandbox } from './support/harness.mjs';
import { assertNoLeak, watchForToken } from './support/tokenWatch.mjs';
import { startKubeApi, writeKubeconfig } from './support/tools.mjs';
import { run } from './support/tools/processRun.mjs';

const has = (tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;

test(
  "token files: curl -H @<profile>.header and a kubeconfig tokenFile send the agent's token",
  { timeout: 120_000 },
  async (t) => {
    assert.ok(
      has('curl'),
      'curl is not installed: install the Debian package curl (scripts/setup-debian.sh does)',
    );
    assert.ok(
      has('kubectl'),
      'kubectl is not installed: these tests need the real kubectl on PATH (https://kubernetes.io/docs/tasks/tools/)',
    );
    const sb = await makeSandbox({ profile: { store: 'memory', token_file: true } });
    let api;
    try {
      await sb.login();
      const tokens = join(sb.env.XDG_RUNTIME_DIR, 'kms-agent', 'tokens');
      const token = readFileSync(join(tokens, 'local'), 'utf8');
      sb.rememberSecret(token);
      api = await startKubeApi({ acceptToken: (presented) => presented === token });
      const caFile = join(sb.dir, 'ca.crt');
      writeFileSync(caFile, Buffer.from(api.caData, 'base64'));
      const watch = watchForToken(token, { fileAllowed: (path) => path.startsWith(`${tokens}/`) });

      await t.test('curl -H @$XDG_RUNTIME_DIR/kms-agent/tokens/local.header', async () => {
        const r = await run('curl', [
          '--silent',
          '--show-error',
          '--fail',
          '--cacert',
          caFile,
          '-H',
          `@${join(tokens, 'local.header')}`,
          `${api.server}/version`,
        ]);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(JSON.parse(r.stdout).gitVersion, 'v1.32.0-kms-agent-test');
        assert.equal(api.requests.at(-1).authorization, `Bearer ${token}`);
      });

      await t.test(
        'kubectl with `tokenFile: …/kms-agent/tokens/local` in the kubeconfig',
        async () => {
          const kubeconfig = writeKubeconfig(join(sb.dir, 'kubeconfig'), {
            server: api.server,
            caData: api.caData,
            tokenFile: join(tokens, 'local'),
          });
          const r = await api.kubectl(['--kubeconfig', kubeconfig, 'get', '--raw', '/version']);
          assert.equal(r.code, 0, r.stderr);
          assert.equal(api.requests.at(-1).authorization, `Bearer ${token}`);
        },
      );

      await t.test('the token is in the token files only', async () => {
        assertNoLeak(assert, await watch.stop(), 'token files');
      });
    } finally {
      await api?.close();
      await sb.close();
    }
  },
);
