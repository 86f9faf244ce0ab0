/**
 * Where tokens, codes and secrets may be sent: https anywhere, plain http only to this machine.
 * The config checks its endpoints with these, and the provider client checks discovered ones, so
 * an endpoint that loads is also one the agent will talk to. git-credential, on the fast path, holds
 * plain http to the same loopback rule.
 */

const IPV4_LOOPBACK = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** localhost, 127.0.0.0/8 or ::1, as `URL.hostname` gives them (IPv6 in brackets) or bare. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase();
  if (host === 'localhost' || host === '::1' || host === '[::1]') return true;
  const octets = IPV4_LOOPBACK.exec(host);
  return octets !== null && octets.slice(1).every((octet) => Number(octet) <= 255);
}

/**
 * What `url` falls short of as an endpoint, phrased to follow "expected", or undefined when the
 * agent may send tokens there: an http(s) URL, and https unless the host is loopback.
 */
export function endpointProblem(url: string): string | undefined {
  const parsed = URL.canParse(url) ? new URL(url) : undefined;
  if (parsed?.protocol === 'https:') return undefined;
  if (parsed?.protocol !== 'http:') return 'an http(s) URL';
  if (isLoopbackHost(parsed.hostname)) return undefined;
  return 'an https URL (plain http only to localhost, 127.0.0.0/8 or ::1: tokens would travel in clear)';
}

/** The endpoints of a discovery document that receive tokens, codes or secrets. */
export const TOKEN_ENDPOINTS = [
  'authorization_endpoint',
  'token_endpoint',
  'revocation_endpoint',
  'device_authorization_endpoint',
] as const;

/**
 * The first endpoint of a discovery document the agent must not send tokens to, as the sentence
 * the daemon and `kms-agent add` both refuse it with; undefined when every one is fine.
 */
export function discoveredEndpointProblem(
  issuer: string,
  metadata: Partial<Record<(typeof TOKEN_ENDPOINTS)[number], unknown>>,
): string | undefined {
  for (const name of TOKEN_ENDPOINTS) {
    const url = metadata[name];
    if (typeof url !== 'string') continue;
    const problem = endpointProblem(url);
    if (problem)
      return `the discovery document of ${issuer} names ${name} ${url}: expected ${problem}`;
  }
  return undefined;
}

/** True for an http (not https) URL to this machine: the provider client must then allow plain http. */
export function isLoopbackHttp(url: string): boolean {
  const parsed = URL.canParse(url) ? new URL(url) : undefined;
  return parsed?.protocol === 'http:' && isLoopbackHost(parsed.hostname);
}

/**
 * The hosts a login redirect may name: the listener binds 127.0.0.1 and ::1 only, so any other
 * loopback address (127.0.0.2, …) could be bound by another process that would receive the code.
 */
export const REDIRECT_HOSTS: readonly string[] = ['localhost', '127.0.0.1', '[::1]'];
