import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from './logger.js';
import type { Profile } from './profile.js';
import type { LogoutOutcome, ProfileStatus, TokenKind, TokenReply } from '../rpc/methods.js';
import { AgentError } from '../rpc/reasons.js';
import { GrantKeeper } from './grantKeeper.js';
import type { IdTokenExpectations } from './provider/idTokenRules.js';
import { ProviderClient } from './provider/providerClient.js';
import { classifyProviderError } from './provider/providerErrors.js';
import { providerText } from './provider/providerText.js';
import { idTokenNotRenewed, keepsLogin, loginRequired, mainRefreshError, targetRefused } from './refreshFailures.js';
import { RetryBackoff } from './retryBackoff.js';
import { revokeGrant } from './revocation.js';
import { TargetCache } from './targetCache.js';
import { cacheTokens, firstToExpire, type CachedTokens, type ServedToken } from './tokenCache.js';
import { toTokenSet, type ProviderTokens, type TokenSet } from './tokenSet.js';
import { MAIN_TARGET, tokenTarget, type TokenTarget } from './tokenTarget.js';
import type { StoredGrant, TokenStore } from './stores/tokenStore.js';

export interface TokenRequest {
  min_valid?: number | undefined;
  kind?: TokenKind | undefined;
  scope?: string | undefined;
  audience?: string | undefined;
}

const nowSeconds = (): number => Date.now() / 1000;
/** setTimeout's limit: a longer delay fires at once (a provider's 10¹² s lifetime did that). */
const MAX_TIMER_MS = 2 ** 31 - 1;

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
  private refreshTimer: NodeJS.Timeout | undefined;
  /** The provider's words when it ended the login: clients are told why, not just "not logged in". */
  private loginEnded: string | undefined;
  private readonly backoff = new RetryBackoff();
  private closed = false;

  constructor(
    readonly profile: Profile,
    store: TokenStore,
    private readonly log: Logger,
    readonly provider = new ProviderClient(profile),
  ) {
    this.name = profile.name;
    this.grants = new GrantKeeper(profile.name, store, profile.storeKey, log);
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
    const before = this.cached(target);
    // The last refresh brought no id_token and asking again so soon would not either: no refresh per call.
    if (kind === 'id' && before && !before.idRenewed && nowSeconds() < before.noRefreshBefore) {
      throw idTokenNotRenewed(this.name, before.set.idRefused);
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
    if (kind === 'id' && !this.profile.scopes.includes('openid')) {
      return new AgentError('PROVIDER_ERROR', `profile ${this.name} does not ask for the openid scope, so it gets no id_token: add "openid" to its scopes and log in again, or ask for --access`);
    }
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
    const grant = await this.grants.load();
    if (grant === null) throw loginRequired(this.name, this.loginEnded);
    const waitMs = this.backoff.clientWaitMs();
    if (waitMs > 0) await delay(waitMs);
    let tokens: ProviderTokens;
    let set: TokenSet;
    try {
      tokens = await this.provider.refresh(grant.refresh_token, target);
      // A rotated refresh token reaches the store before anyone is answered, whatever else the answer holds.
      const rotated = tokens.response.refresh_token;
      if (rotated && rotated !== grant.refresh_token) await this.grants.save({ ...grant, refresh_token: rotated, saved_at: Math.floor(nowSeconds()) });
      set = toTokenSet(tokens, this.idExpectations(grant), 'drop');
    } catch (err) {
      throw await this.refreshFailed(err, grant, target);
    }
    this.backoff.succeeded();
    return this.adoptRefresh(set, target);
  }

  private adoptRefresh(set: TokenSet, target: TokenTarget): CachedTokens {
    const entry = cacheTokens(this.name, set, this.cached(target), nowSeconds());
    if (target === MAIN_TARGET) {
      this.lastError = set.idRefused;
      this.main = entry;
      this.scheduleBackgroundRefresh();
    } else {
      this.targets.set(target.key, entry);
    }
    this.log.info({ scope: target.scope, audience: target.audience, rotated: Boolean(set.refreshToken), id_token: entry.idRenewed }, 'tokens refreshed');
    if (set.idRefused) this.log.warn({ reason: set.idRefused }, 'id_token refused');
    return entry;
  }

  private async refreshFailed(err: unknown, grant: StoredGrant, target: TokenTarget): Promise<AgentError> {
    if (err instanceof AgentError) return err;
    const failure = classifyProviderError(err, [grant.refresh_token, this.profile.clientSecret]);
    this.log.warn({ failure: failure.kind, detail: failure.detail, scope: target.scope, audience: target.audience }, 'refresh failed');
    if (keepsLogin(failure)) this.backoff.failed();
    if (target !== MAIN_TARGET) return targetRefused(this.name, this.profile.scopes, failure, target);
    if (keepsLogin(failure)) {
      this.lastError = `refresh failed: ${failure.kind === 'transient' ? 'provider unreachable' : 'unacceptable answer'} (${failure.detail})`;
      return mainRefreshError(this.name, failure);
    }
    if (this.grants.current?.refresh_token === grant.refresh_token) await this.forgetTokens();
    this.loginEnded = `the provider no longer accepts its refresh token (${failure.detail})`;
    this.lastError = `login ended at the provider (${failure.detail})`;
    return mainRefreshError(this.name, failure);
  }

  /** What a refreshed id_token is held to: this profile's client and issuer, and the login's subject and nonce. */
  private idExpectations(grant: StoredGrant | null): IdTokenExpectations {
    return {
      clientId: this.profile.clientId,
      issuer: this.knownIssuer(grant),
      nonce: grant?.nonce,
      nonceRequired: false,
      subject: grant?.subject,
      allowHmac: this.profile.clientSecret !== undefined,
      now: Math.floor(nowSeconds()),
    };
  }

  /** The configured (and discovered) issuer, else the one a previous login's id_token named. */
  knownIssuer(grant: StoredGrant | null | undefined): string | undefined {
    return this.profile.issuer ?? grant?.issuer ?? undefined;
  }

  /** The expectations for a login's id_token; `nonce` is what the authorization request sent, if anything. */
  async loginExpectations(nonce: string | undefined): Promise<IdTokenExpectations> {
    const previous = await this.grants.load().catch(() => null);
    return { ...this.idExpectations(null), issuer: this.knownIssuer(previous), nonce, nonceRequired: nonce !== undefined };
  }

  private async forgetTokens(): Promise<void> {
    clearTimeout(this.refreshTimer);
    this.main = undefined;
    this.targets.clear();
    await this.grants.forget();
  }

  /** Adopts a completed login: the grant is stored before the login is reported done. Returns the previous login's subject. */
  adoptLogin(set: TokenSet): Promise<string | undefined> {
    return this.grants.serialised(async () => {
      const previous = (await this.grants.load().catch(() => null))?.subject ?? this.main?.set.subject;
      clearTimeout(this.refreshTimer);
      this.targets.clear();
      this.main = cacheTokens(this.name, set, undefined, nowSeconds());
      this.lastError = undefined;
      this.loginEnded = undefined;
      this.backoff.succeeded();
      this.noRefreshWarning = set.refreshToken ? undefined : this.noRefreshTokenHint();
      if (set.refreshToken) {
        await this.grants.save(grantOf(set));
        this.scheduleBackgroundRefresh();
      } else {
        await this.grants.forget();
      }
      return previous;
    });
  }

  /** Why a login brought no refresh token, naming the likely cause rather than blaming the scopes that are already there. */
  noRefreshTokenHint(): string {
    if (!this.profile.scopes.includes('offline_access')) {
      return `the provider issued no refresh token: add "offline_access" to the scopes of profile ${this.name} (or what your provider needs for refresh tokens) and log in again; until then, log in again when the token expires`;
    }
    return `the provider issued no refresh token although profile ${this.name} asks for offline_access${this.profile.extraAuthParams.prompt === undefined ? ' with prompt=consent' : ''}: the client may not be allowed refresh tokens at the provider (Google also needs extra_auth_params = { access_type = "offline" }); until then, log in again when the token expires`;
  }

  /** Revokes the refresh token where the provider allows it, then forgets the login locally in every case. */
  logout(): Promise<LogoutOutcome> {
    return this.grants.serialised(async () => {
      let grant: StoredGrant | null = null;
      try {
        grant = await this.grants.load();
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
   * Refreshes ahead of expiry so clients rarely wait — but only while someone is using the token:
   * an idle agent does not keep calling the provider. After a failure it follows the backoff.
   */
  private scheduleBackgroundRefresh(retryMs?: number): void {
    clearTimeout(this.refreshTimer);
    if (this.closed || !this.main || !this.grants.current) return;
    const first = firstToExpire(this.main);
    const margin = Math.min(30, Math.max(1, first.lifetime * 0.1));
    const dueMs = (first.expiresAt - first.defaultMinValid - margin) * 1000 - Date.now();
    const delayMs = Math.min(MAX_TIMER_MS, retryMs ?? Math.max(1000, dueMs, (this.main.noRefreshBefore - nowSeconds()) * 1000));
    this.refreshTimer = setTimeout(() => this.backgroundRefresh(), delayMs).unref();
  }

  private backgroundRefresh(): void {
    const entry = this.main;
    if (!entry || entry.lastUsedMs === 0 || this.closed) return;
    const due = firstToExpire(entry);
    // A timer clamped to the platform's limit fires early: just aim again.
    if ((due.expiresAt - due.defaultMinValid) * 1000 - Date.now() > MAX_TIMER_MS) return this.scheduleBackgroundRefresh();
    const waitMs = this.backoff.waitMs();
    if (waitMs > 0) return this.scheduleBackgroundRefresh(waitMs + 50);
    this.refreshOnce(MAIN_TARGET).catch((err: unknown) => {
      const stillValid = this.main && firstToExpire(this.main).expiresAt > nowSeconds();
      if (err instanceof AgentError && err.reason !== 'LOGIN_REQUIRED' && stillValid) this.scheduleBackgroundRefresh(this.backoff.waitMs() + 50);
    });
  }

  async status(): Promise<ProfileStatus> {
    let grant: StoredGrant | null = null;
    try {
      grant = await this.grants.load();
    } catch (err) {
      this.lastError = (err as Error).message;
    }
    const served = this.main && (this.profile.servedKind === 'id' ? this.main.id : this.main.access);
    const valid = served !== undefined && served.expiresAt > nowSeconds();
    const status: ProfileStatus = { name: this.name, logged_in: grant !== null || valid, has_refresh_token: grant !== null, store: this.store.kind };
    const subject = this.main?.set.subject ?? grant?.subject;
    const email = this.main?.set.email ?? grant?.email;
    if (subject) status.subject = providerText(subject, 255);
    if (email) status.email = providerText(email, 320);
    if (served) status.expires_at = served.expiresAt;
    if (this.store.warning) status.store_warning = this.store.warning;
    const lastError = this.lastError ?? this.grants.saveProblem ?? this.noRefreshWarning;
    if (lastError) status.last_error = lastError;
    return status;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.refreshTimer);
    this.targets.clear();
  }
}

/** A token that may be served: never one that has already expired. */
function servable(entry: CachedTokens, kind: 'id' | 'access'): ServedToken | undefined {
  const token = kind === 'id' ? entry.id : entry.access;
  return token !== undefined && token.expiresAt > nowSeconds() ? token : undefined;
}

function grantOf(set: TokenSet): StoredGrant {
  const grant: StoredGrant = { refresh_token: set.refreshToken!, saved_at: Math.floor(nowSeconds()) };
  for (const name of ['subject', 'email', 'scope', 'issuer', 'nonce'] as const) {
    const value = set[name];
    if (value !== undefined) grant[name] = value;
  }
  return grant;
}
