import { providerText } from './providerText.js';
import { ProviderRefusedError } from './providerErrors.js';

/**
 * RFC 9207: the authorization response may name the issuer that sent it, so that a client talking
 * to several providers cannot be tricked into sending one provider's code to another. The `iss`
 * is held to the issuer the agent knows (configured, discovered, or learned from an earlier
 * login's id_token); with none known, as at a first explicit-endpoint login, it is not held to a
 * guessed value. Returns the callback URL without `iss`, for openid-client, which has no known
 * issuer in explicit mode.
 */
export function authorizationResponseIssuer(
  callback: URL,
  knownIssuer: string | undefined,
  providerPromisesIss: boolean,
): URL {
  const values = callback.searchParams.getAll('iss');
  if (values.length > 1)
    throw new ProviderRefusedError(
      'the authorization response names its issuer (iss) more than once',
    );
  const iss = values[0];
  if (iss === undefined) {
    if (providerPromisesIss && knownIssuer !== undefined) {
      throw new ProviderRefusedError(
        `the authorization response has no issuer (iss), although ${knownIssuer} says it always sends one (RFC 9207)`,
      );
    }
    return callback;
  }
  if (knownIssuer !== undefined && iss !== knownIssuer) {
    throw new ProviderRefusedError(
      `the authorization response comes from issuer "${providerText(iss, 200)}", not from this profile's provider ${knownIssuer} (RFC 9207): the login was refused`,
    );
  }
  const stripped = new URL(callback);
  stripped.searchParams.delete('iss');
  return stripped;
}
