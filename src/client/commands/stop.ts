import { existsSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import type { Command } from 'commander';
import { processAlive } from '../../rpc/processAlive.js';
import { Exit } from '../exitCodes.cjs';
import type { CliContext } from './context.js';

export function registerStop(program: Command, cli: CliContext): void {
  program
    .command('stop')
    .description('ask the agent to shut down cleanly (its socket file is removed)')
    .action(
      cli.run(async () => {
        const socketPath = cli.socketPath();
        const pid = await cli.withAgent(async (c) => {
          const { pid } = await c.call('agent.status', {});
          await c.call('agent.shutdown', {});
          return pid;
        }, false);
        // Return only once the socket is gone, so a command right after `stop` never meets the old agent.
        // Under socket activation the socket is systemd's and stays: there, wait for the process to exit.
        for (let waited = 0; existsSync(socketPath) && processAlive(pid) && waited < 5000; waited += 50) await delay(50);
        process.stderr.write('agent stopped\n');
        return Exit.OK;
      }),
    );
}
