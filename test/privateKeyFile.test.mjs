// private_key_file (docs/configuration.md, private_key_jwt): the key's alg, its kid (RFC 7638
// thumbprint, or the file's `kid:` line), and the file held to StrictModes and readable by its user
// only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { calculateJwkThumbprint } from 'jose';
import { readClientKey } from '../dist/config/privateKeyFile.js';

function keyDir(t) {
  const dir = mkdtempSync(join(tmpdir(), 'kms-agent-key-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const pemOf = (type, options, format = 'pkcs8') =>
  generateKeyPairSync(type, options).privateKey.export({ format: 'pem', type: format });

test('the alg follows the key; the kid is its RFC 7638 thumbprint unless the file names one', async (t) => {
  const dir = keyDir(t);
  const cases = [
    ['rsa', { modulusLength: 2048 }, 'RS256', 'pkcs1'],
    ['ec', { namedCurve: 'P-256' }, 'ES256', 'sec1'],
    ['ec', { namedCurve: 'P-384' }, 'ES384', 'pkcs8'],
    ['ed25519', {}, 'EdDSA', 'pkcs8'],
  ];
  for (const [type, options, alg, format] of cases) {
    const file = join(dir, `${alg}.pem`);
    writeFileSync(file, pemOf(type, options, format), { mode: 0o600 });
    const key = readClientKey(file);
    assert.equal(key.alg, alg);
    const jwk = key.key.export({ format: 'jwk' });
    delete jwk.d;
    for (const member of ['p', 'q', 'dp', 'dq', 'qi']) delete jwk[member];
    assert.equal(key.kid, await calculateJwkThumbprint(jwk), `${alg}: the thumbprint`);
  }
  const named = join(dir, 'named.pem');
  writeFileSync(named, `kid: ci-key-2026\n${pemOf('ed25519', {})}`, { mode: 0o600 });
  assert.equal(readClientKey(named).kid, 'ci-key-2026');
});

test('refused, saying what to do: readable by others, a directory others can write, not a key, encrypted', (t) => {
  const dir = keyDir(t);
  const file = join(dir, 'ci.pem');
  writeFileSync(file, pemOf('ec', { namedCurve: 'P-256' }), { mode: 0o644 });
  assert.throws(() => readClientKey(file), /others can read this private key .*chmod 600/);
  chmodSync(file, 0o600);
  const open = join(dir, 'open');
  mkdirSync(open, { mode: 0o777 });
  chmodSync(open, 0o777);
  const inOpen = join(open, 'ci.pem');
  writeFileSync(inOpen, pemOf('ec', { namedCurve: 'P-256' }), { mode: 0o600 });
  assert.throws(() => readClientKey(inOpen), /chmod go-w/);
  const notKey = join(dir, 'cert.pem');
  writeFileSync(notKey, 'not a key\n', { mode: 0o600 });
  assert.throws(() => readClientKey(notKey), /holds no private key in PEM form/);
  const encrypted = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
    format: 'pem',
    type: 'pkcs8',
    cipher: 'aes-256-cbc',
    passphrase: 'secret',
  });
  const locked = join(dir, 'locked.pem');
  writeFileSync(locked, encrypted, { mode: 0o600 });
  assert.throws(() => readClientKey(locked), /encrypted with a passphrase/);
  const secp256k1 = join(dir, 'k1.pem');
  writeFileSync(secp256k1, pemOf('ec', { namedCurve: 'secp256k1' }), { mode: 0o600 });
  assert.throws(() => readClientKey(secp256k1), /an EC key on secp256k1: use an RSA/);
});
