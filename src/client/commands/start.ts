import { Option, type Command } from 'commander';
import { START_FLAGS } from '../commandLine.cjs';
import { Exit } from '../exitCodes.cjs';
import { runStart } from '../startCommand.cjs';
import type { CliContext } from './context.js';

/**
 * `start`: fastCommands.cts runs it without commander (startCommand.cts), except `--foreground`,
 * which makes this process the agent: the one place the client loads the daemon.
 */
export function registerStart(program: Command, cli: CliContext): void {
  const command = program
    .command('start')
    .description('start the agent; prints shell commands that export KMS_AGENT_SOCK, for eval "$(kms-agent start)"');
  for (const { flags, description } of Object.values(START_FLAGS)) command.addOption(new Option(flags, description));
  command.action(
    cli.run(async (opts: { foreground?: boolean }) => {
      if (!opts.foreground) {
        return new Promise<number>((resolve) => {
          runStart(cli.argv.slice(2), resolve);
        });
      }
      const { runDaemon } = await import('../../daemon/run.js');
      await runDaemon({ socketPath: cli.socketPath(), configPath: cli.configPath() });
      return Exit.OK;
    }, 'start'),
  );
}
