import { join } from 'node:path';

/**
 * Where the agent listens (SPEC §2): --socket, then KMS_AGENT_SOCK, then
 * $XDG_RUNTIME_DIR/kms-agent/agent.sock, then $TMPDIR/kms-agent-$UID/agent.sock.
 * CommonJS, and no node:os (0.3 ms of `kms-agent token`'s start): see client/tokenFastPath.cts.
 */
export function resolveSocketPath(flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (flag) return flag;
  if (env.KMS_AGENT_SOCK) return env.KMS_AGENT_SOCK;
  if (env.XDG_RUNTIME_DIR) return join(env.XDG_RUNTIME_DIR, 'kms-agent', 'agent.sock');
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  return join(env.TMPDIR || '/tmp', `kms-agent-${uid}`, 'agent.sock');
}
