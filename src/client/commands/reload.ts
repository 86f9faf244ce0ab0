import type { Command } from 'commander';
import { Exit } from '../fast/exitCodes.js';
import type { CliContext } from '../cliContext.js';

export function registerReload(program: Command, cli: CliContext): void {
  program
    .command('reload')
    .description(
      'read the config again now (the agent also does on SIGHUP and when the file changes); a broken file keeps the old config',
    )
    .action(
      cli.run(async () => {
        // No autostart: a new agent would read the config anyway, and exit 2 tells a script none ran.
        // No config-error notice first: reload's own answer says it.
        const options = { autostart: false, sayConfigError: false };
        const reloaded = await cli.withAgent((c) => c.call('agent.reload', {}), options);
        const { profiles, warnings = [] } = reloaded;
        process.stdout.write(
          `config reloaded: ${profiles.length === 0 ? 'no profiles' : `profiles ${profiles.join(', ')}`}\n`,
        );
        for (const warning of warnings) process.stderr.write(`kms-agent: warning: ${warning}\n`);
        return Exit.OK;
      }),
    );
}
