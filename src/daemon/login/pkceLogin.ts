import { randomUUID } from 'node:crypto';
import { AgentError } from '../../rpc/jsonRpc.js';
import { knownIssuer, loginExpectations } from '../idExpectations.js';
import { openidClient } from '../../provider/openidClient.js';
import type { ProfileSession } from '../profileSession.js';
import { providerText } from '../../provider/providerText.js';
import type { StepUp } from '../../provider/stepUp.js';
import { DpopKey } from '../../provider/dpopKey.js';
import type { Profile } from '../../config/profile.js';
import { toTokenSet } from '../../provider/tokenSet.js';
import { writeBrowserPage, type BrowserPage } from './browserPage.js';
import { loginCommand } from '../../text/loginCommand.js';
import { loginFailed } from './loginErrors.js';
import { LoopbackListener, type CallbackOutcome } from './loopbackListener.js';
import { deferred, type LoginResult, type PendingLogin } from './pendingLogin.js';

type Outcome = CallbackOutcome & { done: boolean };

/** The secrets of one authorization request; none ever leaves the daemon. */
interface LoginChecks {
  state: string;
  codeVerifier: string;
  codeChallenge: string;
  /** Sent whenever the request asks for openid (some providers require it; it binds the id_token to this login). */
  nonce: string | undefined;
  /** A DPoP profile's new key: the login's tokens are bound to it. */
  dpop: DpopKey | undefined;
}

async function freshChecks(profile: Profile): Promise<LoginChecks> {
  const oidc = await openidClient();
  const codeVerifier = oidc.randomPKCECodeVerifier();
  return {
    state: oidc.randomState(),
    codeVerifier,
    codeChallenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
    nonce: profile.scopes.includes('openid') ? oidc.randomNonce() : undefined,
    dpop: profile.dpop ? DpopKey.generate() : undefined,
  };
}

/** The browser's answer: refused at the provider, or a code to exchange (the tokens are adopted before the page says so). */
function callbackHandler(
  session: ProfileSession,
  checks: LoginChecks,
  stepUp: StepUp,
  outcome: ReturnType<typeof deferred<LoginResult>>,
  keepFor: number | undefined,
): (url: URL) => Promise<Outcome> {
  const profile = session.name;
  return async (callback) => {
    const error = callback.searchParams.get('error');
    if (error) {
      const description = callback.searchParams.get('error_description');
      const detail = providerText(description ? `${error}: ${description}` : error);
      outcome.reject(
        new AgentError(
          'LOGIN_DENIED',
          `login to profile ${profile} was refused by the identity provider (${detail})`,
        ),
      );
      return {
        status: 403,
        title: 'Login refused',
        detail: `The identity provider answered: ${detail}. You can close this tab.`,
        done: true,
      };
    }
    const code = callback.searchParams.get('code') ?? undefined;
    try {
      const previous = await session.grants.load().catch(() => null);
      const checked = { ...checks, knownIssuer: knownIssuer(session.profile, previous) };
      const tokens = await session.provider.exchangeCode(callback, checked, checks.dpop);
      const set = toTokenSet(
        tokens,
        loginExpectations(session.profile, previous, checks.nonce, stepUp),
        'throw',
      );
      const previousSubject = await session.adoptLogin(set, keepFor);
      outcome.resolve({ set, previousSubject });
      const who = set.email ?? set.subject;
      return {
        status: 200,
        title: 'Logged in',
        detail: `kms-agent is logged in to profile ${profile}${who ? ` as ${providerText(who, 200)}` : ''}. You can close this tab.`,
        done: true,
      };
    } catch (err) {
      const failure = loginFailed(profile, err, 'pkce', [
        code,
        checks.codeVerifier,
        session.profile.clientSecret,
      ]);
      outcome.reject(failure);
      return {
        status: 502,
        title: 'Login failed',
        detail: `${failure.message}. You can close this tab.`,
        done: true,
      };
    }
  };
}

async function openListener(
  session: ProfileSession,
  state: string,
  onCallback: (url: URL) => Promise<Outcome>,
): Promise<LoopbackListener> {
  const where = session.profile.redirectUrl;
  try {
    return await LoopbackListener.open(where, state, onCallback);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw code === 'EADDRINUSE'
      ? new AgentError(
          'BUSY',
          `cannot receive the login at ${where}: the port is in use (another login in progress, or another program); finish or cancel it and retry`,
        )
      : new AgentError(
          'PROVIDER_ERROR',
          `cannot listen for the login at ${where}: ${(err as Error).message}`,
        );
  }
}

/**
 * Authorization Code + PKCE (S256) with a fresh state and nonce, answered on the loopback redirect
 * URL. The browser is handed a private page in `pageDir`, never the URL itself.
 */
export async function startPkceLogin(
  session: ProfileSession,
  stepUp: StepUp,
  lifetimeSeconds: number,
  pageDir: string,
  keepFor?: number,
): Promise<PendingLogin> {
  const profile = session.name;
  const checks = await freshChecks(session.profile);
  const outcome = deferred<LoginResult>();
  const listener = await openListener(
    session,
    checks.state,
    callbackHandler(session, checks, stepUp, outcome, keepFor),
  );
  let url: URL;
  try {
    // The listener's own URL: with port 0 in redirect_url, the port it got.
    url = await session.provider.authorizationUrl(checks, listener.redirectUrl, stepUp);
  } catch (err) {
    listener.close();
    throw loginFailed(profile, err);
  }
  let page: BrowserPage | undefined;
  try {
    page = await writeBrowserPage(pageDir, url.href);
  } catch (err) {
    listener.close();
    throw new AgentError(
      'PROVIDER_ERROR',
      `cannot write the login page for the browser in ${pageDir}: ${(err as Error).message}`,
    );
  }
  const timer = setTimeout(
    () =>
      outcome.reject(
        new AgentError(
          'LOGIN_TIMEOUT',
          `the login to profile ${profile} was not completed in time: run \`${loginCommand(profile)}\` again`,
        ),
      ),
    lifetimeSeconds * 1000,
  );
  timer.unref();
  const end = (): void => {
    clearTimeout(timer);
    listener.close();
    void page?.remove();
  };
  outcome.promise.then(end, end);
  return {
    id: randomUUID(),
    profile,
    flow: 'pkce',
    url: url.href,
    browserUrl: page.url,
    expiresAt: Math.floor(Date.now() / 1000) + lifetimeSeconds,
    result: outcome.promise,
    cancel: (error) => outcome.reject(error),
  };
}
