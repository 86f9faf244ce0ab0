import { randomUUID } from 'node:crypto';
import { AgentError } from '../../rpc/reasons.js';
import type { ProfileSession } from '../profileSession.js';
import { DeviceFlowUnsupportedError } from '../providerClient.js';
import type { TokenSet } from '../tokenSet.js';
import { loginFailed } from './loginErrors.js';
import { deferred, type PendingLogin } from './pendingLogin.js';

/** RFC 8628: the user enters a code on another device while the daemon polls the provider. */
export async function startDeviceLogin(session: ProfileSession): Promise<PendingLogin> {
  const profile = session.name;
  let start;
  try {
    start = await session.provider.startDevice();
  } catch (err) {
    if (err instanceof DeviceFlowUnsupportedError) throw new AgentError('INVALID_PARAMS', err.message);
    throw loginFailed(profile, err);
  }
  const abort = new AbortController();
  const outcome = deferred<TokenSet>();
  session.provider
    .pollDevice(start, abort.signal)
    .then(async (tokens) => {
      await session.adoptLogin(tokens);
      outcome.resolve(tokens);
    })
    .catch((err: unknown) => outcome.reject(abort.signal.aborted ? (abort.signal.reason as Error) : loginFailed(profile, err)));

  const login: PendingLogin = {
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
  return login;
}
