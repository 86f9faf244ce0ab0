import type { Command } from 'commander';
import { Exit } from '../fast/exitCodes.js';
import type { CliContext } from '../cliContext.js';

export function registerProfiles(program: Command, cli: CliContext): void {
  program
    .command('profiles')
    .description('list the configured profiles and where each came from')
    .option('--json', 'print JSON')
    .action(
      cli.run(async (opts: { json?: boolean }) => {
        const profiles = await cli.withAgent((c) => c.call('profiles.list', {}));
        if (opts.json) process.stdout.write(JSON.stringify(profiles, null, 2) + '\n');
        else
          for (const p of profiles)
            process.stdout.write(`${p.name}${p.default ? ' (default)' : ''}\t${p.source}\n`);
        return Exit.OK;
      }),
    );
}
