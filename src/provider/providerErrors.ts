import type * as OIDC from 'openid-client';
import { failedBodyOf, ResponseTooLargeError } from './boundedFetch.js';
import { IdTokenRefusedError } from './idTokenRules.js';
import { openidClientIfLoaded } from './openidClient.js';
import { providerText } from './providerText.js';

/** Provider text without control characters, not yet cut: secrets are scrubbed first (a cut could split one). */
const whole = (value: unknown): string => providerText(value, Number.POSITIVE_INFINITY);
import { UnservableTokenError } from './tokenSet.js';

/**
 * What a failed provider call means for the agent:
 * - transient: no usable answer (network, timeout, 5xx, 429, a 2xx that is no token response, as
 *   from a captive portal): keep the login, serve a still-valid token, retry later;
 * - invalid_grant / rejected: the provider refused the request (any other 4xx, with its OAuth
 *   `error` when it sent one). For a refresh both mean the login is gone;
 * - denied: the user or provider refused a login; expired: a device code ran out (RFC 8628);
 * - invalid: the provider answered, but not acceptably (too large, a bad id_token, a discovery
 *   document naming plain-http endpoints, an issuer mix-up): an error, never a network problem.
 */
export type ProviderFailure =
  | { kind: 'transient'; detail: string }
  | { kind: 'invalid_grant'; detail: string }
  | { kind: 'denied'; detail: string }
  | { kind: 'expired'; detail: string }
  | { kind: 'rejected'; detail: string; error?: string }
  | { kind: 'invalid'; detail: string };

/** The agent refuses what the provider answered (see `invalid` above). */
export class ProviderRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProviderRefusedError';
  }
}

function oauthDetail(error: string, description?: string): string {
  return whole(description ? `${error}: ${description}` : error);
}

/**
 * The forms a value takes in a URL, a form body or JSON text (a 5xx body is quoted raw), where a
 * provider may echo it back: percent-encoding in either case, JSON, hex in either case, base64 and
 * base64url with or without padding; each also with "/" written "\/", as JSON may.
 */
function encodings(secret: string): string[] {
  const bytes = Buffer.from(secret, 'utf8');
  const url = encodeURIComponent(secret);
  const form = new URLSearchParams({ v: secret }).toString().slice(2);
  const json = JSON.stringify(secret).slice(1, -1);
  const hex = bytes.toString('hex');
  const base64 = bytes.toString('base64');
  const lowerHex = (text: string): string => text.replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase());
  const encoded = [url, form, lowerHex(url), lowerHex(form), json];
  const unpadded = base64.replace(/=+$/, '');
  const binary = [hex, hex.toUpperCase(), base64, unpadded, bytes.toString('base64url')];
  const forms = [secret, ...encoded, ...binary];
  return [...new Set(forms.flatMap((text) => [text, text.replaceAll('/', '\\/')]))];
}

/**
 * Classifies a failed call. `secrets` are the values this call sent (refresh token, code,
 * verifier, client secret): a provider that echoes one in its error description, as is or
 * URL-encoded, must not put it into the agent's log, a client's error message or `status`.
 */
export function classifyProviderError(
  err: unknown,
  secrets: ReadonlyArray<string | undefined> = [],
): ProviderFailure {
  const failure = classify(err);
  for (const secret of secrets) {
    if (!secret) continue;
    for (const form of encodings(secret))
      failure.detail = failure.detail.replaceAll(form, '[redacted]');
  }
  failure.detail = providerText(failure.detail, 500);
  return failure;
}

function classify(err: unknown): ProviderFailure {
  // openid-client is loaded on the first provider call: before it, none of its errors can exist.
  const oidc = openidClientIfLoaded();
  if (oidc && err instanceof oidc.ResponseBodyError) {
    const detail = oauthDetail(err.error, err.error_description);
    if (err.status >= 500 || err.status === 429)
      return { kind: 'transient', detail: `HTTP ${err.status} ${detail}` };
    if (err.error === 'invalid_grant') return { kind: 'invalid_grant', detail };
    if (err.error === 'access_denied') return { kind: 'denied', detail };
    if (err.error === 'expired_token') return { kind: 'expired', detail };
    return { kind: 'rejected', detail, error: err.error };
  }
  if (oidc && err instanceof oidc.AuthorizationResponseError)
    return { kind: 'denied', detail: oauthDetail(err.error, err.error_description) };
  if (oidc && err instanceof oidc.WWWAuthenticateChallengeError)
    return {
      kind: 'rejected',
      detail: `HTTP ${err.status} (${err.response.headers.get('www-authenticate') ?? 'unauthorized'})`,
    };
  const refusals = [ProviderRefusedError, IdTokenRefusedError, UnservableTokenError];
  if ([...refusals, ResponseTooLargeError].some((kind) => err instanceof kind)) {
    return { kind: 'invalid', detail: whole((err as Error).message) };
  }
  const response = (err as { cause?: unknown })?.cause;
  if (response instanceof Response) return byStatus(response);
  const network = networkCause(err);
  if (network) return { kind: 'transient', detail: networkDetail(network) };
  if (oidc && err instanceof oidc.ClientError && MALFORMED_ANSWER.has(err.code ?? '')) {
    // A success status whose body is no token response: a captive portal or a proxy, like an outage.
    return {
      kind: 'transient',
      detail: `no valid token response from the provider (${clientErrorDetail(err)})`,
    };
  }
  if (oidc && err instanceof oidc.ClientError)
    return { kind: 'invalid', detail: clientErrorDetail(err) };
  return { kind: 'invalid', detail: whole((err as Error)?.message ?? String(err)) };
}

/** An answer that is no OAuth response: a success status without a token is an outage (captive portal, proxy page). */
function byStatus(response: Response): ProviderFailure {
  const { status } = response;
  if (status < 400)
    return {
      kind: 'transient',
      detail: `HTTP ${status} from the provider with no valid token response`,
    };
  const body = whole(failedBodyOf(response) ?? '').trim();
  const detail = `HTTP ${status} from the provider${body ? `: ${body}` : ' with an empty body'}`;
  return status >= 500 || status === 429
    ? { kind: 'transient', detail }
    : { kind: 'rejected', detail };
}

/** openid-client's codes for an answer that is not a well-formed OAuth response at all. */
const MALFORMED_ANSWER = new Set([
  'OAUTH_PARSE_ERROR',
  'OAUTH_INVALID_RESPONSE',
  'OAUTH_RESPONSE_IS_NOT_JSON',
  'OAUTH_RESPONSE_IS_NOT_CONFORM',
]);

function clientErrorDetail(err: OIDC.ClientError): string {
  const cause = (err as { cause?: unknown }).cause;
  const why = cause instanceof Error && cause.message !== err.message ? `: ${cause.message}` : '';
  return whole(`${err.message}${why}`);
}

/** The network failure behind an error (openid-client wraps fetch's), if that is what it is. */
function networkCause(err: unknown): Error | undefined {
  for (
    let e = err, depth = 0;
    e instanceof Error && depth < 4;
    e = (e as { cause?: unknown }).cause, depth++
  ) {
    if (e.name === 'TimeoutError' || e.name === 'AbortError') return e;
    const cause = (e as { cause?: { code?: string } }).cause;
    if (e instanceof TypeError && (e.message === 'fetch failed' || typeof cause?.code === 'string'))
      return e;
  }
  return undefined;
}

function networkDetail(err: Error): string {
  const cause = (err as { cause?: { code?: string; message?: string; name?: string } }).cause;
  if ([err.name, cause?.name].some((name) => name === 'TimeoutError' || name === 'AbortError'))
    return 'timed out';
  if (cause?.code) return whole(`${cause.code}${cause.message ? ` (${cause.message})` : ''}`);
  return whole(err.message);
}
