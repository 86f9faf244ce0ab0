import { setTimeout as delay } from 'node:timers/promises';
import type { Profile } from '../config/profile.js';
import type { ProviderClient } from '../provider/providerClient.js';
import type { ProviderFailure } from '../provider/providerErrors.js';
import type { TokenSet } from '../provider/tokenSet.js';
import { MAIN_TARGET, type TokenTarget } from '../provider/tokenTarget.js';
import { AgentError } from '../rpc/jsonRpc.js';
import type { GrantKeeper } from './grantKeeper.js';
import type { Logger } from './logger.js';
import { keepsLogin, loginRequired, mainRefreshError, targetRefused } from './refreshFailures.js';
import { BackgroundRefresh, type RefreshedSession } from './refreshSchedule.js';
import { RetryBackoff } from './retryBackoff.js';
import type { SessionTokens } from './sessionTokens.js';
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
export class SessionRefresh {
  readonly backoff = new RetryBackoff();
  readonly background: BackgroundRefresh;
  private readonly inflight = new Map<string, Promise<CachedTokens>>();

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

  /** The login is gone (a logout, a login the provider ended): its tokens and stored grant go. */
  async forget(): Promise<void> {
    this.background.cancel();
    this.session.tokens.clear();
    await this.session.grants.forget();
  }

  private async withStoredGrant(target: TokenTarget): Promise<CachedTokens> {
    const waitMs = this.backoff.clientWaitMs();
    if (waitMs > 0) await delay(waitMs);
    const outcome = await refreshStoredGrant(this.session, target);
    if ('set' in outcome) {
      this.backoff.succeeded();
      return this.adopt(outcome.set, target);
    }
    if (outcome.grant === null) throw loginRequired(this.session.name, this.session.loginEnded);
    throw await this.failed(outcome.failure, target);
  }

  private adopt(set: TokenSet, target: TokenTarget): CachedTokens {
    const { name, tokens, log } = this.session;
    const entry = cacheTokens(name, set, tokens.of(target), Date.now() / 1000);
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
