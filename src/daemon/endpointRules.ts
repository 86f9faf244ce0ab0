/**
 * Which endpoint URLs may carry tokens: https, or plain http to this machine only (tokens and
 * secrets would otherwise cross the network in clear). One rule for the config and for
 * endpoints found by discovery.
 */
export function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127(?:\.\d{1,3}){3}$/.test(hostname);
}

/** Why `url` may not be used as a provider endpoint, or undefined when it may. */
export function endpointProblem(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'it is not a URL';
  }
  if (parsed.protocol === 'https:') return undefined;
  if (parsed.protocol !== 'http:') return 'it is not an http(s) URL';
  return isLoopbackHost(parsed.hostname) ? undefined : 'plain http is allowed only to this machine (localhost, 127.0.0.0/8, ::1): tokens would travel in clear';
}
