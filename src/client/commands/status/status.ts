import type { Command } from 'commander';
import { ConfigError, loadConfig } from '../../../config/config.js';
import { AgentError } from '../../../rpc/jsonRpc.js';
import { Exit } from '../../fast/exitCodes.js';
import { formatStatus } from './statusFormat.js';
import type { CliContext } from '../../cliContext.js';

export function registerStatus(program: Command, cli: CliContext): void {
  program
    .command('status')
    .description('show the agent and, per profile, who is logged in and until when')
    .option('--json', 'print JSON')
    .action(
      cli.run(async (opts: { json?: boolean }) => {
        const options = { autostart: false, otherConfig: 'warn', whenRefused: 'continue' } as const;
        const asked = cli.withAgent((c) => c.call('agent.status', {}), options);
        const status = await asked.catch((err: unknown) => {
          throw noAgentBecause(err, cli.configPath());
        });
        process.stdout.write(
          opts.json ? JSON.stringify(status, null, 2) + '\n' : formatStatus(status),
        );
        return Exit.OK;
      }),
    );
}

/**
 * No agent runs: when the config an agent would read is broken, that is what to fix first (the
 * usual advice, `eval "$(kms-agent start)"`, would fail on it). Still exit 2: no agent.
 */
function noAgentBecause(err: unknown, configPath: string | undefined): unknown {
  if (!(err instanceof AgentError && err.reason === 'NO_AGENT')) return err;
  try {
    loadConfig({ configPath });
    return err;
  } catch (problem) {
    if (!(problem instanceof ConfigError)) return err;
    const noAgent = err.message.replace(/: start one with .*$/, '');
    const fix = 'fix the file, then run `eval "$(kms-agent start)"`';
    return new AgentError('NO_AGENT', `${noAgent}, and none can start: ${problem.message}: ${fix}`);
  }
}
