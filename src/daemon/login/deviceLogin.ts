import { randomUUID } from 'node:crypto';
import { AgentError } from '../../rpc/reasons.js';
import type { ProfileSession } from '../profileSession.js';
import { DeviceFlowUnsupportedError } from '../providerClient.js';
import type { TokenSet } from '../tokenSet.js';
import { deviceCodeExpired, loginFailed } from './loginErrors.js';
import { deferred, type PendingLogin } from './pendingLogin.js';

/**
 * RFC 8628: the user enters a code on another device while the daemon polls the provider, at its
 * interval and slowing down when told to (openid-client does both). Polling stops when the user
 * approves or denies, when the provider says the code expired, or when the code's own lifetime
 * is over: a provider that keeps answering `authorization_pending` cannot keep the login open.
 */
export async function startDeviceLogin(session: ProfileSession): Promise<PendingLogin> {
  const profile = session.name;
  let start;
  try {
    start = await session.provider.startDevice();
  } catch (err) {
    if (err instanceof DeviceFlowUnsupportedError) throw new AgentError('INVALID_PARAMS', err.message);
    throw loginFailed(profile, err, 'device');
  }
  const abort = new AbortController();
  const outcome = deferred<TokenSet>();
  const expiry = setTimeout(() => abort.abort(deviceCodeExpired(profile)), start.response.expires_in * 1000);
  expiry.unref();

  session.provider
    .pollDevice(start, abort.signal)
    .then(async (tokens) => {
      await session.adoptLogin(tokens);
      outcome.resolve(tokens);
    })
    .catch((err: unknown) =>
      outcome.reject(
        abort.signal.aborted
          ? (abort.signal.reason as Error)
          : loginFailed(profile, err, 'device', [start.response.device_code, session.profile.clientSecret]),
      ),
    )
    .finally(() => clearTimeout(expiry));

  return {
    id: randomUUID(),
    profile,
    url: start.url,
    userCode: start.response.user_code,
    verificationUrl: start.response.verification_uri,
    expiresAt: Math.floor(Date.now() / 1000) + start.response.expires_in,
    result: outcome.promise,
    cancel: (error) => {
      abort.abort(error);
      outcome.reject(error);
    },
  };
}
