import type { Command } from 'commander';
import { AgentError } from '../../../rpc/jsonRpc.js';
import { Exit } from '../../fast/exitCodes.js';
import { usage } from '../../fast/commandLine.js';
import type { CliContext } from '../../cliContext.js';
import { askPassphrase, passphraseFromStdin } from './passphraseInput.js';

const STDIN_FLAG = '--passphrase-stdin';
const STDIN_HELP = 'read the passphrase from the first line of stdin (once) instead of asking';
const say = (line: string): void => void process.stderr.write(`${line}\n`);

/** `lock` and `unlock` (docs/cli.md): the agent hands out nothing until it is unlocked. */
export function registerLock(program: Command, cli: CliContext): void {
  program
    .command('lock')
    .description(
      'lock the agent: until `kms-agent unlock` with the same passphrase it hands out no ' +
        'token, drops the tokens it holds and refreshes nothing',
    )
    .option(STDIN_FLAG, STDIN_HELP)
    .action(
      cli.run(async (opts: { passphraseStdin?: boolean }) => {
        await cli.withAgent(
          async (c) => {
            const status = await c.call('agent.status', {});
            if (status.locked) throw new AgentError('LOCKED', 'the agent is already locked');
            const passphrase = await newPassphrase(opts.passphraseStdin, cli.configPath());
            await c.call('agent.lock', { passphrase }, 120_000);
          },
          { autostart: false },
        );
        say('the agent is locked: run `kms-agent unlock` to use it again');
        return Exit.OK;
      }),
    );
  program
    .command('unlock')
    .description('unlock the agent with the passphrase given to `kms-agent lock`')
    .option(STDIN_FLAG, STDIN_HELP)
    .action(
      cli.run(async (opts: { passphraseStdin?: boolean }) => {
        const unlocked = await cli.withAgent(
          async (c) => {
            const status = await c.call('agent.status', {});
            if (!status.locked && status.delegation === undefined) return false;
            const passphrase = opts.passphraseStdin
              ? await passphraseFromStdin()
              : await asked(
                  { description: 'Unlock kms-agent.', prompt: 'Passphrase:' },
                  cli.configPath(),
                );
            // Wrong passphrases wait longer each time (up to 30 s): the call may take a while.
            await c.call('agent.unlock', { passphrase }, 120_000);
            return true;
          },
          { autostart: false, whenRefused: 'continue' },
        );
        say(unlocked ? 'the agent is unlocked' : 'the agent was not locked');
        return Exit.OK;
      }),
    );
}

async function asked(
  asking: { description: string; prompt: string },
  configPath: string | undefined,
): Promise<string> {
  const passphrase = await askPassphrase(asking, configPath);
  if (passphrase === undefined) throw usage('cancelled: no passphrase was given');
  return passphrase;
}

/** Twice, and the same both times, unless it comes from stdin. */
async function newPassphrase(
  fromStdin: boolean | undefined,
  configPath: string | undefined,
): Promise<string> {
  const passphrase = fromStdin
    ? await passphraseFromStdin()
    : await asked(
        {
          description:
            'Lock kms-agent: choose a passphrase. ' +
            'Until `kms-agent unlock` with it, the agent hands out no token.',
          prompt: 'Passphrase:',
        },
        configPath,
      );
  if (passphrase === '') throw usage('an empty passphrase cannot lock the agent: choose one');
  if (fromStdin) return passphrase;
  const repeat = { description: 'Lock kms-agent: the same passphrase again.', prompt: 'Repeat:' };
  const again = await asked(repeat, configPath);
  if (again !== passphrase) throw usage('the two passphrases differ: the agent is not locked');
  return passphrase;
}
