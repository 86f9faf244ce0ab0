import { Option, type Command } from 'commander';
import { chosenProfile } from '../fast/commandLine.js';
import { SELECTION_FLAGS } from '../fast/tokenRequest.js';
import { Exit } from '../fast/exitCodes.js';
import type { LogoutOutcome } from '../../rpc/methods.js';
import type { CliContext } from '../cliContext.js';

export function registerLogout(program: Command, cli: CliContext): void {
  program
    .command('logout')
    .description('revoke the refresh token where the provider allows it and forget the login')
    .addOption(new Option(SELECTION_FLAGS.profile.flags, SELECTION_FLAGS.profile.description))
    .option('--all', 'every profile')
    .action(
      cli.run(async (opts: { profile?: string; all?: boolean }) => {
        const profile = chosenProfile(opts.profile);
        const result = await cli.withAgent((c) =>
          c.call('logout', opts.all ? { all: true } : profile ? { profile } : {}),
        );
        if (result.outcomes.length === 0) process.stderr.write('no profile to log out of\n');
        for (const outcome of result.outcomes) process.stderr.write(`${describeLogout(outcome)}\n`);
        return Exit.OK;
      }),
    );
}

/** What logout did, locally and at the provider: a refresh token still valid there is said, never silent. */
export function describeLogout({ profile, revocation, detail }: LogoutOutcome): string {
  const stays = 'it stays valid there until it expires';
  switch (revocation) {
    case 'revoked':
      return `logged out of ${profile}: the refresh token was revoked at the provider`;
    case 'unsupported':
      return `logged out of ${profile} locally; the provider has no revocation endpoint, so its refresh token is not revoked: ${stays}`;
    case 'refused':
      return `logged out of ${profile} locally, but the provider refused to revoke the refresh token (${detail ?? 'no reason given'}): ${stays}`;
    case 'unreachable':
      return `logged out of ${profile} locally, but the provider could not be asked to revoke the refresh token (${detail ?? 'unreachable'}): ${stays}`;
    case 'no_refresh_token':
      return `logged out of ${profile} (there was no refresh token to revoke)`;
    case 'not_logged_in':
      return `profile ${profile} was not logged in: nothing to log out of`;
  }
}
