import type { Command } from 'commander';
import { Exit } from '../exitCodes.cjs';
import { formatStatus } from '../statusFormat.js';
import type { CliContext } from './context.js';

export function registerStatus(program: Command, cli: CliContext): void {
  program
    .command('status')
    .description('show the agent and, per profile, who is logged in and until when')
    .option('--json', 'print JSON')
    .action(
      cli.run(async (opts: { json?: boolean }) => {
        const options = { autostart: false, otherConfig: 'warn' } as const;
        const status = await cli.withAgent((c) => c.call('agent.status', {}), options);
        process.stdout.write(opts.json ? JSON.stringify(status, null, 2) + '\n' : formatStatus(status));
        return Exit.OK;
      }),
    );
}
