import type { StoredGrant, TokenStore } from './tokenStore.js';

/** Keeps grants for the daemon's lifetime only: a restart means logging in again. */
export class MemoryStore implements TokenStore {
  readonly kind = 'memory' as const;
  private readonly grants = new Map<string, StoredGrant>();

  async load(key: string): Promise<StoredGrant | null> {
    const grant = this.grants.get(key);
    return grant ? { ...grant } : null;
  }

  async save(key: string, grant: StoredGrant): Promise<void> {
    this.grants.set(key, { ...grant });
  }

  async remove(key: string): Promise<void> {
    this.grants.delete(key);
  }
}
