import { AgentCallError, NoAgentError } from './agentClient.js';
import { Exit, exitCodeFor } from './exitCodes.cjs';
import type { Reason } from '../rpc/reasons.js';

/**
 * Prints one line on stderr saying what happened and what to do, and returns the exit code (SPEC §4).
 * `codeFor` maps an agent's reason to the command's exit code (`login` has its own table).
 */
export function reportError(err: unknown, codeFor: (reason: Reason | undefined) => number = exitCodeFor): number {
  const say = (line: string): void => void process.stderr.write(`kms-agent: ${line}\n`);
  if (err instanceof NoAgentError) {
    say(`${err.message}: start one with \`eval "$(kms-agent start)"\``);
    return Exit.NO_AGENT;
  }
  if ((err as Error)?.name === 'DaemonStartError') {
    say(`could not start the agent: ${(err as Error).message}`);
    return Exit.NO_AGENT;
  }
  if (err instanceof AgentCallError) {
    say(err.message);
    return codeFor(err.reason);
  }
  say((err as Error)?.message ?? String(err));
  return Exit.ERROR;
}
