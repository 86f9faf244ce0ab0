import { AsyncEntry, type EntryOptions } from '@napi-rs/keyring';
import { parseGrant } from './grantJson.js';
import { StoreUnavailableError, type StoredGrant, type TokenStore } from './tokenStore.js';

const SERVICE = 'kms-agent';
const DEFAULT_TIMEOUT_MS = 5000;

/**
 * On Linux, only the Secret Service. The library's default falls back to the kernel keyring,
 * which forgets everything at reboot and, in containers, fails half-way ("AccessDenied") after
 * leaving a partial entry behind; the file store is the honest fallback there.
 * Ignored on macOS and Windows.
 */
const ENTRY_OPTIONS: EntryOptions = { linux: { store: 'secret-service' } };

export interface KeychainStoreOptions {
  /** Bound on each keychain call, so a hung or prompting keychain never stalls the daemon. */
  timeoutMs?: number;
}

/** The OS keychain (macOS Keychain, Windows Credential Manager, Secret Service): one entry per key. */
export class KeychainStore implements TokenStore {
  readonly kind = 'keychain' as const;
  private readonly timeoutMs: number;

  constructor(options: KeychainStoreOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  async load(key: string): Promise<StoredGrant | null> {
    const secret = await this.call(key, (entry, signal) => entry.getPassword(signal));
    return secret === null ? null : parseGrant(secret);
  }

  async save(key: string, grant: StoredGrant): Promise<void> {
    await this.call(key, (entry, signal) => entry.setPassword(JSON.stringify(grant), signal));
  }

  async remove(key: string): Promise<void> {
    // Resolves false when there was nothing to delete: that is success too.
    await this.call(key, (entry, signal) => entry.deletePassword(signal));
  }

  private async call<T>(key: string, operation: (entry: AsyncEntry, signal: AbortSignal) => Promise<T>): Promise<T> {
    const signal = AbortSignal.timeout(this.timeoutMs);
    try {
      // The constructor talks to D-Bus synchronously on Linux (and throws when there is none),
      // so it belongs inside the try.
      const entry = new AsyncEntry(SERVICE, key, ENTRY_OPTIONS);
      return await settleBefore(operation(entry, signal), signal);
    } catch (error) {
      throw unavailable(error, this.timeoutMs);
    }
  }
}

/**
 * The library only honours the signal for calls still queued; one already talking to a stuck
 * keychain runs on, so the caller stops waiting for it here.
 */
function settleBefore<T>(pending: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    pending.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** Turns the platform's error into one line saying what is wrong and what to do. */
function unavailable(error: unknown, timeoutMs: number): StoreUnavailableError {
  // The first sentence is the news; D-Bus appends a paragraph of "possible causes".
  const detail = (error instanceof Error ? error.message : String(error)).split('. ')[0];
  const name = error instanceof Error ? error.name : '';
  let message: string;
  if (name === 'TimeoutError' || name === 'AbortError') {
    message = `OS keychain did not answer within ${timeoutMs / 1000} s (hung, or waiting on an unlock prompt)`;
  } else if (/DBUS_SESSION_BUS_ADDRESS|Failed to connect to socket|autolaunch/i.test(detail)) {
    message = `OS keychain unavailable: no D-Bus session bus, so no Secret Service (${detail})`;
  } else if (/org\.freedesktop\.secrets/.test(detail)) {
    message = `OS keychain unavailable: no Secret Service on the D-Bus session bus; start gnome-keyring or KeePassXC (${detail})`;
  } else if (/Did not receive a reply/i.test(detail)) {
    message = `OS keychain did not answer: the Secret Service is not responding (${detail})`;
  } else if (/no result found/i.test(detail)) {
    // Seen from a keyring daemon that has no login keyring (collection) yet.
    message = `OS keychain has no default keyring (${detail}): create one, e.g. by logging in to the desktop once`;
  } else if (/locked|unlock|prompt/i.test(detail)) {
    message = `OS keychain is locked (${detail}): unlock it, e.g. by logging in to the desktop or with gnome-keyring-daemon --unlock`;
  } else {
    message = `OS keychain unavailable (${detail})`;
  }
  return new StoreUnavailableError('keychain', message, { cause: error });
}
