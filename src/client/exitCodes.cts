import type { Reason } from '../rpc/reasons.js';

/** SPEC §4 exit codes. */
export const Exit = {
  OK: 0,
  ERROR: 1,
  NO_AGENT: 2,
  LOGIN_FAILED: 3,
  LOGIN_TIMEOUT: 4,
  LOGIN_REQUIRED: 5,
  PROVIDER_UNREACHABLE: 6,
} as const;

export function exitCodeFor(reason: Reason | undefined): number {
  switch (reason) {
    case 'LOGIN_REQUIRED':
      return Exit.LOGIN_REQUIRED;
    case 'PROVIDER_UNREACHABLE':
      return Exit.PROVIDER_UNREACHABLE;
    case 'LOGIN_TIMEOUT':
      return Exit.LOGIN_TIMEOUT;
    case 'LOGIN_DENIED':
      return Exit.LOGIN_FAILED;
    default:
      return Exit.ERROR;
  }
}

/**
 * `login` (SPEC §4) exits 3 for any login that was denied or failed — also when the provider is
 * unreachable, which `token` reports as 6 — and 4 when it timed out. Usage errors stay 1.
 */
export function loginExitCodeFor(reason: Reason | undefined): number {
  switch (reason) {
    case 'LOGIN_TIMEOUT':
      return Exit.LOGIN_TIMEOUT;
    case 'LOGIN_DENIED':
    case 'PROVIDER_UNREACHABLE':
    case 'PROVIDER_ERROR':
    case 'STORE_UNAVAILABLE':
    case 'BUSY':
      return Exit.LOGIN_FAILED;
    default:
      return exitCodeFor(reason);
  }
}
