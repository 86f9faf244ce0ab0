import type { Logger } from './logger.js';
import { AgentError } from '../rpc/jsonRpc.cjs';
import { StoreUnavailableError, type StoredGrant, type TokenStore } from './stores/tokenStore.js';
import type { TokenSet } from '../provider/tokenSet.js';

/**
 * The stored login of one profile: read from the store once, then kept in memory; every use and
 * change of the refresh token runs through `serialised`, because it is one credential and a
 * rotating provider kills the old one the moment it issues a new one.
 */
export class GrantKeeper {
  /** undefined until read from the store; null when there is no login. */
  private grant: StoredGrant | null | undefined;
  private lock: Promise<unknown> = Promise.resolve();
  /** Set when the last save failed: the login then lives in memory only. */
  saveProblem: string | undefined;

  constructor(
    private readonly profile: string,
    readonly store: TokenStore,
    private readonly key: string,
    private readonly log: Logger,
  ) {}

  /** The grant in memory, without reading the store (undefined: not read yet). */
  get current(): StoredGrant | null | undefined {
    return this.grant;
  }

  async load(): Promise<StoredGrant | null> {
    if (this.grant !== undefined) return this.grant;
    try {
      this.grant = await this.store.load(this.key);
    } catch (err) {
      throw this.storeFailed(err, 'read');
    }
    return this.grant;
  }

  /** Keeps the grant in memory even when the store fails, so the agent keeps working; the user is told it won't survive a restart. */
  async save(grant: StoredGrant): Promise<void> {
    this.grant = grant;
    try {
      await this.store.save(this.key, grant);
      this.saveProblem = undefined;
    } catch (err) {
      const failure = this.storeFailed(err, 'save');
      this.saveProblem = `${failure.message}; the login is kept in memory only and is lost when the agent stops`;
      this.log.error({ err: failure.message }, 'could not save the refresh token');
    }
  }

  async forget(): Promise<void> {
    this.grant = null;
    this.saveProblem = undefined;
    try {
      await this.store.remove(this.key);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'could not remove the login from the store');
    }
  }

  serialised<T>(task: () => Promise<T>): Promise<T> {
    const run = this.lock.then(task, task);
    this.lock = run.catch(() => undefined);
    return run;
  }

  private storeFailed(err: unknown, action: string): AgentError {
    const detail = err instanceof StoreUnavailableError ? err.message : ((err as Error)?.message ?? String(err));
    return new AgentError('STORE_UNAVAILABLE', `cannot ${action} the login of profile ${this.profile}: ${detail}`);
  }
}

/** What a login leaves in the store: its refresh token and who it is for (never an access or id token). */
export function grantOf(set: TokenSet): StoredGrant {
  const grant: StoredGrant = { refresh_token: set.refreshToken!, saved_at: Math.floor(Date.now() / 1000) };
  for (const name of ['subject', 'email', 'scope', 'issuer', 'nonce'] as const) {
    const value = set[name];
    if (value !== undefined) grant[name] = value;
  }
  return grant;
}
