import type { Command } from 'commander';
import { loadConfig } from '../../config/config.js';
import { resolveConfigPath } from '../../config/configPaths.js';
import { COSMIAN_PROFILE } from '../../config/configSchema.js';
import { readTrustedFile } from '../../config/configText.js';
import { readOwnConfig } from '../../config/ownConfig.js';
import { AgentError } from '../../rpc/jsonRpc.js';
import { usage } from '../fast/commandLine.js';
import { stagedConfig, withoutProfile } from '../configEdit.js';
import { Exit } from '../fast/exitCodes.js';
import type { CliContext } from '../cliContext.js';
import { describeLogout } from './logout.js';

const say = (line: string): void => void process.stderr.write(line + '\n');

export function registerRemove(program: Command, cli: CliContext): void {
  program
    .command('remove')
    .description('log a profile out and take its [profiles.NAME] section out of the config')
    .argument('<name>', 'the profile')
    .action(cli.run((name: string) => removeProfile(cli, name)));
}

async function removeProfile(cli: CliContext, name: string): Promise<number> {
  const file = resolveConfigPath(cli.configPath());
  const current = readTrustedFile(file);
  const own = current === undefined ? undefined : readOwnConfig(file, { explicit: true });
  if (!own?.profiles.has(name)) throw notHere(file, name, [...(own?.profiles.keys() ?? [])]);
  // Checked before anything is logged out: the new file must load as the agent will read it.
  const text = withoutProfile(current!.text, name, file);
  const staged = stagedConfig(file, text, current!.stat.mode, (written) => {
    try {
      loadConfig({ configPath: written, explicit: true });
    } catch (err) {
      const why = (err as Error).message.replaceAll(written, file);
      throw usage(`not removed: without profile ${name}, ${why}`);
    }
  });
  try {
    await logOut(cli, file, name);
  } catch (err) {
    staged.discard();
    throw err;
  }
  staged.commit();
  process.stdout.write(`Removed profile ${name} from ${file}.\n`);
  await reloadAgent(cli, file);
  return Exit.OK;
}

/** Where profile `name` comes from when the agent loads `file`, if it loads. */
function sourceOf(file: string, name: string): string | undefined {
  try {
    return loadConfig({ configPath: file, explicit: false }).profiles.get(name)?.source;
  } catch {
    return undefined;
  }
}

/** The profile is not in the agent's own file: it comes from the Cosmian CLI's, or from nowhere. */
function notHere(file: string, name: string, known: string[]): AgentError {
  const cosmian = name === COSMIAN_PROFILE ? sourceOf(file, name) : undefined;
  if (cosmian) {
    return usage(
      `profile ${name} comes from the Cosmian CLI's file ${cosmian}, which kms-agent never ` +
        'writes: remove its oauth2_conf there, or point CKMS_CONF elsewhere',
    );
  }
  const there = known.join(', ') || 'none';
  return usage(`no profile ${name} in ${file} (profiles there: ${there}): nothing removed`);
}

/** Logs the profile out through the agent reading this file (started if none runs, as logout). */
async function logOut(cli: CliContext, file: string, name: string): Promise<void> {
  try {
    await cli.withAgent(async (c) => {
      const status = await c.call('agent.status', {});
      if (status.config !== file) {
        say(
          `the running agent (pid ${status.pid}) reads ${status.config}, not ${file}: ` +
            `profile ${name} was not logged out there`,
        );
        return;
      }
      const { outcomes } = await c.call('logout', { profile: name });
      for (const outcome of outcomes) say(describeLogout(outcome));
    });
  } catch (err) {
    const reason = err instanceof AgentError ? err.reason : undefined;
    if (reason !== 'NO_AGENT' && reason !== 'AGENT_START_FAILED') throw err;
    say(
      `kms-agent: warning: profile ${name} was not logged out (${(err as Error).message}): ` +
        'a login stored for it stays in its store',
    );
  }
}

/** The agent that reads the file drops the profile now (its watcher would, a moment later). */
async function reloadAgent(cli: CliContext, file: string): Promise<void> {
  try {
    await cli.withAgent(
      async (c) => {
        if ((await c.call('agent.status', {})).config === file) await c.call('agent.reload', {});
      },
      { autostart: false },
    );
  } catch (err) {
    if (!(err instanceof AgentError && err.reason === 'NO_AGENT')) throw err;
  }
}
