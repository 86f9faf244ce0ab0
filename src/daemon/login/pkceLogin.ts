import { randomUUID } from 'node:crypto';
import * as oidc from 'openid-client';
import { AgentError } from '../../rpc/reasons.js';
import type { ProfileSession } from '../profileSession.js';
import type { TokenSet } from '../tokenSet.js';
import { loginFailed } from './loginErrors.js';
import { LoopbackListener, type CallbackOutcome } from './loopbackListener.js';
import { deferred, type PendingLogin } from './pendingLogin.js';

/**
 * Authorization Code + PKCE (S256) with a fresh state, answered on the loopback redirect URL.
 * The tokens are adopted (refresh token stored) before the browser is told it worked.
 */
export async function startPkceLogin(session: ProfileSession, lifetimeSeconds: number): Promise<PendingLogin> {
  const profile = session.name;
  const state = oidc.randomState();
  const codeVerifier = oidc.randomPKCECodeVerifier();
  const codeChallenge = await oidc.calculatePKCECodeChallenge(codeVerifier);
  let url: URL;
  try {
    url = await session.provider.authorizationUrl({ state, codeChallenge });
  } catch (err) {
    throw loginFailed(profile, err);
  }
  const outcome = deferred<TokenSet>();

  const onCallback = async (callback: URL): Promise<CallbackOutcome & { done: boolean }> => {
    const error = callback.searchParams.get('error');
    if (error) {
      const description = callback.searchParams.get('error_description');
      const detail = description ? `${error}: ${description}` : error;
      outcome.reject(new AgentError('LOGIN_DENIED', `login to profile ${profile} was refused by the identity provider (${detail})`));
      return { status: 403, title: 'Login refused', detail: `The identity provider answered: ${detail}. You can close this tab.`, done: true };
    }
    try {
      const tokens = await session.provider.exchangeCode(callback, { codeVerifier, state });
      await session.adoptLogin(tokens);
      outcome.resolve(tokens);
      const who = tokens.email ?? tokens.subject;
      return {
        status: 200,
        title: 'Logged in',
        detail: `kms-agent is logged in to profile ${profile}${who ? ` as ${who}` : ''}. You can close this tab.`,
        done: true,
      };
    } catch (err) {
      const code = callback.searchParams.get('code') ?? undefined;
      const failure = loginFailed(profile, err, 'pkce', [code, codeVerifier, session.profile.clientSecret]);
      outcome.reject(failure);
      return { status: 502, title: 'Login failed', detail: `${failure.message}. You can close this tab.`, done: true };
    }
  };

  let listener: LoopbackListener;
  try {
    listener = await LoopbackListener.open(session.profile.redirectUrl, state, onCallback);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const where = session.profile.redirectUrl;
    throw new AgentError(
      code === 'EADDRINUSE' ? 'BUSY' : 'PROVIDER_ERROR',
      code === 'EADDRINUSE'
        ? `cannot receive the login at ${where}: the port is in use (another login in progress, or another program); finish or cancel it and retry`
        : `cannot listen for the login at ${where}: ${(err as Error).message}`,
    );
  }

  const timer = setTimeout(
    () => outcome.reject(new AgentError('LOGIN_TIMEOUT', `the login to profile ${profile} was not completed in time: run \`kms-agent login --profile ${profile}\` again`)),
    lifetimeSeconds * 1000,
  );
  timer.unref();
  const end = (): void => {
    clearTimeout(timer);
    listener.close();
  };
  outcome.promise.then(end, end);

  return {
    id: randomUUID(),
    profile,
    url: url.href,
    expiresAt: Math.floor(Date.now() / 1000) + lifetimeSeconds,
    result: outcome.promise,
    cancel: (error) => outcome.reject(error),
  };
}
