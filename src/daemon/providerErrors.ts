import * as oidc from 'openid-client';

/**
 * What a failed provider call means for the agent:
 * - transient: network, timeout, 5xx, 429 — keep the login, serve a still-valid token, retry later;
 * - invalid_grant: the refresh token is dead — the login is gone;
 * - denied: the user or provider refused a login;
 * - expired: the device code ran out before the user approved it (RFC 8628 `expired_token`);
 * - rejected: any other OAuth error (`error` holds its code) — a request the user must change.
 */
export type ProviderFailure =
  | { kind: 'transient'; detail: string }
  | { kind: 'invalid_grant'; detail: string }
  | { kind: 'denied'; detail: string }
  | { kind: 'expired'; detail: string }
  | { kind: 'rejected'; detail: string; error?: string };

function oauthDetail(error: string, description?: string): string {
  return description ? `${error}: ${description}` : error;
}

/**
 * Classifies a failed call. `secrets` are the values this call sent (refresh token, code,
 * verifier, client secret): a provider that echoes one in its error description must not put it
 * into the agent's log, a client's error message or `status`.
 */
export function classifyProviderError(err: unknown, secrets: ReadonlyArray<string | undefined> = []): ProviderFailure {
  const failure = classify(err);
  for (const secret of secrets) {
    if (secret && failure.detail.includes(secret)) failure.detail = failure.detail.replaceAll(secret, '[redacted]');
  }
  return failure;
}

function classify(err: unknown): ProviderFailure {
  if (err instanceof oidc.ResponseBodyError) {
    const detail = oauthDetail(err.error, err.error_description);
    if (err.status >= 500 || err.status === 429) return { kind: 'transient', detail: `HTTP ${err.status} ${detail}` };
    if (err.error === 'invalid_grant') return { kind: 'invalid_grant', detail };
    if (err.error === 'access_denied') return { kind: 'denied', detail };
    if (err.error === 'expired_token') return { kind: 'expired', detail };
    return { kind: 'rejected', detail, error: err.error };
  }
  if (err instanceof oidc.AuthorizationResponseError) {
    return { kind: 'denied', detail: oauthDetail(err.error, err.error_description) };
  }
  const response = (err as { cause?: unknown })?.cause;
  if (response instanceof Response) {
    // A success status with a body that is no token response (a captive portal, a proxy's page)
    // is an outage like a 5xx: the login is fine, a still-valid token is served.
    const detail = `HTTP ${response.status} from the provider${response.status < 400 ? ' with no valid token response' : ''}`;
    return response.status < 400 || response.status >= 500 || response.status === 429
      ? { kind: 'transient', detail }
      : { kind: 'rejected', detail };
  }
  return { kind: 'transient', detail: networkDetail(err) };
}

function networkDetail(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = (err as { cause?: { code?: string; message?: string; name?: string } }).cause;
  if ([err.name, cause?.name].some((name) => name === 'TimeoutError' || name === 'AbortError')) return 'timed out';
  if (cause?.code) return `${cause.code}${cause.message ? ` (${cause.message})` : ''}`;
  return err.message;
}
