import type { Command } from 'commander';
import type { CliContext } from '../../cliContext.js';

export function registerDemo(program: Command, cli: CliContext): void {
  program
    .command('demo')
    .description(
      'see it work in one minute: a bundled local identity provider, a private agent, a login, refresh and restart',
    )
    .option(
      '--auto',
      'play the login pages yourself (for machines without a browser); the default when no display is found',
    )
    .option('--no-browser', 'only print the login URL, for you to open (display or not)')
    .action(
      cli.run(async (opts: { auto?: boolean; browser: boolean }) => {
        const { runDemo } = await import('./demoTour.js');
        return runDemo({ auto: opts.auto, browser: opts.browser });
      }),
    );
}
