import type { Sealed, Sealer } from '../control/sealing.js';
import type { StoredGrant, TokenStore } from './tokenStore.js';

/**
 * Keeps grants for the daemon's lifetime only: a restart means logging in again. While the agent
 * is locked they are kept sealed under the passphrase's key (docs/SECURITY.md): nothing else holds
 * them.
 */
export class MemoryStore implements TokenStore {
  readonly kind = 'memory' as const;
  private readonly grants = new Map<string, StoredGrant>();
  private sealed: Map<string, Sealed> | undefined;

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

  seal(sealer: Sealer): void {
    this.sealed ??= new Map();
    for (const [key, grant] of this.grants)
      this.sealed.set(key, sealer.seal(JSON.stringify(grant)));
    this.grants.clear();
  }

  unseal(sealer: Sealer): void {
    for (const [key, sealed] of this.sealed ?? []) {
      const text = sealer.open(sealed);
      if (text !== undefined) this.grants.set(key, JSON.parse(text) as StoredGrant);
    }
    this.sealed = undefined;
  }
}
