import type { LoginFlow } from '../rpc/methods.js';

/**
 * The command that logs a profile in (again): the one wording of it, for every error and hint that
 * sends the user to log in (the agent's errors, `add`, `exec --ckms`).
 */
export function loginCommand(profile: string, flow: LoginFlow = 'pkce'): string {
  return `kms-agent login ${flow === 'device' ? '--device ' : ''}--profile ${profile}`;
}
