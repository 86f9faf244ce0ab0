import type { Profile } from '../config/profile.js';
import { AgentError } from '../rpc/jsonRpc.js';
import type { RetryBackoff } from './retryBackoff.js';
import type { StoredGrant } from './stores/tokenStore.js';
import { firstToExpire, type CachedTokens } from './tokenCache.js';

/** setTimeout's limit: a longer delay fires at once (a provider's 10¹² s lifetime did that). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * When a profile's main token should be refreshed in the background: ahead of the first of its
 * tokens to expire, by its default min_valid plus a margin, so clients rarely wait; not before the
 * access token is half used (docs/protocol.md).
 */
export function backgroundDelayMs(entry: CachedTokens, nowMs = Date.now()): number {
  const first = firstToExpire(entry);
  const margin = Math.min(30, Math.max(1, first.lifetime * 0.1));
  const dueMs = (first.expiresAt - first.defaultMinValid - margin) * 1000 - nowMs;
  return Math.max(1000, dueMs, entry.noRefreshBefore * 1000 - nowMs);
}

/** One timer, never longer than the platform allows: a clamped timer fires early, and its callback aims again. */
export class RefreshTimer {
  private timer: NodeJS.Timeout | undefined;

  arm(delayMs: number, fire: () => void): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(fire, Math.min(MAX_TIMER_MS, delayMs)).unref();
  }

  /** True when a timer armed for `delayMs` would have been clamped: the callback came early. */
  static clamped(delayMs: number): boolean {
    return delayMs > MAX_TIMER_MS;
  }

  cancel(): void {
    clearTimeout(this.timer);
  }
}

/** What the background refresh reads of a session (profileSession.ts). */
export interface RefreshedSession {
  readonly profile: Profile;
  readonly closed: boolean;
  readonly tokens: { readonly main: CachedTokens | undefined };
  /** The login in memory: a refresh token is there to renew the tokens (a login's profile). */
  readonly grants: { readonly current: StoredGrant | null | undefined };
}

/**
 * Refreshes a session's main tokens ahead of expiry so clients rarely wait, but only while someone
 * uses them (or its token file): an idle agent does not keep calling the provider. After a
 * failure it follows the backoff.
 */
export class BackgroundRefresh {
  private readonly timer = new RefreshTimer();

  constructor(
    private readonly session: RefreshedSession,
    private readonly backoff: RetryBackoff,
    private readonly refreshMain: () => Promise<CachedTokens>,
  ) {}

  schedule(retryMs?: number): void {
    this.timer.cancel();
    const { closed, tokens, grants, profile } = this.session;
    const main = tokens.main;
    // Something to renew the tokens with: the login's refresh token, or the client's credentials.
    const renewable = grants.current || profile.grant === 'client_credentials';
    if (closed || !main || !renewable) return;
    this.timer.arm(retryMs ?? backgroundDelayMs(main), () => this.run());
  }

  cancel(): void {
    this.timer.cancel();
  }

  private run(): void {
    const { tokens, profile, closed } = this.session;
    const entry = tokens.main;
    if (!entry || (entry.lastUsedMs === 0 && !profile.tokenFile) || closed) return;
    if (RefreshTimer.clamped(backgroundDelayMs(entry))) return this.schedule();
    const waitMs = this.backoff.waitMs();
    if (waitMs > 0) return this.schedule(waitMs + 50);
    this.refreshMain().catch((err: unknown) => {
      const main = tokens.main;
      const stillValid = main && firstToExpire(main).expiresAt > Date.now() / 1000;
      const loginGone = err instanceof AgentError && err.reason === 'LOGIN_REQUIRED';
      if (err instanceof AgentError && !loginGone && stillValid) {
        this.schedule(this.backoff.waitMs() + 50);
      }
    });
  }
}
