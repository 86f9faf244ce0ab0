import { Worker } from 'node:worker_threads';
import type { EntryOptions } from '@napi-rs/keyring';
import { KEYCHAIN_WORKER } from '../../os/packageFiles.js';
import { processMemory } from '../memoryWhenQuiet.js';
import { parseGrant } from './grantJson.js';
import type { KeychainOp, KeychainRequest, KeychainResponse } from './keychainWorker.js';
import { StoreUnavailableError, type StoredGrant, type TokenStore } from './tokenStore.js';

const SERVICE = 'kms-agent';
const DEFAULT_TIMEOUT_MS = 5000;
/** The keychain thread costs ~12 MiB while it runs; it is stopped after this long without a call, and restarted (~30 ms) when needed. */
const THREAD_IDLE_MS = 10_000;

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
    const secret = await this.call('get', key);
    return secret === null ? null : parseGrant(secret);
  }

  async save(key: string, grant: StoredGrant): Promise<void> {
    await this.call('set', key, JSON.stringify(grant));
  }

  async remove(key: string): Promise<void> {
    // Deleting an entry that is not there is success too.
    await this.call('delete', key);
  }

  private async call(op: KeychainOp, key: string, value?: string): Promise<string | null> {
    try {
      return await keychainThread().call(
        {
          op,
          service: SERVICE,
          key,
          ...(value === undefined ? {} : { value }),
          options: ENTRY_OPTIONS,
          timeoutMs: this.timeoutMs,
        },
        this.timeoutMs,
      );
    } catch (error) {
      throw unavailable(error, this.timeoutMs);
    }
  }
}

/**
 * The keychain library runs on its own thread (keychainWorker.ts): on Linux it talks to D-Bus
 * synchronously, and a frozen Secret Service would otherwise stall the whole agent. This side
 * stops waiting after the timeout, whatever the library is doing.
 */
class KeychainThread {
  private worker: Worker | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private nextId = 1;
  private readonly pending = new Map<
    number,
    { resolve: (value: string | null) => void; reject: (error: Error) => void }
  >();

  call(request: Omit<KeychainRequest, 'id'>, timeoutMs: number): Promise<string | null> {
    clearTimeout(this.idleTimer);
    const worker = this.start();
    const id = this.nextId++;
    // Referenced while a call waits (a script awaiting the keychain must not exit under it), not after.
    worker.ref();
    return new Promise<string | null>((resolve, reject) => {
      const settle = (): void => {
        clearTimeout(timer);
        this.pending.delete(id);
        if (this.pending.size > 0) return;
        worker.unref();
        clearTimeout(this.idleTimer);
        this.idleTimer = setTimeout(() => this.stop(worker), THREAD_IDLE_MS).unref();
      };
      const timer = setTimeout(() => {
        settle();
        reject(
          new DOMException(`the keychain did not answer within ${timeoutMs} ms`, 'TimeoutError'),
        );
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (value) => {
          settle();
          resolve(value);
        },
        reject: (error) => {
          settle();
          reject(error);
        },
      });
      worker.postMessage({ ...request, id } satisfies KeychainRequest);
    });
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    // No execArgv: flags meant for the main script (--input-type, --eval …) would stop the thread.
    const worker = new Worker(KEYCHAIN_WORKER, { execArgv: [] });
    // A thread stuck in the library must not keep the agent (or a test) alive.
    worker.unref();
    worker.on('message', (response: KeychainResponse) => {
      const waiter = this.pending.get(response.id);
      if (!waiter) return; // timed out already
      if (response.ok) waiter.resolve(response.value);
      else waiter.reject(Object.assign(new Error(response.message), { name: response.name }));
    });
    // Only the current thread's end fails the calls in progress (a stopped idle one has none).
    const fail = (error: Error): void => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      for (const waiter of [...this.pending.values()]) waiter.reject(error);
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the keychain thread exited (code ${code})`)));
    this.worker = worker;
    return worker;
  }

  /** A thread still stuck in the library ends once the library returns; a new one serves the next call. */
  private stop(worker: Worker): void {
    if (this.worker !== worker || this.pending.size > 0) return;
    this.worker = undefined;
    void worker.terminate().then(() => processMemory.threadEnded());
  }
}

let thread: KeychainThread | undefined;
const keychainThread = (): KeychainThread => (thread ??= new KeychainThread());

/** The usual case on a server or over SSH; the file store's warning starts with it (fallbackStore.ts). */
export const NO_DBUS_SESSION = 'no keychain on this machine (no D-Bus session)';

/** Turns the platform's error into one line saying what is wrong and what to do. */
function unavailable(error: unknown, timeoutMs: number): StoreUnavailableError {
  // The first sentence is the news; D-Bus appends a paragraph of "possible causes".
  const detail = (error instanceof Error ? error.message : String(error)).split('. ')[0] ?? '';
  const name = error instanceof Error ? error.name : '';
  let message: string;
  if (name === 'TimeoutError' || name === 'AbortError') {
    message = `OS keychain did not answer within ${timeoutMs / 1000} s (hung, or waiting on an unlock prompt)`;
  } else if (/DBUS_SESSION_BUS_ADDRESS|Failed to connect to socket|autolaunch/i.test(detail)) {
    // libdbus's own text ("Using X11 for dbus-daemon autolaunch was disabled…") tells a user nothing.
    message = NO_DBUS_SESSION;
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
