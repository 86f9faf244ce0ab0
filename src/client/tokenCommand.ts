/**
 * `kms-agent token` and `exec` through the full client: autostart, and every error turned into
 * SPEC §4's message and exit code. The bin's fast path (tokenFastPath.cts) hands over to this
 * whenever no agent answers.
 */
import { resolveSocketPath } from '../rpc/socketPath.cjs';
import type { TokenReply } from '../rpc/methods.js';
import { connectAgent, autostartAllowed } from './connectAgent.js';
import { reportError } from './errorReport.js';
import { Exit } from './exitCodes.cjs';
import { formatToken, minValidNotice, scopeNotice, tokenParams, TOKEN_TIMEOUT_MS, type TokenOptions } from './tokenArgs.cjs';

/** Asks the agent for one token; used by `token` and `exec`. */
export async function fetchToken(options: TokenOptions): Promise<TokenReply> {
  const client = await connectAgent({
    socketPath: resolveSocketPath(options.socket),
    configPath: options.config ?? process.env.KMS_AGENT_CONFIG,
    autostart: autostartAllowed(options.autostart),
  });
  try {
    return await client.call('token.get', tokenParams(options), TOKEN_TIMEOUT_MS);
  } finally {
    client.close();
  }
}

export async function runToken(options: TokenOptions): Promise<number> {
  try {
    const reply = await fetchToken(options);
    process.stdout.write(formatToken(reply, options.output));
    const scopeSaid = scopeNotice(options, reply);
    if (scopeSaid) process.stderr.write(`kms-agent: ${scopeSaid}\n`);
    const minValidSaid = minValidNotice(options, reply, Date.now() / 1000);
    if (minValidSaid) process.stderr.write(`kms-agent: ${minValidSaid}\n`);
    return Exit.OK;
  } catch (err) {
    return reportError(err);
  }
}
