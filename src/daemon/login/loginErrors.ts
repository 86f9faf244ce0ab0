import type { LoginFlow } from '../../rpc/methods.js';
import { loginCommand } from '../../text/loginCommand.js';
import { AgentError } from '../../rpc/jsonRpc.js';
import { classifyProviderError } from '../../provider/providerErrors.js';

/** The device code ran out before the user approved it (from the provider, or the agent's own clock). */
export function deviceCodeExpired(profile: string): AgentError {
  return new AgentError(
    'LOGIN_TIMEOUT',
    `the device code for profile ${profile} expired before the login was approved: run \`${loginCommand(profile, 'device')}\` again and enter the new code in time`,
  );
}

/**
 * What a failed login step means for the user, as an AgentError with the command to run.
 * `secrets` (code, verifier, device code) are kept out of the message if the provider echoes them.
 */
export function loginFailed(
  profile: string,
  err: unknown,
  flow: LoginFlow = 'pkce',
  secrets: ReadonlyArray<string | undefined> = [],
): AgentError {
  if (err instanceof AgentError) return err;
  const failure = classifyProviderError(err, secrets);
  const again = `\`${loginCommand(profile, flow)}\``;
  switch (failure.kind) {
    case 'transient':
      return new AgentError(
        'PROVIDER_UNREACHABLE',
        `login to profile ${profile} failed: the identity provider is unreachable (${failure.detail}); check the network and run ${again} again`,
      );
    case 'denied':
      return new AgentError(
        'LOGIN_DENIED',
        `login to profile ${profile} was refused at the identity provider (${failure.detail}): run ${again} again and approve it`,
      );
    case 'expired':
      return deviceCodeExpired(profile);
    case 'invalid':
      return new AgentError(
        'LOGIN_DENIED',
        `login to profile ${profile} was refused by the agent: ${failure.detail}`,
      );
    default:
      return new AgentError(
        'PROVIDER_ERROR',
        `login to profile ${profile} failed: the identity provider answered ${failure.detail}; check the profile's client_id, ${flow === 'device' ? 'device_authorization_url' : 'redirect_url'} and scopes`,
      );
  }
}
