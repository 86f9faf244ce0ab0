import type { StoreKind } from '../../rpc/methods.js';
import { FallbackStore } from './fallbackStore.js';
import { FileStore } from './fileStore.js';
import { KeychainStore } from './keychainStore.js';
import { MemoryStore } from './memoryStore.js';
import type { TokenStore } from './tokenStore.js';

/**
 * The store a profile's `store` setting names (docs/configuration.md): "keychain" falls back to
 * files under storeDir when the OS keychain cannot be used. A new kind of store is a class beside
 * this file, a case here, and its name in STORE_KINDS (src/rpc/methods.ts).
 */
export function openStore(kind: StoreKind, storeDir: string): TokenStore {
  switch (kind) {
    case 'keychain':
      return new FallbackStore(new KeychainStore(), new FileStore(storeDir));
    case 'file':
      return new FileStore(storeDir);
    case 'memory':
      return new MemoryStore();
  }
}
