import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from './logger.js';
import type { Profile } from '../config/profile.js';
import type { LogoutOutcome, ProfileStatus, TokenKind, TokenReply } from '../rpc/methods.js';
import { AgentError } from '../rpc/jsonRpc.js';
import { GrantKeeper, grantOf } from './grantKeeper.js';
import { ProviderClient } from '../provider/providerClient.js';
import type { ProviderFailure } from '../provider/providerErrors.js';
import { idTokenNotRenewed, keepsLogin, loginRequired, mainRefreshError, noOpenidScope, noRefreshTokenHint, targetRefused } from './refreshFailures.js';
import { profileStatus } from './profileStatus.js';
import { backgroundDelayMs, RefreshTimer } from './refreshSchedule.js';
import { RetryBackoff } from './retryBackoff.js';
import { refreshStoredGrant } from './storedRefresh.js';
import { revokeGrant } from './revocation.js';
import { TargetCache } from './targetCache.js';
import type { TokenFiles } from './tokenFiles.js';
import { cacheTokens, firstToExpire, servable, type CachedTokens } from './tokenCache.js';
import type { TokenSet } from '../provider/tokenSet.js';
import { MAIN_TARGET, tokenTarget, type TokenTarget } from '../provider/tokenTarget.js';
import type { StoredGrant, TokenStore } from './stores/tokenStore.js';

export interface TokenRequest {
  min_valid?: number | undefined;
  kind?: TokenKind | undefined;
  scope?: string | undefined;
  audience?: string | undefined;
}

const nowSeconds = (): number => Date.now() / 1000;

/**
 * The token lifecycle of one profile: the cached tokens, single-flight refresh, background
 * refresh ahead of expiry, and what a failure means for clients (docs/protocol.md). The stored
 * login is the GrantKeeper's.
 */
export class ProfileSession {
  readonly name: string;
  readonly grants: GrantKeeper;
  lastError: string | undefined;
  /** Set after a login whose provider issued no refresh token: why it won't last, and what to change. */
  private noRefreshWarning: string | undefined;
  private main: CachedTokens | undefined;
  /** Scope/audience variants, never replacing the main token. */
  private readonly targets = new TargetCache();
  private readonly inflight = new Map<string, Promise<CachedTokens>>();
  private readonly refreshTimer = new RefreshTimer();
  /** The provider's words when it ended the login: clients are told why, not just "not logged in". */
  private loginEnded: string | undefined;
  private readonly backoff = new RetryBackoff();
  private closed = false;

  constructor(
    public profile: Profile,
    store: TokenStore,
    private readonly log: Logger,
    readonly tokenFiles?: TokenFiles,
    public provider = new ProviderClient(profile),
  ) {
    this.name = profile.name;
    this.grants = new GrantKeeper(profile.name, store, profile.storeKey, log);
  }

  /** A reload changed only what does not touch tokens or the login (agent.ts decides). */
  adoptProfile(profile: Profile): void {
    if (this.profile.tokenFile && !profile.tokenFile) this.tokenFiles?.remove(this.name);
    this.profile = profile;
    this.provider = new ProviderClient(profile);
    this.setMain(this.main);
    this.warmUp();
  }

  get store(): TokenStore {
    return this.grants.store;
  }

  /**
   * The hot path: a cached token valid long enough is returned as is, without I/O or allocation.
   * A scope/audience target serves its access token unless `kind` says otherwise: scopes and
   * audience shape the access token, while an id_token is always for the client itself.
   */
  getToken(request: TokenRequest): TokenReply | Promise<TokenReply> {
    const isMain = request.scope === undefined && request.audience === undefined;
    const target = isMain ? MAIN_TARGET : tokenTarget(request.scope, request.audience);
    const kind = request.kind === 'id' || request.kind === 'access' ? request.kind : isMain ? this.profile.servedKind : 'access';
    const entry = isMain ? this.main : this.targets.get(target.key);
    const token = entry && (kind === 'id' ? entry.id : entry.access);
    if (token !== undefined) {
      const now = nowSeconds();
      const left = token.expiresAt - now;
      const minValid = request.min_valid ?? token.defaultMinValid;
      // A min_valid beyond what this provider ever issues cannot be met by a refresh either: serve the
      // freshest token, and refresh only once it is half used, not on every call.
      if (left >= minValid || (left > 0 && minValid > token.lifetime && now < entry!.noRefreshBefore)) {
        entry!.lastUsedMs = Date.now();
        return token.reply;
      }
    }
    return this.refreshAndServe(target, kind);
  }

  private cached(target: TokenTarget): CachedTokens | undefined {
    return target === MAIN_TARGET ? this.main : this.targets.get(target.key);
  }

  private async refreshAndServe(target: TokenTarget, kind: 'id' | 'access'): Promise<TokenReply> {
    if (kind === 'id' && !this.profile.scopes.includes('openid')) throw noOpenidScope(this.name);
    const before = this.cached(target);
    // The last refresh brought no id_token and asking again so soon would not either: no refresh per
    // call. The last id_token is served while it is valid, even with less than min_valid left.
    if (kind === 'id' && before && !before.idRenewed && nowSeconds() < before.noRefreshBefore) {
      const last = servable(before, 'id');
      if (last === undefined) throw idTokenNotRenewed(this.name, before.set.idRefused);
      before.lastUsedMs = Date.now();
      return last.reply;
    }
    let entry: CachedTokens;
    try {
      entry = await this.refreshOnce(target);
    } catch (err) {
      const stale = this.cached(target);
      const token = stale && servable(stale, kind);
      if (err instanceof AgentError && (err.reason === 'PROVIDER_UNREACHABLE' || err.reason === 'PROVIDER_ERROR') && token) {
        stale!.lastUsedMs = Date.now();
        return token.reply;
      }
      throw err;
    }
    const token = servable(entry, kind);
    if (token === undefined) throw this.noTokenOfKind(kind, entry);
    entry.lastUsedMs = Date.now();
    return token.reply;
  }

  private noTokenOfKind(kind: 'id' | 'access', entry: CachedTokens): AgentError {
    return kind === 'id' ? idTokenNotRenewed(this.name, entry.set.idRefused) : loginRequired(this.name, 'the provider answered with an expired token');
  }

  /** Any number of concurrent callers for one target share one refresh request and its result. */
  private refreshOnce(target: TokenTarget): Promise<CachedTokens> {
    const running = this.inflight.get(target.key);
    if (running) return running;
    const refresh = this.grants.serialised(() => this.refreshWithGrant(target)).finally(() => this.inflight.delete(target.key));
    this.inflight.set(target.key, refresh);
    return refresh;
  }

  private async refreshWithGrant(target: TokenTarget): Promise<CachedTokens> {
    const waitMs = this.backoff.clientWaitMs();
    if (waitMs > 0) await delay(waitMs);
    const { grants, provider, profile, log } = this;
    const outcome = await refreshStoredGrant({ grants, provider, profile, log }, target);
    if ('set' in outcome) {
      this.backoff.succeeded();
      return this.adoptRefresh(outcome.set, target);
    }
    if (outcome.grant === null) throw loginRequired(this.name, this.loginEnded);
    throw await this.refreshFailed(outcome.failure, target);
  }

  private adoptRefresh(set: TokenSet, target: TokenTarget): CachedTokens {
    const entry = cacheTokens(this.name, set, this.cached(target), nowSeconds());
    if (target === MAIN_TARGET) {
      this.lastError = set.idRefused;
      this.setMain(entry);
      this.scheduleBackgroundRefresh();
    } else {
      this.targets.set(target.key, entry);
    }
    this.log.info({ scope: target.scope, audience: target.audience, rotated: Boolean(set.refreshToken), id_token: entry.idRenewed }, 'tokens refreshed');
    if (set.idRefused) this.log.warn({ reason: set.idRefused }, 'id_token refused');
    return entry;
  }

  private async refreshFailed(
    failure: ProviderFailure | AgentError,
    target: TokenTarget,
  ): Promise<AgentError> {
    if (failure instanceof AgentError) return failure;
    this.log.warn({ failure: failure.kind, detail: failure.detail, scope: target.scope, audience: target.audience }, 'refresh failed');
    if (keepsLogin(failure)) this.backoff.failed();
    if (target !== MAIN_TARGET) return targetRefused(this.name, this.profile.scopes, failure, target);
    if (keepsLogin(failure)) {
      this.lastError = `refresh failed: ${failure.kind === 'transient' ? 'provider unreachable' : 'unacceptable answer'} (${failure.detail})`;
      return mainRefreshError(this.name, failure);
    }
    // Gone from the store only if it still holds the refresh token the provider refused.
    await this.forgetTokens();
    this.loginEnded = `the provider no longer accepts its refresh token (${failure.detail})`;
    this.lastError = `login ended at the provider (${failure.detail})`;
    return mainRefreshError(this.name, failure);
  }

  private async forgetTokens(): Promise<void> {
    this.refreshTimer.cancel();
    this.setMain(undefined);
    this.targets.clear();
    await this.grants.forget();
  }

  /** Adopts a completed login: the grant is stored before the login is reported done. Returns the previous login's subject. */
  adoptLogin(set: TokenSet): Promise<string | undefined> {
    return this.grants.serialised(async () => {
      const stored = await this.grants.reread().catch(() => null);
      const previous = stored?.subject ?? this.main?.set.subject;
      this.refreshTimer.cancel();
      this.targets.clear();
      this.setMain(cacheTokens(this.name, set, undefined, nowSeconds()));
      this.lastError = undefined;
      this.loginEnded = undefined;
      this.backoff.succeeded();
      this.noRefreshWarning = set.refreshToken ? undefined : noRefreshTokenHint(this.profile);
      if (set.refreshToken) {
        await this.grants.save(grantOf(set));
        this.scheduleBackgroundRefresh();
      } else {
        await this.grants.forget();
      }
      return previous;
    });
  }

  /** Revokes the refresh token where the provider allows it, then forgets the login locally in every case. */
  logout(): Promise<LogoutOutcome> {
    return this.grants.serialised(async () => {
      let grant: StoredGrant | null = null;
      try {
        grant = await this.grants.reread();
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, 'logout: store unreadable');
      }
      const outcome = await revokeGrant(this.profile, this.provider, grant);
      const wasLoggedIn = grant !== null || this.main !== undefined;
      await this.forgetTokens();
      this.lastError = undefined;
      this.noRefreshWarning = undefined;
      this.loginEnded = undefined;
      this.log.info({ revocation: outcome.revocation, detail: outcome.detail }, 'logged out');
      return wasLoggedIn ? outcome : { profile: this.name, revocation: 'not_logged_in' };
    });
  }

  /**
   * Refreshes ahead of expiry so clients rarely wait — but only while someone uses the token (or
   * its token file): an idle agent does not keep calling the provider. After a failure it follows
   * the backoff.
   */
  private scheduleBackgroundRefresh(retryMs?: number): void {
    this.refreshTimer.cancel();
    if (this.closed || !this.main || !this.grants.current) return;
    this.refreshTimer.arm(retryMs ?? backgroundDelayMs(this.main), () => this.backgroundRefresh());
  }

  private backgroundRefresh(): void {
    const entry = this.main;
    if (!entry || (entry.lastUsedMs === 0 && !this.profile.tokenFile) || this.closed) return;
    if (RefreshTimer.clamped(backgroundDelayMs(entry))) return this.scheduleBackgroundRefresh();
    const waitMs = this.backoff.waitMs();
    if (waitMs > 0) return this.scheduleBackgroundRefresh(waitMs + 50);
    this.refreshOnce(MAIN_TARGET).catch((err: unknown) => {
      const stillValid = this.main && firstToExpire(this.main).expiresAt > nowSeconds();
      if (err instanceof AgentError && err.reason !== 'LOGIN_REQUIRED' && stillValid) this.scheduleBackgroundRefresh(this.backoff.waitMs() + 50);
    });
  }

  /** A token-file profile with a stored login gets its file at start, without waiting for a client. */
  warmUp(): void {
    if (!this.profile.tokenFile || this.main) return;
    this.refreshOnce(MAIN_TARGET).catch((err: unknown) => this.log.info({ err: (err as Error).message }, 'token file not written yet'));
  }

  /** The main token changed (or is gone): the token file follows it. */
  private setMain(entry: CachedTokens | undefined): void {
    this.main = entry;
    if (!this.tokenFiles || !this.profile.tokenFile) return;
    const token = entry && servable(entry, this.profile.servedKind);
    if (token) this.tokenFiles.write(this.name, token.reply.token, token.reply.token_type);
    else this.tokenFiles.remove(this.name);
  }

  async status(): Promise<ProfileStatus> {
    let grant: StoredGrant | null = null;
    try {
      grant = await this.grants.load();
    } catch (err) {
      this.lastError = (err as Error).message;
    }
    return profileStatus(this, grant, this.main, this.lastError ?? this.grants.saveProblem ?? this.noRefreshWarning);
  }

  close(): void {
    this.closed = true;
    this.refreshTimer.cancel();
    this.targets.clear();
    if (this.profile.tokenFile) this.tokenFiles?.remove(this.name);
  }
}
