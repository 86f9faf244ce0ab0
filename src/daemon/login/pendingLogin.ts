import type { LoginFlow } from '../../rpc/methods.js';
import type { TokenSet } from '../../provider/tokenSet.js';

/** A completed login: its tokens, and who the profile's previous login was. */
export interface LoginResult {
  set: TokenSet;
  previousSubject?: string | undefined;
}

/** A login the daemon is running on behalf of a client; `result` settles once, with tokens or an AgentError. */
export interface PendingLogin {
  readonly id: string;
  readonly profile: string;
  readonly flow: LoginFlow;
  /** What the user opens: the authorization URL, or the device verification URL. */
  readonly url: string;
  /** A private file:// page forwarding to `url`, for the browser's command line (browserPage.ts). */
  readonly browserUrl?: string | undefined;
  readonly userCode?: string;
  readonly verificationUrl?: string;
  /** Unix seconds after which the login gives up by itself. */
  readonly expiresAt: number;
  readonly result: Promise<LoginResult>;
  cancel(error: Error): void;
}

/** A promise with its settle functions, settled at most once. */
export function deferred<T>(): {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (err: Error) => void;
} {
  let resolve!: (value: T) => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // The registry may not be waiting yet; an early failure must not become an unhandled rejection.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}
