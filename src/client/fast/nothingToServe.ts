/**
 * Before an agent is started for a command (autostart): an agent whose config has no profile at
 * all would idle with nothing to serve, so none is started and the command is told what the agent
 * would have said. Only when no agent answered; smol-toml's CommonJS build, so that the fast
 * path still starts an agent without the ES module loader. It only counts profiles: any
 * doubt (a Cosmian CLI file, a file it cannot read or parse) is left to the agent to report.
 */
import { readFileSync } from 'node:fs';
import { nodeRequire } from '../../os/packageFiles.js';
import { AgentError } from '../../rpc/jsonRpc.js';
import { findCosmianConfig, noProfileConfigured } from '../../config/configPaths.js';
import { resolveConfigPath as configFile } from '../../config/configPaths.js';

/** UNKNOWN_PROFILE when the config surely holds no profile; undefined otherwise. */
export function nothingToServe(configPath: string | undefined): AgentError | undefined {
  if (findCosmianConfig() !== null) return undefined;
  const file = configFile(configPath);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    // The default file may be missing (no profiles yet); a named one missing is the agent's error.
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    if (!missing || configPath !== undefined) return undefined;
    text = '';
  }
  let profiles: unknown;
  try {
    profiles = (nodeRequire()('smol-toml') as typeof import('smol-toml')).parse(text).profiles;
  } catch {
    return undefined;
  }
  const table = typeof profiles === 'object' && profiles !== null ? profiles : undefined;
  const empty = table !== undefined && Object.keys(table).length === 0;
  if (profiles !== undefined && !empty) return undefined;
  const why = 'no agent was started: it would have nothing to serve';
  return new AgentError('UNKNOWN_PROFILE', `${noProfileConfigured(file)} (${why})`);
}
