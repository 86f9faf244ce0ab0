/**
 * A config file the user named (--config, KMS_AGENT_CONFIG) must exist, whether or not an agent
 * runs (docs/configuration.md): the loader says so, and so does every client before it asks an
 * agent anything. `kms-agent token` checks it on its fast path (one realpath call).
 */
import { realpathSync } from 'node:fs';
import { AgentError } from '../rpc/jsonRpc.js';

export function missingNamedConfig(file: string): string {
  const add = `kms-agent --config ${file} add NAME --issuer URL --client-id ID`;
  return (
    'the file does not exist (named by --config or KMS_AGENT_CONFIG): ' +
    `check the path, or write a profile there with \`${add}\``
  );
}

/**
 * The named file with its links resolved, as a running agent compares it with its own (undefined
 * when none is named). Throws CONFIG_ERROR when it does not exist.
 */
export function namedConfigFile(file: string | undefined): string | undefined {
  if (file === undefined) return undefined;
  try {
    return realpathSync.native(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    throw new AgentError('CONFIG_ERROR', `config ${file}: ${missingNamedConfig(file)}`);
  }
}
