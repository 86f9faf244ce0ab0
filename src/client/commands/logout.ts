import { Option, type Command } from 'commander';
import { chosenProfile, SELECTION_FLAGS } from '../commandLine.cjs';
import { Exit } from '../exitCodes.cjs';
import type { CliContext } from './context.js';

export function registerLogout(program: Command, cli: CliContext): void {
  program
    .command('logout')
    .description('revoke the refresh token where the provider allows it and forget the login')
    .addOption(new Option(SELECTION_FLAGS.profile.flags, SELECTION_FLAGS.profile.description))
    .option('--all', 'every profile')
    .action(
      cli.run(async (opts: { profile?: string; all?: boolean }) => {
        const profile = chosenProfile(opts.profile);
        const result = await cli.withAgent((c) => c.call('logout', opts.all ? { all: true } : profile ? { profile } : {}));
        process.stderr.write(`logged out of ${result.profiles.join(', ') || 'no profile'}${result.revoked ? ' (refresh token revoked at the provider)' : ''}\n`);
        return Exit.OK;
      }),
    );
}
