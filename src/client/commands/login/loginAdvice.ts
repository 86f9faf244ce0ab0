/**
 * What `login` tells a user who is stuck: how to log in from a machine that cannot open a browser,
 * and what the browser may be showing when a login does not come back. The profile's client_id and
 * redirect URL are read from the authorization URL the agent built, so the advice names the real ones.
 */
import { hostname } from 'node:os';

/** The client_id and redirect URL an authorization URL carries (undefined when it is not one). */
function requestOf(authorizationUrl: string): { clientId?: string; redirect?: URL } {
  const url = URL.canParse(authorizationUrl) ? new URL(authorizationUrl) : undefined;
  const redirect = url?.searchParams.get('redirect_uri') ?? undefined;
  const clientId = url?.searchParams.get('client_id') ?? undefined;
  return {
    ...(clientId ? { clientId } : {}),
    ...(redirect && URL.canParse(redirect) ? { redirect: new URL(redirect) } : {}),
  };
}

/** `ssh -L PORT:HOST:PORT thishost`: a browser elsewhere then reaches this machine's login listener. */
export function tunnelCommand(authorizationUrl: string): string {
  const { redirect } = requestOf(authorizationUrl);
  const port = redirect?.port || '17899';
  const host = redirect?.hostname ?? 'localhost';
  return `ssh -L ${port}:${host}:${port} ${hostname()}`;
}

/**
 * No display, no $BROWSER and no device flow: every way to log in from here, at once, instead of
 * waiting minutes for a browser that cannot open.
 */
export function noBrowserHere(profile: string, reason: string, authorizationUrl: string): string {
  return [
    `cannot log in to profile ${profile} from here: ${reason}, and the profile has no device flow. Instead:`,
    `  - on a machine with a browser, run \`${tunnelCommand(authorizationUrl)}\`; in that session run \`kms-agent login --no-browser --profile ${profile}\` and open the URL it prints in that browser;`,
    '  - or set BROWSER to a program that can open the URL here (a text browser such as w3m, or a script);',
    `  - or, if the provider has a device endpoint, set device_authorization_url (or issuer) in the profile and run \`kms-agent login --device --profile ${profile}\`.`,
  ].join('\n');
}

/** After a while with no login: what the browser may show instead of a login page, and how to stop. */
export function browserTrouble(authorizationUrl: string): string {
  const { clientId, redirect } = requestOf(authorizationUrl);
  return [
    'Still waiting. If the browser shows an error page instead of a login page, this login cannot finish:',
    `  - "unknown client", "invalid_client" or "application not found": the provider has no client ${clientId ?? '(this client_id)'}; check client_id`,
    `  - "redirect_uri" mismatch or not registered: register ${redirect?.href ?? 'the redirect URL'} for this client at the provider (or set redirect_url)`,
    '  - "wrong tenant", "user not found in directory" or another realm\'s login page: the profile points at another tenant or realm (its issuer or authorize_url)',
    'Fix the profile, then run `kms-agent login` again. Ctrl-C stops the wait.',
  ].join('\n');
}
