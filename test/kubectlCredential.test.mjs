// `kms-agent kubectl-credential` (README "kubectl") as the exec credential plugin of the real kubectl
// (/usr/bin/kubectl), against a stand-in API server over HTTPS that accepts only the agent's token.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { jwtPayload, makeSandbox } from './support/harness.mjs';
import { kmsAgentOnPath } from './support/binDir.mjs';
import { assertNoLeak, watchForToken } from './support/tokenWatch.mjs';
import { startKubeApi, writeKubeconfig } from './support/tools.mjs';

const kubectlFound = spawnSync('sh', ['-c', 'command -v kubectl']).status === 0;

test(
  "kubectl runs `kms-agent kubectl-credential` and sends the agent's token; not logged in, it stops with exit 1 naming exit code 5",
  { timeout: 120_000 },
  async (t) => {
    assert.ok(
      kubectlFound,
      'kubectl is not installed: these tests need the real kubectl on PATH (https://kubernetes.io/docs/tasks/tools/)',
    );
    const sb = await makeSandbox({ profile: { store: 'memory' } });
    let api;
    try {
      await sb.login();
      const token = (await sb.token()).stdout.trim();
      api = await startKubeApi({ acceptToken: (presented) => presented === token });
      const { HOME: _home, ...agentEnv } = sb.env;
      const env = { ...agentEnv, PATH: kmsAgentOnPath(sb.dir) };
      const kubeconfig = join(sb.dir, 'kubeconfig');
      const configure = (options = {}) =>
        writeKubeconfig(kubeconfig, {
          server: api.server,
          caData: api.caData,
          execCommand: 'kms-agent',
          execArgs: ['kubectl-credential'],
          ...options,
        });

      await t.test(
        'kubectl get --raw /version succeeds with the token; nothing else holds it',
        async () => {
          configure();
          const watch = watchForToken(token);
          const r = await api.kubectl(['--kubeconfig', kubeconfig, 'get', '--raw', '/version'], {
            env,
          });
          assertNoLeak(assert, await watch.stop(), 'kubectl');
          assert.equal(r.code, 0, r.stderr);
          assert.equal(JSON.parse(r.stdout).gitVersion, 'v1.32.0-kms-agent-test');
          assert.ok(api.requests.length > 0);
          assert.ok(
            api.requests.every((q) => q.authorization === `Bearer ${token}`),
            'every request carried the token',
          );
        },
      );

      await t.test(
        '--profile in the kubeconfig args, and an old kubeconfig asking for v1beta1',
        async () => {
          configure({
            execArgs: ['kubectl-credential', '--profile', 'local'],
            apiVersion: 'client.authentication.k8s.io/v1beta1',
          });
          const r = await api.kubectl(['--kubeconfig', kubeconfig, 'get', '--raw', '/version'], {
            env,
          });
          assert.equal(r.code, 0, r.stderr);
        },
      );

      await t.test(
        'the ExecCredential: the apiVersion asked for, the token, its expiry in RFC 3339',
        async () => {
          for (const apiVersion of [
            'client.authentication.k8s.io/v1',
            'client.authentication.k8s.io/v1beta1',
          ]) {
            const execInfo = JSON.stringify({
              kind: 'ExecCredential',
              apiVersion,
              spec: { interactive: false },
            });
            const r = await sb.cli(['kubectl-credential'], {
              env: { KUBERNETES_EXEC_INFO: execInfo },
            });
            assert.equal(r.code, 0, r.stderr);
            const credential = JSON.parse(r.stdout);
            assert.deepEqual(Object.keys(credential), ['apiVersion', 'kind', 'status']);
            assert.equal(credential.apiVersion, apiVersion);
            assert.equal(credential.kind, 'ExecCredential');
            assert.equal(credential.status.token, token);
            assert.match(
              credential.status.expirationTimestamp,
              /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/,
            );
            assert.equal(
              Date.parse(credential.status.expirationTimestamp) / 1000,
              jwtPayload(token).exp,
              "the token's own expiry",
            );
          }
          const r = await sb.cli(['kubectl-credential']);
          assert.equal(
            JSON.parse(r.stdout).apiVersion,
            'client.authentication.k8s.io/v1',
            'without KUBERNETES_EXEC_INFO: v1',
          );
        },
      );

      await t.test(
        "not logged in: kubectl exits 1, shows the plugin's exit code 5 and its line, and sends no request",
        async () => {
          configure();
          assert.equal((await sb.cli(['logout'])).code, 0);
          api.requests.length = 0;
          const r = await api.kubectl(['--kubeconfig', kubeconfig, 'get', '--raw', '/version'], {
            env,
          });
          assert.equal(r.code, 1);
          assert.match(
            r.stderr,
            /kms-agent: not logged in to profile local: run `kms-agent login --profile local`/,
          );
          assert.match(r.stderr, /exit code 5/);
          assert.equal(r.stdout, '');
          assert.equal(
            api.requests.filter((q) => q.authorization !== undefined).length,
            0,
            'no credential was sent',
          );
        },
      );
    } finally {
      await api?.close();
      await sb.close();
    }
  },
);
