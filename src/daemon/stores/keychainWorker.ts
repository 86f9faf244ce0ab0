/**
 * Runs the OS keychain library off the daemon's main thread. On Linux, creating a keyring entry
 * talks to D-Bus synchronously: a frozen Secret Service blocked the whole event loop (every
 * profile, agent.status) for the library's own D-Bus timeout, out of reach of any AbortSignal.
 * Here only this thread waits; KeychainStore gives up on its own clock.
 *
 * Built as a CommonJS file of its own (scripts/build.mjs): without Node's ES module loader the thread starts in about two thirds of
 * the time and leaves several MiB less behind in the daemon once it stops (bench/RESULTS.md).
 */
import { parentPort } from 'node:worker_threads';
import { AsyncEntry, type EntryOptions } from '@napi-rs/keyring';

export type KeychainOp = 'get' | 'set' | 'delete';

export interface KeychainRequest {
  id: number;
  op: KeychainOp;
  service: string;
  key: string;
  value?: string;
  options: EntryOptions;
  timeoutMs: number;
}

export type KeychainResponse =
  | { id: number; ok: true; value: string | null }
  | { id: number; ok: false; name: string; message: string };

/**
 * One entry per key for the thread's life: on Linux each new entry opens a D-Bus connection of its
 * own, held until the entry is collected (seen: 100 calls, 100 connections; the session bus lets a
 * user have 256, for every program of the session), and the agent reads the store before every
 * refresh. The thread stops when idle, and its connections with it.
 */
const entries = new Map<string, AsyncEntry>();

function entryFor(request: KeychainRequest): AsyncEntry {
  const id = `${request.service}\0${request.key}`;
  let entry = entries.get(id);
  if (entry === undefined) {
    entry = new AsyncEntry(request.service, request.key, request.options);
    entries.set(id, entry);
  }
  return entry;
}

async function run(request: KeychainRequest): Promise<string | null> {
  const signal = AbortSignal.timeout(request.timeoutMs);
  const entry = entryFor(request);
  switch (request.op) {
    case 'get':
      return (await entry.getPassword(signal)) ?? null;
    case 'set':
      await entry.setPassword(request.value ?? '', signal);
      return null;
    case 'delete':
      await entry.deletePassword(signal);
      return null;
  }
}

parentPort?.on('message', (request: KeychainRequest) => {
  run(request).then(
    (value) =>
      parentPort!.postMessage({ id: request.id, ok: true, value } satisfies KeychainResponse),
    (error: unknown) =>
      parentPort!.postMessage({
        id: request.id,
        ok: false,
        name: error instanceof Error ? error.name : 'Error',
        message: error instanceof Error ? error.message : String(error),
      } satisfies KeychainResponse),
  );
});
