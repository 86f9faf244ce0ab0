import { setTimeout as delay } from 'node:timers/promises';
import type { Profile } from '../config/profile.js';
import type { ProviderClient } from '../provider/providerClient.js';
import { classifyProviderError, type ProviderFailure } from '../provider/providerErrors.js';
import { toTokenSet, type TokenSet } from '../provider/tokenSet.js';
import { DpopKey } from '../provider/dpopKey.js';
import { MAIN_TARGET, type TokenTarget } from '../provider/tokenTarget.js';
import { AgentError } from '../rpc/jsonRpc.js';
import type { GrantKeeper } from './grantKeeper.js';
import { refreshExpectations } from './idExpectations.js';
import type { Logger } from './logger.js';
import {
  clientCredentialsFailed,
  keepsLogin,
  loginRequired,
  mainRefreshError,
  targetRefused,
} from './refreshFailures.js';
import { BackgroundRefresh, type RefreshedSession } from './refreshSchedule.js';
import { RetryBackoff } from './retryBackoff.js';
import type { SessionTokens } from './sessionTokens.js';
import { storedIdToken } from './storedIdToken.js';
import { refreshStoredGrant } from './storedRefresh.js';
import { locked } from './control/refusals.js';
import { cacheTokens, type CachedTokens } from './tokenCache.js';

/** What the refreshes of a profile read and change of its session (profileSession.ts). */
export interface RefreshingSession extends RefreshedSession {
  readonly name: string;
  readonly profile: Profile;
  readonly provider: ProviderClient;
  readonly grants: GrantKeeper;
  readonly tokens: SessionTokens;
  readonly log: Logger;
  /** What went wrong last, for `status`. */
  lastError: string | undefined;
  /** The provider's words when it ended the login: clients are told why, not just "not logged in". */
  loginEnded: string | undefined;
  /** While the agent is locked nothing is refreshed. */
  readonly locked: boolean;
}

/**
 * The refreshes of one profile: concurrent callers for one target share one request (single
 * flight), serialised with every other use of the refresh token (grantKeeper.ts) and paced by the
 * backoff; the main tokens are also refreshed ahead of expiry in the background; a failure becomes
 * what clients are told (docs/protocol.md).
 */
/** A forced refresh this soon after the last one for a target is answered with that one's result. */
const FORCE_INTERVAL_MS = 1000;

export class SessionRefresh {
  readonly backoff = new RetryBackoff();
  readonly background: BackgroundRefresh;
  private readonly inflight = new Map<string, Promise<CachedTokens>>();
  /** The last forced refresh of each target, and when it settled. */
  private readonly lastForced = new Map<
    string,
    { result: Promise<CachedTokens>; endMs?: number }
  >();
  /** A client credentials profile's DPoP key. */
  private serviceKey: DpopKey | undefined;

  constructor(private readonly session: RefreshingSession) {
    this.background = new BackgroundRefresh(session, this.backoff, () => this.once(MAIN_TARGET));
  }

  /** Any number of concurrent callers for one target share one refresh request and its result. */
  once(target: TokenTarget): Promise<CachedTokens> {
    if (this.session.locked) return Promise.reject(locked());
    const running = this.inflight.get(target.key);
    if (running) return running;
    const refresh = this.session.grants
      .serialised(() => this.withStoredGrant(target))
      .finally(() => this.inflight.delete(target.key));
    this.inflight.set(target.key, refresh);
    return refresh;
  }

  /**
   * `token --force`: a new token now, whatever the cache holds. Concurrent forced calls share one
   * refresh, and one that comes less than a second after the last forced refresh of the target
   * ended gets that one's result: scripts that force in a loop cannot flood the provider.
   */
  forced(target: TokenTarget): Promise<CachedTokens> {
    const last = this.lastForced.get(target.key);
    if (last && (last.endMs === undefined || Date.now() - last.endMs < FORCE_INTERVAL_MS)) {
      return last.result;
    }
    const forced: { result: Promise<CachedTokens>; endMs?: number } = { result: this.once(target) };
    const ended = (): void => void (forced.endMs = Date.now());
    forced.result.then(ended, ended);
    this.lastForced.set(target.key, forced);
    return forced.result;
  }

  /** The tokens are gone or replaced (a login, a logout): nothing refreshed for them is reused. */
  reset(): void {
    this.background.cancel();
    this.lastForced.clear();
  }

  /** The login is gone (a logout, a login the provider ended): its tokens and stored grant go. */
  async forget(): Promise<void> {
    this.reset();
    this.session.tokens.clear();
    await this.session.grants.forget();
  }

  private async withStoredGrant(target: TokenTarget): Promise<CachedTokens> {
    const waitMs = this.backoff.clientWaitMs();
    if (waitMs > 0) await delay(waitMs);
    if (this.session.profile.grant === 'client_credentials') return this.clientCredentials(target);
    const outcome = await refreshStoredGrant(this.session, target);
    if ('set' in outcome) {
      this.backoff.succeeded();
      return this.adopt(outcome.set, target);
    }
    if (outcome.grant === null) throw loginRequired(this.session.name, this.session.loginEnded);
    throw await this.failed(outcome.failure, target);
  }

  /** A profile without a login: a token for the client itself, each time one is needed. */
  private async clientCredentials(target: TokenTarget): Promise<CachedTokens> {
    const { name, profile, provider, log } = this.session;
    let set: TokenSet;
    try {
      // A DPoP key for the client, made at first use and kept in memory: the tokens bound to it
      // are not stored either.
      if (profile.dpop) this.serviceKey ??= DpopKey.generate();
      const tokens = await provider.clientCredentials(target, this.serviceKey);
      set = toTokenSet(tokens, refreshExpectations(profile, null), 'drop');
    } catch (err) {
      const failure = classifyProviderError(err, [profile.clientSecret]);
      log.warn({ failure: failure.kind, detail: failure.detail }, 'client credentials refused');
      this.backoff.failed();
      if (target === MAIN_TARGET)
        this.session.lastError = `token request failed (${failure.detail})`;
      throw clientCredentialsFailed(name, failure);
    }
    this.backoff.succeeded();
    return this.adopt(set, target);
  }

  private adopt(set: TokenSet, target: TokenTarget): CachedTokens {
    const { name, tokens, log, profile, grants } = this.session;
    const previousId =
      tokens.of(target)?.id ??
      (target === MAIN_TARGET ? storedIdToken(profile, grants.current) : undefined);
    const entry = cacheTokens(name, set, previousId, Date.now() / 1000);
    tokens.set(target, entry);
    if (target === MAIN_TARGET) {
      this.session.lastError = set.idRefused;
      this.background.schedule();
    }
    const { scope, audience } = target;
    const rotated = Boolean(set.refreshToken);
    log.info({ scope, audience, rotated, id_token: entry.idRenewed }, 'tokens refreshed');
    if (set.idRefused) log.warn({ reason: set.idRefused }, 'id_token refused');
    return entry;
  }

  private async failed(
    failure: ProviderFailure | AgentError,
    target: TokenTarget,
  ): Promise<AgentError> {
    if (failure instanceof AgentError) return failure;
    const { name, profile, log } = this.session;
    const { kind, detail } = failure;
    log.warn(
      { failure: kind, detail, scope: target.scope, audience: target.audience },
      'refresh failed',
    );
    if (keepsLogin(failure)) this.backoff.failed();
    if (target !== MAIN_TARGET) return targetRefused(name, profile.scopes, failure, target);
    if (keepsLogin(failure)) {
      const why = kind === 'transient' ? 'provider unreachable' : 'unacceptable answer';
      this.session.lastError = `refresh failed: ${why} (${detail})`;
      return mainRefreshError(name, failure);
    }
    // Gone from the store only if it still holds the refresh token the provider refused.
    await this.forget();
    this.session.loginEnded = `the provider no longer accepts its refresh token (${detail})`;
    this.session.lastError = `login ended at the provider (${detail})`;
    return mainRefreshError(name, failure);
  }
}
