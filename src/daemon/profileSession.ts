import type { Logger } from './logger.js';
import type { Profile } from './profile.js';
import type { ProfileStatus, TokenKind, TokenReply } from '../rpc/methods.js';
import { AgentError } from '../rpc/reasons.js';
import { ProviderClient } from './providerClient.js';
import { RetryBackoff } from './retryBackoff.js';
import { classifyProviderError, type ProviderFailure } from './providerErrors.js';
import { TargetCache } from './targetCache.js';
import { cacheTokens, firstToExpire, pick, type CachedTokens } from './tokenCache.js';
import { describeTarget, MAIN_TARGET, tokenTarget, type TokenTarget } from './tokenTarget.js';
import type { TokenSet } from './tokenSet.js';
import { StoreUnavailableError, type StoredGrant, type TokenStore } from './stores/tokenStore.js';

export interface TokenRequest {
  min_valid?: number | undefined;
  kind?: TokenKind | undefined;
  scope?: string | undefined;
  audience?: string | undefined;
}

const nowSeconds = (): number => Date.now() / 1000;
const LOGIN_ENDED = 'the login has expired or was revoked';

/**
 * The token lifecycle of one profile: the stored grant, the cached tokens, single-flight refresh,
 * background refresh ahead of expiry, and what a failure means for clients (SPEC §6).
 */
export class ProfileSession {
  readonly name: string;
  readonly storeKey: string;
  lastError: string | undefined;
  /** Set after a login whose provider issued no refresh token: the user needs to know why it won't last. */
  private noRefreshWarning: string | undefined;
  /** undefined until read from the store; null when there is no login. */
  private grant: StoredGrant | null | undefined;
  private main: CachedTokens | undefined;
  /** Scope/audience variants, never replacing the main token. */
  private readonly targets = new TargetCache();
  private readonly inflight = new Map<string, Promise<CachedTokens>>();
  /** The refresh token is one credential: every use and change of it runs through this chain. */
  private grantLock: Promise<unknown> = Promise.resolve();
  private refreshTimer: NodeJS.Timeout | undefined;
  /** Set when the provider ended the login (invalid_grant): clients are told why, not just "not logged in". */
  private loginEnded = false;
  /** After the provider was unreachable: no new attempt before this allows one. */
  private readonly backoff = new RetryBackoff();
  private closed = false;

  constructor(
    readonly profile: Profile,
    readonly store: TokenStore,
    private readonly log: Logger,
    readonly provider = new ProviderClient(profile),
  ) {
    this.name = profile.name;
    this.storeKey = `${profile.name}/${profile.clientId}@${profile.issuer ?? profile.tokenUrl}`;
  }

  /**
   * The hot path: a cached token that is valid long enough is returned as is, without I/O.
   * A scope/audience target serves its access token unless `kind` says otherwise: scopes and
   * audience shape the access token, while an id_token is always for the client itself.
   */
  getToken(request: TokenRequest): TokenReply | Promise<TokenReply> {
    const target = request.scope || request.audience ? tokenTarget(request.scope, request.audience) : MAIN_TARGET;
    const kind = request.kind ?? (target === MAIN_TARGET ? this.profile.token : 'access');
    const entry = this.cached(target);
    if (entry !== undefined) {
      const token = pick(entry, kind);
      if (token !== undefined && token.expiresAt - nowSeconds() >= (request.min_valid ?? token.defaultMinValid)) {
        entry.lastUsedMs = Date.now();
        return token.reply;
      }
    }
    return this.refreshAndServe(target, kind);
  }

  private cached(target: TokenTarget): CachedTokens | undefined {
    return target === MAIN_TARGET ? this.main : this.targets.get(target.key);
  }

  private async refreshAndServe(target: TokenTarget, kind: TokenKind): Promise<TokenReply> {
    let entry: CachedTokens;
    try {
      entry = await this.refreshOnce(target);
    } catch (err) {
      // SPEC §6: provider down and the cached token still valid → serve it.
      const stale = this.cached(target);
      const token = stale && pick(stale, kind);
      if (err instanceof AgentError && err.reason === 'PROVIDER_UNREACHABLE' && token && token.expiresAt > nowSeconds()) {
        stale.lastUsedMs = Date.now();
        return token.reply;
      }
      throw err;
    }
    const token = pick(entry, kind);
    if (token === undefined) {
      throw new AgentError(
        'PROVIDER_ERROR',
        `the provider issued no id_token for profile ${this.name}: add "openid" to its scopes, or ask for --access`,
      );
    }
    entry.lastUsedMs = Date.now();
    return token.reply;
  }

  /** Any number of concurrent callers for one target share one refresh request and its result. */
  private refreshOnce(target: TokenTarget): Promise<CachedTokens> {
    const running = this.inflight.get(target.key);
    if (running) return running;
    const refresh = this.serialised(() => this.refreshWithGrant(target)).finally(() => this.inflight.delete(target.key));
    this.inflight.set(target.key, refresh);
    return refresh;
  }

  private async refreshWithGrant(target: TokenTarget): Promise<CachedTokens> {
    const grant = await this.loadGrant();
    if (grant === null) throw this.loginRequired(this.loginEnded ? LOGIN_ENDED : undefined);
    const waitMs = this.backoff.waitMs();
    if (waitMs > 0) {
      throw new AgentError(
        'PROVIDER_UNREACHABLE',
        `the identity provider of profile ${this.name} was unreachable (${this.lastError ?? 'see `kms-agent status`'}); the agent retries in ${Math.ceil(waitMs / 1000)} s and no valid token is cached`,
      );
    }
    let set: TokenSet;
    try {
      set = await this.provider.refresh(grant.refresh_token, target);
      this.backoff.succeeded();
    } catch (err) {
      const failure = classifyProviderError(err, [grant.refresh_token, this.profile.clientSecret]);
      if (failure.kind === 'transient') this.backoff.failed();
      this.log.warn({ failure: failure.kind, detail: failure.detail, scope: target.scope, audience: target.audience }, 'refresh failed');
      throw target === MAIN_TARGET ? await this.refreshFailed(failure, grant) : this.targetRefused(failure, target);
    }
    // SPEC §6: a rotated refresh token reaches the store before anyone is answered.
    if (set.refreshToken && set.refreshToken !== grant.refresh_token) {
      await this.persistGrant({ ...grant, refresh_token: set.refreshToken, saved_at: Math.floor(nowSeconds()) });
    }
    this.lastError = undefined;
    const entry = cacheTokens(this.name, set);
    if (target === MAIN_TARGET) {
      this.main = entry;
      this.scheduleBackgroundRefresh();
    } else {
      this.targets.set(target.key, entry);
    }
    this.log.info({ scope: target.scope, audience: target.audience, rotated: Boolean(set.refreshToken) }, 'tokens refreshed');
    return entry;
  }

  private async refreshFailed(failure: ProviderFailure, grant: StoredGrant): Promise<AgentError> {
    switch (failure.kind) {
      case 'transient':
        this.lastError = `refresh failed: provider unreachable (${failure.detail})`;
        return new AgentError(
          'PROVIDER_UNREACHABLE',
          `the identity provider of profile ${this.name} is unreachable (${failure.detail}) and no valid token is cached: check the network and retry`,
        );
      case 'invalid_grant':
        if (this.grant?.refresh_token === grant.refresh_token) await this.forgetLogin();
        this.loginEnded = true;
        this.lastError = `login expired or revoked at the provider (${failure.detail})`;
        return this.loginRequired(LOGIN_ENDED);
      default:
        this.lastError = `refresh rejected by the provider (${failure.detail})`;
        return new AgentError(
          'PROVIDER_ERROR',
          `the identity provider refused a token for profile ${this.name}: ${failure.detail}`,
        );
    }
  }

  /**
   * A refused target says nothing about the login itself: the main token and the stored grant are
   * left alone, and `status` shows no error. Even `invalid_grant` may only mean the user never
   * consented to that target (Entra ID answers so); if the login is really gone, the next plain
   * `token` finds out. Only an unreachable provider is reported as such.
   */
  private targetRefused(failure: ProviderFailure, target: TokenTarget): AgentError {
    const what = `a token for ${describeTarget(target)} of profile ${this.name}`;
    if (failure.kind === 'transient') {
      return new AgentError(
        'PROVIDER_UNREACHABLE',
        `the identity provider of profile ${this.name} is unreachable (${failure.detail}) and no valid token for ${describeTarget(target)} is cached: check the network and retry`,
      );
    }
    return new AgentError('PROVIDER_ERROR', `the identity provider refused ${what} (${failure.detail})${this.targetHint(failure, target)}`);
  }

  /** What the user can change, for the errors whose cause is known. */
  private targetHint(failure: ProviderFailure, target: TokenTarget): string {
    const error = failure.kind === 'rejected' ? failure.error : failure.kind;
    switch (error) {
      case 'invalid_scope':
        return `: a refresh can only ask for scopes granted at login (profile ${this.name} logs in with "${this.profile.scopes.join(' ')}"); add the scope to the profile's scopes and log in again`;
      // oidc-provider, for one, rotates the refresh token before it checks the resource, so the
      // login may be gone too; the main token stays served until it expires either way.
      case 'invalid_target':
        return `: the provider does not know this audience, or it was not requested at login; set resource = "${target.audience ?? ''}" in profile ${this.name} and log in again (some providers also end the login on this error)`;
      case 'invalid_grant':
        return `: the login may lack consent for this target; if \`kms-agent token --profile ${this.name}\` fails too, run \`kms-agent login --profile ${this.name}\``;
      default:
        return '';
    }
  }

  loginRequired(why = 'not logged in'): AgentError {
    return new AgentError('LOGIN_REQUIRED', `${why} to profile ${this.name}: run \`kms-agent login --profile ${this.name}\``);
  }

  /** Reads the grant from the store once; later calls use the copy in memory. */
  async loadGrant(): Promise<StoredGrant | null> {
    if (this.grant !== undefined) return this.grant;
    try {
      this.grant = await this.store.load(this.storeKey);
    } catch (err) {
      throw this.storeFailed(err, 'read');
    }
    return this.grant;
  }

  private async persistGrant(grant: StoredGrant): Promise<void> {
    this.grant = grant;
    try {
      await this.store.save(this.storeKey, grant);
    } catch (err) {
      // The new refresh token is kept in memory so the agent keeps working; the user is told it won't survive a restart.
      const failure = this.storeFailed(err, 'save');
      this.lastError = `${failure.message}; the login is kept in memory only and is lost when the agent stops`;
      this.log.error({ err: failure.message }, 'could not save the refresh token');
    }
  }

  private storeFailed(err: unknown, action: string): AgentError {
    const detail = err instanceof StoreUnavailableError ? err.message : (err as Error)?.message ?? String(err);
    return new AgentError('STORE_UNAVAILABLE', `cannot ${action} the login of profile ${this.name}: ${detail}`);
  }

  private async forgetLogin(): Promise<void> {
    clearTimeout(this.refreshTimer);
    this.grant = null;
    this.main = undefined;
    this.targets.clear();
    await this.removeStoredGrant();
  }

  private async removeStoredGrant(): Promise<void> {
    try {
      await this.store.remove(this.storeKey);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'could not remove the login from the store');
    }
  }

  /** Adopts the tokens of a completed login: the grant is stored before the login is reported done. */
  adoptLogin(set: TokenSet): Promise<void> {
    return this.serialised(async () => {
      clearTimeout(this.refreshTimer);
      this.targets.clear();
      this.main = cacheTokens(this.name, set);
      this.lastError = undefined;
      this.loginEnded = false;
      if (set.refreshToken) {
        this.noRefreshWarning = undefined;
        await this.persistGrant({
          refresh_token: set.refreshToken,
          ...(set.subject ? { subject: set.subject } : {}),
          ...(set.email ? { email: set.email } : {}),
          ...(set.scope ? { scope: set.scope } : {}),
          saved_at: Math.floor(nowSeconds()),
        });
        this.scheduleBackgroundRefresh();
      } else {
        this.grant = null;
        this.noRefreshWarning =
          'the provider issued no refresh token (add "offline_access" to the scopes): log in again when the token expires';
        await this.removeStoredGrant();
      }
    });
  }

  /** Revokes the refresh token where the provider allows it, then forgets everything. */
  logout(): Promise<boolean> {
    return this.serialised(async () => {
      let grant: StoredGrant | null = null;
      try {
        grant = await this.loadGrant();
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, 'logout: store unreadable');
      }
      let revoked = false;
      if (grant) {
        try {
          revoked = await this.provider.revoke(grant.refresh_token);
        } catch (err) {
          const failure = classifyProviderError(err, [grant.refresh_token, this.profile.clientSecret]);
          this.log.warn({ detail: failure.detail }, 'revocation failed; forgetting the login anyway');
        }
      }
      await this.forgetLogin();
      this.lastError = undefined;
      this.noRefreshWarning = undefined;
      this.loginEnded = false;
      this.log.info({ revoked }, 'logged out');
      return revoked;
    });
  }

  private serialised<T>(task: () => Promise<T>): Promise<T> {
    const run = this.grantLock.then(task, task);
    this.grantLock = run.catch(() => undefined);
    return run;
  }

  /**
   * Refreshes ahead of expiry so clients rarely wait — but only while someone is using the token:
   * an idle agent does not keep calling the provider.
   */
  private scheduleBackgroundRefresh(retryMs?: number): void {
    clearTimeout(this.refreshTimer);
    if (this.closed || !this.main || !this.grant) return;
    const first = firstToExpire(this.main);
    const margin = Math.min(30, Math.max(1, first.lifetime * 0.1));
    const dueMs = (first.expiresAt - first.defaultMinValid - margin) * 1000 - Date.now();
    const delay = retryMs ?? Math.max(1000, dueMs);
    this.refreshTimer = setTimeout(() => this.backgroundRefresh(), delay).unref();
  }

  private backgroundRefresh(): void {
    const entry = this.main;
    if (!entry || entry.lastUsedMs === 0 || this.closed) return;
    this.refreshOnce(MAIN_TARGET).catch((err: unknown) => {
      const stillValid = this.main && firstToExpire(this.main).expiresAt > nowSeconds();
      if (err instanceof AgentError && err.reason === 'PROVIDER_UNREACHABLE' && stillValid) {
        // The backoff already carries the jitter; try again as soon as it allows.
        this.scheduleBackgroundRefresh(this.backoff.waitMs() + 50);
      }
    });
  }

  async status(): Promise<ProfileStatus> {
    let grant: StoredGrant | null = null;
    try {
      grant = await this.loadGrant();
    } catch (err) {
      this.lastError = (err as Error).message;
    }
    const served = this.main && pick(this.main, this.profile.token);
    const valid = served !== undefined && served.expiresAt > nowSeconds();
    const status: ProfileStatus = {
      name: this.name,
      logged_in: grant !== null || valid,
      has_refresh_token: grant !== null,
      store: this.store.kind,
    };
    const subject = this.main?.set.subject ?? grant?.subject;
    const email = this.main?.set.email ?? grant?.email;
    if (subject) status.subject = subject;
    if (email) status.email = email;
    if (served) status.expires_at = served.expiresAt;
    if (this.store.warning) status.store_warning = this.store.warning;
    const lastError = this.lastError ?? this.noRefreshWarning;
    if (lastError) status.last_error = lastError;
    return status;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.refreshTimer);
    this.targets.clear();
  }
}
