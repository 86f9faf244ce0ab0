import { AgentError } from '../../rpc/reasons.js';
import { classifyProviderError } from '../providerErrors.js';

/** What a failed login step means for the user, as an AgentError with the command to run. */
export function loginFailed(profile: string, err: unknown): AgentError {
  if (err instanceof AgentError) return err;
  const failure = classifyProviderError(err);
  switch (failure.kind) {
    case 'transient':
      return new AgentError(
        'PROVIDER_UNREACHABLE',
        `login to profile ${profile} failed: the identity provider is unreachable (${failure.detail}); check the network and run \`kms-agent login --profile ${profile}\` again`,
      );
    case 'denied':
      return new AgentError('LOGIN_DENIED', `login to profile ${profile} was refused by the identity provider (${failure.detail})`);
    default:
      return new AgentError(
        'PROVIDER_ERROR',
        `login to profile ${profile} failed: the identity provider answered ${failure.detail}; check the profile's client_id, redirect_url and scopes`,
      );
  }
}
