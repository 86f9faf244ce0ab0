import { randomUUID } from 'node:crypto';
import { AgentError } from '../../rpc/jsonRpc.js';
import { loginExpectations } from '../idExpectations.js';
import type { ProfileSession } from '../profileSession.js';
import { DeviceFlowUnsupportedError } from '../../provider/deviceRules.js';
import type { DeviceStart } from '../../provider/providerClient.js';
import { providerText } from '../../provider/providerText.js';
import type { StepUp } from '../../provider/stepUp.js';
import { DpopKey } from '../../provider/dpopKey.js';
import { toTokenSet } from '../../provider/tokenSet.js';
import { deviceCodeExpired, loginFailed } from './loginErrors.js';
import { deferred, type LoginResult, type PendingLogin } from './pendingLogin.js';

async function requestCode(session: ProfileSession, stepUp: StepUp): Promise<DeviceStart> {
  try {
    return await session.provider.startDevice(stepUp);
  } catch (err) {
    if (err instanceof DeviceFlowUnsupportedError)
      throw new AgentError('INVALID_PARAMS', err.message);
    throw loginFailed(session.name, err, 'device');
  }
}

/**
 * RFC 8628: the user enters a code on another device while the daemon polls the provider, at its
 * interval (at least 1 s: deviceRules.ts) and slowing down when told to (openid-client). Polling
 * stops when the user
 * approves or denies, when the provider says the code expired, or when the code's own lifetime
 * is over: a provider that keeps answering `authorization_pending` cannot keep the login open.
 */
export async function startDeviceLogin(
  session: ProfileSession,
  stepUp: StepUp,
  keepFor?: number,
): Promise<PendingLogin> {
  const profile = session.name;
  const start = await requestCode(session, stepUp);
  const abort = new AbortController();
  const outcome = deferred<LoginResult>();
  const lifetime = Math.max(1, Math.min(start.response.expires_in, 3600));
  // The login ends when the code does, not at the next poll (which may be seconds later).
  const expiry = setTimeout(() => {
    abort.abort(deviceCodeExpired(profile));
    outcome.reject(abort.signal.reason as Error);
  }, lifetime * 1000);
  expiry.unref();

  // A DPoP profile's new key: the login's tokens are bound to it.
  const dpop = session.profile.dpop ? DpopKey.generate() : undefined;
  session.provider
    .pollDevice(start, abort.signal, dpop)
    .then(async (tokens) => {
      // No nonce in a device authorization request: the id_token is held to the other rules.
      const previous = await session.grants.load().catch(() => null);
      const set = toTokenSet(
        tokens,
        loginExpectations(session.profile, previous, undefined, stepUp),
        'throw',
      );
      outcome.resolve({ set, previousSubject: await session.adoptLogin(set, keepFor) });
    })
    .catch((err: unknown) =>
      outcome.reject(
        abort.signal.aborted
          ? (abort.signal.reason as Error)
          : loginFailed(profile, err, 'device', [
              start.response.device_code,
              session.profile.clientSecret,
            ]),
      ),
    )
    .finally(() => clearTimeout(expiry));

  return {
    id: randomUUID(),
    profile,
    flow: 'device',
    url: providerText(start.url, 2000),
    userCode: providerText(start.response.user_code, 100),
    verificationUrl: providerText(start.response.verification_uri, 2000),
    expiresAt: Math.floor(Date.now() / 1000) + lifetime,
    result: outcome.promise,
    cancel: (error) => {
      abort.abort(error);
      outcome.reject(error);
    },
  };
}
