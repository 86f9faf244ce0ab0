import { existsSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import type { Command } from 'commander';
import { processAlive } from '../../os/processAlive.js';
import { Exit } from '../fast/exitCodes.js';
import { detectShell, SHELL_FLAGS, shellUnsets } from './start/shellExports.js';
import type { CliContext } from '../cliContext.js';

export function registerStop(program: Command, cli: CliContext): void {
  program
    .command('stop')
    .description(
      'ask the agent to shut down cleanly (its socket file is removed); prints shell commands that unset KMS_AGENT_SOCK, for eval "$(kms-agent stop)"',
    )
    .option(SHELL_FLAGS.csh.flags, SHELL_FLAGS.csh.description)
    .option(SHELL_FLAGS.sh.flags, SHELL_FLAGS.sh.description)
    .action(
      cli.run(async (opts: { csh?: boolean; sh?: boolean }) => {
        // The socket of the agent that answers: the user's agent may be elsewhere (the lock says).
        const { pid, socketPath } = await cli.withAgent(
          async (c) => {
            const { pid } = await c.call('agent.status', {});
            await c.call('agent.shutdown', {});
            return { pid, socketPath: c.socketPath };
          },
          { autostart: false, otherConfig: 'warn', sayConfigError: false, whenRefused: 'continue' },
        );
        // Return only once the socket is gone, so a command right after `stop` never meets the old agent.
        // Under socket activation the socket is systemd's and stays: there, wait for the process to exit.
        for (
          let waited = 0;
          existsSync(socketPath) && processAlive(pid) && waited < 5000;
          waited += 50
        )
          await delay(50);
        process.stdout.write(shellUnsets(detectShell(opts), pid));
        return Exit.OK;
      }),
    );
}
