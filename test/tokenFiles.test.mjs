// token_file = true (docs/tools.md): the agent keeps the profile's token in a private file that
// tools read (curl -H @file, kubeconfig tokenFile), replaced whole on every refresh.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { jwtPayload, makeSandbox } from './support/harness.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test(
  'token files: the served token, 0600, replaced whole by background refreshes, gone at logout and stop',
  { timeout: 90_000 },
  async (t) => {
    // 4 s tokens: the agent refreshes every ~2 s on its own, since the file is in use.
    const sb = await makeSandbox({
      provider: { accessTokenTtl: 4 },
      profile: { store: 'file', token_file: true },
    });
    const dir = join(sb.env.XDG_RUNTIME_DIR, 'kms-agent', 'tokens');
    const tokenPath = join(dir, 'local');
    const headerPath = join(dir, 'local.header');
    try {
      await sb.login();

      await t.test(
        'after login: the token and its header, 0600 in a 0700 directory, equal to what `token` serves',
        async () => {
          assert.equal(statSync(dir).mode & 0o777, 0o700);
          assert.equal(statSync(tokenPath).mode & 0o777, 0o600);
          assert.equal(statSync(headerPath).mode & 0o777, 0o600);
          for (let attempt = 0; ; attempt++) {
            const fromFile = readFileSync(tokenPath, 'utf8');
            const served = (await sb.token()).stdout.trim();
            if (fromFile === served || attempt === 5) {
              assert.equal(
                fromFile,
                served,
                'the file holds what `kms-agent token` prints (no newline)',
              );
              break;
            }
          }
          assert.equal(
            readFileSync(headerPath, 'utf8'),
            `Authorization: Bearer ${readFileSync(tokenPath, 'utf8')}\n`,
          );
          assert.equal(
            jwtPayload(readFileSync(tokenPath, 'utf8')).email,
            'alice@example.com',
            'the profile serves the id_token',
          );
        },
      );

      await t.test('status and status --json name both files (issue 20, trap 6)', async () => {
        const text = await sb.cli(['status']);
        assert.match(
          text.stdout,
          new RegExp(`^ {2}token files: ${tokenPath} and ${headerPath}$`, 'm'),
        );
        const json = JSON.parse((await sb.cli(['status', '--json'])).stdout);
        assert.deepEqual(json.profiles[0].token_files, { token: tokenPath, header: headerPath });
        // Where the socket (and so the token files) go without XDG_RUNTIME_DIR, said where --socket is.
        assert.match(
          (await sb.cli(['--help'])).stdout,
          /else\s+\$XDG_STATE_HOME\/kms-agent\/agent\.sock/,
        );
      });

      await t.test(
        'a reader racing the refreshes never sees half a file, and the agent refreshes with no client asking',
        async () => {
          const seen = new Set();
          let reads = 0;
          const until = Date.now() + 7000;
          while (Date.now() < until) {
            const text = readFileSync(tokenPath, 'utf8');
            const header = readFileSync(headerPath, 'utf8');
            reads++;
            assert.match(text, /^[\w-]+\.[\w-]+\.[\w-]+$/, 'a whole JWT every time');
            assert.match(header, /^Authorization: Bearer [\w-]+\.[\w-]+\.[\w-]+\n$/);
            seen.add(text);
            if (reads % 200 === 0) await sleep(1);
          }
          seen.forEach(sb.rememberSecret);
          t.diagnostic(`${reads} reads, ${seen.size} different tokens over 7 s`);
          assert.ok(
            seen.size >= 3,
            `the file was replaced by background refreshes (${seen.size} tokens)`,
          );
          const current = readFileSync(tokenPath, 'utf8');
          assert.ok(jwtPayload(current).exp > Date.now() / 1000, 'the file holds a valid token');
        },
      );

      await t.test(
        'stop removes the files; the next agent writes them again without being asked for a token',
        async () => {
          assert.equal((await sb.cli(['stop'])).code, 0);
          assert.equal(existsSync(tokenPath), false);
          assert.equal(existsSync(headerPath), false);
          assert.equal((await sb.cli(['start'])).code, 0);
          for (let i = 0; i < 100 && !existsSync(tokenPath); i++) await sleep(50);
          assert.ok(existsSync(tokenPath), 'written from the stored login at start');
          sb.rememberSecret(readFileSync(tokenPath, 'utf8'));
        },
      );

      await t.test('logout removes both files', async () => {
        assert.equal((await sb.cli(['logout'])).code, 0);
        assert.equal(existsSync(tokenPath), false);
        assert.equal(existsSync(headerPath), false);
      });
    } finally {
      await sb.close();
    }
  },
);
