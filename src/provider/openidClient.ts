/**
 * openid-client (with oauth4webapi and jose) is loaded on the first provider call, not at start:
 * an agent that has not talked to its provider yet starts faster and smaller without it (issue 15,
 * bench/RESULTS.md). Loaded once; every later call gets the same module.
 */
export type OpenidClient = typeof import('openid-client');

let loaded: OpenidClient | undefined;
let loading: Promise<OpenidClient> | undefined;

export function openidClient(): Promise<OpenidClient> {
  loading ??= import('openid-client').then(
    (module) => (loaded = module),
    (error: unknown) => {
      loading = undefined; // a failed load is tried again by the next call
      throw error;
    },
  );
  return loading;
}

/** The module once a provider call has loaded it. Until then no error of openid-client's can exist. */
export function openidClientIfLoaded(): OpenidClient | undefined {
  return loaded;
}
