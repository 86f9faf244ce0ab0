import type * as OIDC from 'openid-client';
import { endpointProblem } from '../config/endpointRules.js';
import { ProviderRefusedError } from './providerErrors.js';
import { providerText } from './providerText.js';

type DeviceResponse = OIDC.DeviceAuthorizationResponse;

/**
 * What the agent holds a device authorization response to (RFC 8628), whatever the provider says:
 * - it polls at most once a second, and every 5 s when the provider names no interval (§3.2);
 *   openid-client adds 5 s on each `slow_down` (§3.5);
 * - the page the user is sent to is https, or http to this machine: a `javascript:` or plain-http
 *   link elsewhere is never shown.
 */
export const MIN_POLL_SECONDS = 1;
export const DEFAULT_POLL_SECONDS = 5;

export function checkedDeviceResponse(response: DeviceResponse): DeviceResponse {
  for (const field of ['verification_uri', 'verification_uri_complete'] as const) {
    const url = response[field];
    const problem = url === undefined ? undefined : endpointProblem(url);
    if (problem) {
      const page = `the provider's ${field} "${providerText(url, 200)}"`;
      throw new ProviderRefusedError(`${page} is no page to send a user to: expected ${problem}`);
    }
  }
  const given = response.interval;
  const known = typeof given === 'number' && Number.isFinite(given);
  const interval = known ? Math.max(MIN_POLL_SECONDS, given) : DEFAULT_POLL_SECONDS;
  return { ...response, interval };
}

/** `login --device` for a profile whose provider has no device endpoint: what the user can do. */
export class DeviceFlowUnsupportedError extends Error {
  constructor(profile: string, issuer: string | undefined) {
    super(
      issuer === undefined
        ? `profile ${profile} has no device authorization endpoint: ` +
            'set device_authorization_url (or issuer, for discovery) in its config'
        : `the provider of profile ${profile} offers no device flow (the discovery document of ` +
            `${issuer} names no device_authorization_endpoint): log in with the browser, ` +
            'here or through `kms-agent login --no-browser` and ssh -L',
    );
    this.name = 'DeviceFlowUnsupportedError';
  }
}
