// ProfileSession in process (docs/protocol.md, token.get): single flight, a rotated refresh token
// stored before anyone is answered, what a failure means, with a provider and a store the test drives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProfileSession } from '../dist/daemon/profileSession.js';
import { MemoryStore } from '../dist/daemon/stores/memoryStore.js';
import { deferred, fakeJwt, silentLog, unitProfile } from './support/unitProfile.mjs';

const now = () => Math.floor(Date.now() / 1000);

/** A provider whose refresh answers are queued by the test; it records every refresh token it gets. */
function fakeProvider() {
  const calls = [];
  const answers = [];
  return {
    calls,
    answer: (fn) => answers.push(fn),
    refresh: async (refreshToken) => {
      calls.push(refreshToken);
      const next = answers.shift();
      if (!next) throw new Error('the test queued no answer');
      return next();
    },
  };
}

function tokens(n, { lifetime = 3600, rotate = true, idToken = true } = {}) {
  const response = { access_token: `access-${n}`, token_type: 'Bearer', expires_in: lifetime };
  if (rotate) response.refresh_token = `rt-${n}`;
  // One clock reading: a second boundary between two would make the id_token one second shorter.
  const iat = now();
  const exp = iat + lifetime;
  const email = 'alice@example.com';
  const claims = { iss: 'https://idp.example', sub: 'alice', aud: 'unit-client', exp, iat, email };
  return { response, idToken: idToken ? fakeJwt(claims) : undefined };
}

async function sessionWithLogin(provider, store = new MemoryStore()) {
  const profile = unitProfile();
  await store.save(profile.storeKey, {
    refresh_token: 'rt-0',
    subject: 'alice',
    issuer: 'https://idp.example',
    saved_at: now(),
  });
  return new ProfileSession(profile, store, silentLog, undefined, provider);
}

test('profileSession: single flight, rotation stored first, failures', async (t) => {
  await t.test(
    '100 concurrent callers that need a refresh share one provider call and its result',
    async () => {
      const provider = fakeProvider();
      const session = await sessionWithLogin(provider);
      const answer = deferred();
      provider.answer(() => answer.promise);
      const replies = Array.from({ length: 100 }, () => session.getToken({}));
      await new Promise((r) => setImmediate(r));
      answer.resolve(tokens(1));
      const served = await Promise.all(replies);
      assert.equal(provider.calls.length, 1);
      assert.equal(new Set(served.map((r) => r.token)).size, 1);
      // The next call is the hot path: answered synchronously, no promise, the same object.
      const cached = session.getToken({});
      assert.ok(!(cached instanceof Promise));
      assert.equal(cached, session.getToken({}));
      session.close();
    },
  );

  await t.test(
    'a rotated refresh token reaches the store before any caller is answered',
    async () => {
      const provider = fakeProvider();
      const store = new MemoryStore();
      const order = [];
      const slowSave = deferred();
      const save = store.save.bind(store);
      const session = await sessionWithLogin(provider, store);
      store.save = async (key, grant) => {
        order.push(`save ${grant.refresh_token}`);
        await slowSave.promise;
        await save(key, grant);
        order.push('saved');
      };
      provider.answer(async () => tokens(1));
      const reply = session.getToken({}).then((r) => order.push(`answered ${r.profile}`));
      await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(order, ['save rt-1'], 'nobody answered while the store writes');
      slowSave.resolve();
      await reply;
      assert.deepEqual(order, ['save rt-1', 'saved', 'answered unit']);
      assert.equal((await store.load(session.profile.storeKey)).refresh_token, 'rt-1');
      session.close();
    },
  );

  await t.test(
    'a 4xx to a refresh ends the login (LOGIN_REQUIRED), forgets the grant, and is not retried per call',
    async () => {
      const provider = fakeProvider();
      const store = new MemoryStore();
      const session = await sessionWithLogin(provider, store);
      const dead = Object.assign(new Error('unexpected HTTP response status code'), {
        cause: new Response('', { status: 400 }),
      });
      provider.answer(async () => {
        throw dead;
      });
      await assert.rejects(
        session.getToken({}),
        (err) =>
          err.reason === 'LOGIN_REQUIRED' &&
          /no longer accepts its refresh token \(HTTP 400 from the provider with an empty body\)/.test(
            err.message,
          ),
      );
      assert.equal(
        await store.load(session.profile.storeKey),
        null,
        'the dead refresh token is forgotten',
      );
      await assert.rejects(session.getToken({}), (err) => err.reason === 'LOGIN_REQUIRED');
      assert.equal(provider.calls.length, 1, 'no second provider call');
      session.close();
    },
  );

  await t.test(
    'an unreachable provider: the valid cached token is served; none cached: PROVIDER_UNREACHABLE; one attempt per second',
    async () => {
      const provider = fakeProvider();
      const session = await sessionWithLogin(provider);
      provider.answer(async () => tokens(1, { lifetime: 4 }));
      const first = await session.getToken({});
      const down = () => {
        throw new TypeError('fetch failed', {
          cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
        });
      };
      provider.answer(down);
      const stale = await session.getToken({ min_valid: 4 });
      assert.equal(
        stale.token,
        first.token,
        'the still-valid token is served while the provider is down',
      );
      provider.answer(down);
      const started = Date.now();
      const again = await session.getToken({ min_valid: 4 });
      assert.equal(again.token, first.token);
      assert.ok(
        Date.now() - started >= 900,
        `the second attempt waited for its slot (${Date.now() - started} ms)`,
      );
      assert.equal(provider.calls.length, 3);
      session.close();
    },
  );

  await t.test(
    'a refresh without an id_token: the last one is served while valid, never the access token in its place',
    async () => {
      const provider = fakeProvider();
      const session = await sessionWithLogin(provider);
      provider.answer(async () => tokens(1, { lifetime: 4 }));
      const id = await session.getToken({});
      provider.answer(async () => tokens(2, { lifetime: 3600, idToken: false }));
      const access = await session.getToken({ kind: 'access', min_valid: 4 });
      assert.equal(access.token, 'access-2');
      assert.equal(
        (await session.getToken({})).token,
        id.token,
        'the id_token of the login, still valid',
      );
      assert.equal(provider.calls.length, 2);
      session.close();
    },
  );
});
