import { AgentError } from '../../rpc/jsonRpc.js';

/**
 * The agent's policy saying no (docs/SECURITY.md), in words a person can act on: each says what
 * happened and what to do. Clients exit 7 on all three reasons.
 */

export function locked(): AgentError {
  return new AgentError(
    'LOCKED',
    'the agent is locked: run `kms-agent unlock` ' +
      '(its passphrase is the one given to `kms-agent lock`)',
  );
}

/** Outside a delegation: `what` names what was asked for, `allowed` what the delegation gives. */
export function forbidden(what: string, allowed?: string): AgentError {
  const gives = allowed === undefined ? '' : `; it gives ${allowed}`;
  return new AgentError(
    'FORBIDDEN',
    `${what} is not allowed through this delegated socket${gives}: ` +
      'ask the user who made it for another (`kms-agent delegate`)',
  );
}

export function notConfirmed(why: string): AgentError {
  return new AgentError('NOT_CONFIRMED', why);
}
