import type { Logger } from './logger.js';
import { AgentError } from '../rpc/jsonRpc.js';
import { StoreUnavailableError, type StoredGrant, type TokenStore } from './stores/tokenStore.js';
import type { TokenSet } from '../provider/tokenSet.js';
import { DpopKey } from '../provider/dpopKey.js';
import { locked } from './control/refusals.js';
import type { Sealed, Sealer } from './control/sealing.js';
import { parseGrant } from './stores/grantJson.js';
import { OneAtATime } from './oneAtATime.js';

/**
 * The stored login of one profile, and the one truth about it: the store. Every use and change of
 * the refresh token runs through `serialised`, because it is one credential and a rotating
 * provider kills the old one the moment it issues a new one. Another agent may share the store (one
 * of another state directory, docs/architecture.md): so the store is read again before each use
 * (`reread`), and compared before each write or delete: a login that changed since this agent last
 * read it is adopted, never overwritten or deleted.
 */
export class GrantKeeper {
  /** What this agent last read from the store or wrote there (undefined: not read; null: none). */
  private grant: StoredGrant | null | undefined;
  private readonly turns = new OneAtATime();
  /** Set when the last save failed: the login then lives in memory only. */
  saveProblem: string | undefined;
  private dpopKey: DpopKey | undefined;
  /** While locked: who is logged in (no refresh token), and the grant sealed if only here. */
  private sealed: { view: StoredGrant | null; secret?: Sealed } | undefined;
  /** Told each grant this agent reads or writes (null: none): the login's lifetime follows it. */
  onGrant: (grant: StoredGrant | null) => void = () => undefined;

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

  /** The grant as last read (the store is read the first time only): for `status`. */
  async load(): Promise<StoredGrant | null> {
    if (this.sealed) return this.sealed.view;
    return this.grant !== undefined ? this.grant : this.reread();
  }

  private keep(grant: StoredGrant | null): void {
    this.grant = grant;
    this.onGrant(grant);
  }

  /**
   * The agent locks: the refresh token leaves memory. A store that keeps it (keychain, file) has it
   * back at unlock; one held only here (a save that failed) is sealed under the passphrase's key.
   * The memory store seals its own (memoryStore.ts). Run through `serialised`.
   */
  seal(sealer: Sealer): void {
    const grant = this.grant;
    const onlyHere = grant && this.saveProblem !== undefined;
    this.sealed = { view: grant ? lockedView(grant) : null };
    if (onlyHere) this.sealed.secret = sealer.seal(JSON.stringify(grant));
    this.grant = undefined;
    this.dpopKey = undefined;
  }

  unseal(sealer: Sealer): void {
    const secret = this.sealed?.secret;
    const text = secret && sealer.open(secret);
    this.sealed = undefined;
    const grant = text ? parseGrant(text) : null;
    if (grant) this.keep(grant);
  }

  /**
   * The grant as the store holds it now, before a refresh token is used or the login replaced. A
   * store that cannot be read now leaves the login this agent knows in use.
   */
  async reread(): Promise<StoredGrant | null> {
    if (this.sealed) throw locked();
    const stored = await this.readStore();
    if (stored === undefined) return this.grant!;
    if (this.grant && stored?.refresh_token !== this.grant.refresh_token) {
      const what =
        'the stored login changed since this agent last read it (another agent ' +
        'refreshed, logged in or out): using the stored one';
      this.log.info({ logged_in: stored !== null }, what);
    }
    this.keep(stored);
    return stored;
  }

  /**
   * Stores `grant` in place of the login this agent knows, unless the store holds another one by
   * now (another agent's): that one is adopted and returned instead. The grant is kept in memory
   * even when the store fails, so the agent keeps working; the user is told it won't survive a
   * restart.
   */
  async save(grant: StoredGrant): Promise<StoredGrant | null> {
    if (this.sealed) throw locked();
    const stored = await this.readStore(false);
    if (stored !== undefined && this.changedTo(stored)) return this.adopt(stored, 'save');
    this.keep(grant);
    try {
      await this.store.save(this.key, grant);
      this.saveProblem = undefined;
    } catch (err) {
      const failure = this.storeFailed(err, 'save');
      this.saveProblem = `${failure.message}; the login is kept in memory only and is lost when the agent stops`;
      this.log.error({ err: failure.message }, 'could not save the refresh token');
    }
    return grant;
  }

  /**
   * Deletes the login this agent knows; one that changed since it read it stays, adopted. Returns
   * whether the store holds no login now.
   */
  async forget(): Promise<boolean> {
    if (this.sealed) throw locked();
    const stored = await this.readStore(false);
    if (stored !== undefined && this.changedTo(stored)) {
      return this.adopt(stored, 'delete') === null;
    }
    this.keep(null);
    this.saveProblem = undefined;
    try {
      await this.store.remove(this.key);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'could not remove the login from the store');
    }
    return true;
  }

  /** The DPoP key of a stored login (the same object while the key is the same: one handle). */
  dpopKeyOf(grant: StoredGrant): DpopKey | undefined {
    const jwk = grant.dpop_key;
    if (jwk === undefined) return undefined;
    if (this.dpopKey?.toJwk().d !== jwk.d) this.dpopKey = DpopKey.fromJwk(jwk);
    return this.dpopKey;
  }

  serialised<T>(task: () => Promise<T>): Promise<T> {
    return this.turns.run(task);
  }

  /**
   * The store's login, or undefined when that says nothing: the store cannot be read (then
   * `required` throws, if nothing is known yet), or it has just handed over to its fallback, which
   * does not hold the login yet (fallbackStore.ts: it gets there with the next save).
   */
  private async readStore(required = true): Promise<StoredGrant | null | undefined> {
    const kind = this.store.kind;
    try {
      const stored = await this.store.load(this.key);
      return stored === null && this.grant && this.store.kind !== kind ? undefined : stored;
    } catch (err) {
      const failure = this.storeFailed(err, 'read');
      if (required && this.grant === undefined) throw failure;
      const what = 'could not read the store again; going on with the login this agent knows';
      this.log.warn({ err: failure.message }, what);
      return undefined;
    }
  }

  /** Whether the store holds another login than the one this agent last read or wrote. */
  private changedTo(stored: StoredGrant | null): boolean {
    return this.grant !== undefined && stored?.refresh_token !== this.grant?.refresh_token;
  }

  private adopt(stored: StoredGrant | null, action: string): StoredGrant | null {
    const what =
      'the stored login changed since this agent read it (another agent): ' +
      `not overwritten by a ${action}, adopted`;
    this.log.warn({ logged_in: stored !== null }, what);
    this.keep(stored);
    return stored;
  }

  private storeFailed(err: unknown, action: string): AgentError {
    const detail =
      err instanceof StoreUnavailableError ? err.message : ((err as Error)?.message ?? String(err));
    return new AgentError(
      'STORE_UNAVAILABLE',
      `cannot ${action} the login of profile ${this.profile}: ${detail}`,
    );
  }
}

/**
/** Who is logged in, as `status` shows it while locked: no refresh token, id_token or DPoP key. */
function lockedView(grant: StoredGrant): StoredGrant {
  const { id_token: _id, dpop_key: _key, ...view } = grant;
  return { ...view, refresh_token: '' };
}

/**
 * What a login leaves in the store: its refresh token, who it is for, its id_token and when its
 * lifetime ends (never an access token).
 */
export function grantOf(set: TokenSet, endsAt?: number): StoredGrant {
  const grant: StoredGrant = {
    refresh_token: set.refreshToken!,
    saved_at: Math.floor(Date.now() / 1000),
  };
  if (endsAt !== undefined) grant.ends_at = endsAt;
  for (const name of ['subject', 'email', 'scope', 'issuer', 'nonce'] as const) {
    const value = set[name];
    if (value !== undefined) grant[name] = value;
  }
  if (set.idToken !== undefined) grant.id_token = set.idToken;
  if (set.boundTo !== undefined) grant.dpop_key = set.boundTo.toJwk();
  return grant;
}
