import type { Command } from 'commander';
import { Exit } from '../exitCodes.cjs';
import { detectShell, shellExports } from '../shellExports.js';
import type { CliContext } from './context.js';

export function registerStart(program: Command, cli: CliContext): void {
  program
    .command('start')
    .description('start the agent; prints shell commands that export KMS_AGENT_SOCK, for eval "$(kms-agent start)"')
    .option('-f, --foreground', 'stay in the foreground and log to stderr (for service managers)')
    .option('-c, --csh', 'print csh syntax')
    .option('-s, --sh', 'print sh syntax (the default unless $SHELL is a csh)')
    .action(
      cli.run(async (opts: { foreground?: boolean; csh?: boolean; sh?: boolean }) => {
        const socketPath = cli.socketPath();
        if (opts.foreground) {
          // This process becomes the agent: the one place the client loads the daemon.
          const { runDaemon } = await import('../../daemon/run.js');
          await runDaemon({ socketPath, configPath: cli.configPath() });
          return Exit.OK;
        }
        const { launchDaemon } = await import('../daemonLauncher.cjs');
        const configPath = cli.configPath();
        const outcome = await launchDaemon({ socketPath, configPath });
        let pid: number;
        if (outcome.state === 'started') {
          pid = outcome.pid;
        } else {
          const running = await cli.withAgent((c) => c.call('agent.status', {}), false);
          pid = running.pid;
          // The running agent keeps its own config: a --config it never reads must not pass unnoticed.
          if (configPath !== undefined && running.config !== configPath) {
            process.stderr.write(
              `kms-agent: warning: the agent already running reads ${running.config}, not ${configPath}: to use that file, run \`kms-agent stop\` first\n`,
            );
          }
        }
        process.stdout.write(shellExports(detectShell(opts), socketPath, pid));
        return Exit.OK;
      }, 'start'),
    );
}
