import type { StoreKind } from '../../rpc/methods.js';
import { FileStore } from './fileStore.js';
import { KeychainStore, NO_DBUS_SESSION } from './keychainStore.js';
import { StoreUnavailableError, type StoredGrant, type TokenStore } from './tokenStore.js';

/**
 * The OS keychain, until it first fails as a store (no D-Bus, locked, not answering); from then on
 * the file store, for the rest of the daemon's life, so a headless machine keeps its login and
 * does not pay the keychain's failure on every call.
 */
export class FallbackStore implements TokenStore {
  private active: TokenStore;
  private fallbackWarning: string | undefined;

  constructor(
    private readonly primary: KeychainStore,
    private readonly fallback: FileStore,
  ) {
    this.active = primary;
  }

  get kind(): StoreKind {
    return this.active.kind;
  }

  get warning(): string | undefined {
    return this.fallbackWarning;
  }

  async load(key: string): Promise<StoredGrant | null> {
    const grant = await this.withFallback((store) => store.load(key));
    if (grant !== null || this.active !== this.primary) return grant;
    return this.adoptFileLogin(key);
  }

  /**
   * A login kept in the file store while the keychain was unavailable (an earlier headless run)
   * moves into the keychain once it works again, instead of looking like "login required".
   */
  private async adoptFileLogin(key: string): Promise<StoredGrant | null> {
    const left = await this.fallback.load(key).catch(() => null);
    if (left === null) return null;
    await this.save(key, left);
    if (this.active === this.primary) await this.fallback.remove(key).catch(() => undefined);
    return left;
  }

  save(key: string, grant: StoredGrant): Promise<void> {
    return this.withFallback((store) => store.save(key, grant));
  }

  remove(key: string): Promise<void> {
    return this.withFallback((store) => store.remove(key));
  }

  private async withFallback<T>(operation: (store: TokenStore) => Promise<T>): Promise<T> {
    const store = this.active;
    try {
      return await operation(store);
    } catch (error) {
      if (store !== this.primary || !(error instanceof StoreUnavailableError)) throw error;
      this.switchToFallback(error);
      return operation(this.fallback);
    }
  }

  private switchToFallback(reason: StoreUnavailableError): void {
    if (this.active === this.fallback) return; // a concurrent call switched already
    this.active = this.fallback;
    const where = `your login is in a 0600 file in ${this.fallback.dir}`;
    this.fallbackWarning =
      reason.message === NO_DBUS_SESSION
        ? `${reason.message}: ${where}`
        : `${reason.message}; until then ${where}`;
  }
}
