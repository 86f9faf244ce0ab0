// Small in-process tests build the daemon's parts by hand: a profile as the config loader makes it,
// a silent logger, a fake provider and store whose timing the test controls.
import { pino } from 'pino';
import { storeKeyOf } from '../../dist/config/storeKey.js';

export const silentLog = pino({ level: 'silent' });

/** A validated profile with explicit endpoints at `base` (override any field). */
export function unitProfile(base = 'http://127.0.0.1:1/', fields = {}) {
  const profile = {
    name: 'unit',
    source: '/dev/null',
    sourceKind: 'config',
    clientId: 'unit-client',
    tokenEndpointAuthMethod: 'none',
    grant: 'authorization_code',
    dpop: false,
    authorizeUrl: `${base}authorize`,
    tokenUrl: `${base}token`,
    redirectUrl: 'http://localhost:17899/authorization',
    scopes: ['openid', 'email', 'offline_access'],
    extraAuthParams: {},
    token: 'auto',
    servedKind: 'id',
    tokenFile: false,
    store: 'memory',
    allowHttp: true,
    ...fields,
  };
  return { ...profile, storeKey: storeKeyOf(profile) };
}

/** A JWT the agent's rules accept (the signature is not checked: the token came from the token endpoint). */
export function fakeJwt(claims, header = { alg: 'RS256', kid: 'k' }) {
  const part = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part(header)}.${part(claims)}.c2lnbmF0dXJl`;
}

/** A promise with its settle functions. */
export function deferred() {
  let resolve;
  let reject;
  const promise = new Promise((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
