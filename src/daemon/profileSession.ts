import type { Logger } from './logger.js';
import type { Profile } from '../config/profile.js';
import type { LogoutOutcome, ProfileStatus, TokenReply } from '../rpc/methods.js';
import { GrantKeeper, grantOf } from './grantKeeper.js';
import { ProviderClient } from '../provider/providerClient.js';
import { lifetimeEndedWhy, noRefreshTokenHint } from './refreshFailures.js';
import { profileStatus } from './profileStatus.js';
import { SessionRefresh } from './sessionRefresh.js';
import { revokeGrant } from './revocation.js';
import { SessionTokens } from './sessionTokens.js';
import type { TokenFiles } from './tokenFiles.js';
import { cacheTokens } from './tokenCache.js';
import { kindOf, serveToken, type TokenRequest } from './tokenServing.js';
import { LoginLifetime, loginEndsAt } from './loginLifetime.js';
import { locked } from './control/refusals.js';
import type { TokenSet } from '../provider/tokenSet.js';
import { MAIN_TARGET } from '../provider/tokenTarget.js';
import type { StoredGrant, TokenStore } from './stores/tokenStore.js';

const nowSeconds = (): number => Date.now() / 1000;

/**
 * One profile's logins and tokens, as the agent serves them: tokens served (tokenServing.ts) from
 * the cache (sessionTokens.ts) or after a refresh (sessionRefresh.ts: single flight, backoff,
 * background refresh, what a failure means for clients, docs/protocol.md); a completed login
 * adopted, a logout, a lifetime's end. The stored login is the GrantKeeper's.
 */
export class ProfileSession {
  readonly name: string;
  readonly grants: GrantKeeper;
  lastError: string | undefined;
  /** Set after a login whose provider issued no refresh token: why it won't last, and what to change. */
  private noRefreshWarning: string | undefined;
  readonly tokens: SessionTokens;
  /** The provider's words when it ended the login: clients are told why, not just "not logged in". */
  loginEnded: string | undefined;
  readonly refresh: SessionRefresh;
  closed = false;
  /** While the agent is locked: nothing cached, nothing refreshed (docs/SECURITY.md). */
  locked = false;
  /** When the agent forgets this login (max_lifetime, login --lifetime). */
  readonly lifetime = new LoginLifetime(() => void this.endLifetime());

  constructor(
    public profile: Profile,
    store: TokenStore,
    readonly log: Logger,
    readonly tokenFiles?: TokenFiles,
    public provider = new ProviderClient(profile),
  ) {
    this.name = profile.name;
    this.grants = new GrantKeeper(profile.name, store, profile.storeKey, log);
    this.tokens = new SessionTokens(profile.name, profile, tokenFiles);
    this.refresh = new SessionRefresh(this);
    this.grants.onGrant = (grant) => this.lifetime.follow(grant?.ends_at);
  }

  /** A reload changed only what does not touch tokens or the login (agent.ts decides). */
  adoptProfile(profile: Profile): void {
    this.profile = profile;
    this.provider = new ProviderClient(profile);
    this.tokens.adoptProfile(profile);
    this.warmUp();
  }

  get store(): TokenStore {
    return this.grants.store;
  }

  /**
   * The hot path: a cached token valid long enough is returned as is, without I/O or allocation
   * (tokenServing.ts says which token a request gets).
   */
  getToken(request: TokenRequest): TokenReply | Promise<TokenReply> {
    return serveToken(this, request);
  }

  /** The kind of token a request gets: as asked, else the profile's main one, else access. */
  kindOf(request: TokenRequest): 'id' | 'access' {
    return kindOf(this.profile, request);
  }

  /**
   * Adopts a completed login: the grant is stored, with the end of its lifetime (`keepFor`
   * seconds, at most the profile's max_lifetime), before the login is reported done. Returns the
   * previous login's subject.
   */
  adoptLogin(set: TokenSet, keepFor?: number): Promise<string | undefined> {
    return this.grants.serialised(async () => {
      if (this.locked) throw locked();
      const stored = await this.grants.reread().catch(() => null);
      const previous = stored?.subject ?? this.tokens.main?.set.subject;
      this.refresh.reset();
      this.tokens.clear();
      this.tokens.setMain(cacheTokens(this.name, set, undefined, nowSeconds()));
      this.lastError = undefined;
      this.loginEnded = undefined;
      this.refresh.backoff.succeeded();
      this.noRefreshWarning = set.refreshToken ? undefined : noRefreshTokenHint(this.profile);
      const endsAt = loginEndsAt(keepFor, this.profile.maxLifetime);
      if (set.refreshToken) {
        await this.grants.save(grantOf(set, endsAt));
        this.refresh.background.schedule();
      } else {
        await this.grants.forget();
        // No stored login to carry the end time: the cached tokens still end with it.
        this.lifetime.follow(endsAt);
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
      const wasLoggedIn = grant !== null || this.tokens.main !== undefined;
      await this.refresh.forget();
      this.lastError = undefined;
      this.noRefreshWarning = undefined;
      this.loginEnded = undefined;
      this.log.info({ revocation: outcome.revocation, detail: outcome.detail }, 'logged out');
      return wasLoggedIn ? outcome : { profile: this.name, revocation: 'not_logged_in' };
    });
  }

  /** The login's lifetime ended: revoked and forgotten as by logout; clients are told why. */
  private async endLifetime(): Promise<void> {
    // A locked agent cannot use the refresh token to revoke it: the unlock brings the grant back,
    // and with it this timer.
    if (this.locked || this.closed) return;
    const why = lifetimeEndedWhy(this.lifetime.endsAt);
    try {
      await this.logout();
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'could not end the login at its lifetime');
    }
    this.loginEnded = why;
    this.lastError = `login ${why}`;
    this.lifetime.follow(undefined);
    this.log.info({ why }, 'login lifetime ended');
  }

  /** A token-file profile with a stored login gets its file at start, without waiting for a client. */
  warmUp(): void {
    if (this.locked || !this.profile.tokenFile || this.tokens.main) return;
    this.refresh
      .once(MAIN_TARGET)
      .catch((err: unknown) =>
        this.log.info({ err: (err as Error).message }, 'token file not written yet'),
      );
  }

  async status(): Promise<ProfileStatus> {
    let grant: StoredGrant | null = null;
    try {
      grant = await this.grants.load();
    } catch (err) {
      this.lastError = (err as Error).message;
    }
    return profileStatus(
      this,
      grant,
      this.tokens.main,
      this.lastError ?? this.grants.saveProblem ?? this.noRefreshWarning,
    );
  }

  close(): void {
    this.closed = true;
    this.lifetime.cancel();
    this.refresh.background.cancel();
    this.tokens.close();
  }
}
