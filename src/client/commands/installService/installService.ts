import type { Command } from 'commander';
import type { CliContext } from '../../cliContext.js';

export function registerInstallService(program: Command, cli: CliContext): void {
  program
    .command('install-service')
    .description(
      'install and enable the per-user service: systemd socket activation on Linux, a LaunchAgent on macOS',
    )
    .option('--dry-run', 'print the files and commands, change nothing')
    .action(
      cli.run(async (opts: { dryRun?: boolean }) => {
        const { installService } = await import('./servicePlans.js');
        return installService({ dryRun: opts.dryRun ?? false });
      }),
    );
}
