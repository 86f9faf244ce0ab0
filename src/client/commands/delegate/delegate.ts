import { Option, type Command } from 'commander';
import { AgentError } from '../../../rpc/jsonRpc.js';
import type { AgentClient } from '../../fast/agentClient.js';
import { Exit } from '../../fast/exitCodes.js';
import { chosenProfile } from '../../fast/commandLine.js';
import { SELECTION_FLAGS } from '../../fast/tokenRequest.js';
import { runChild } from '../exec/childProcess.js';
import { delegationLines } from '../status/statusFormat.js';
import type { CliContext } from '../../cliContext.js';
import { createParams, socketFlags, type DelegateOptions } from './delegateArgs.js';

const DELEGATE_HELP = `
Examples:
  kms-agent delegate --scope read --ttl 1h -- my-ai-agent   # read-only, one hour, this command
  kms-agent delegate --audience https://api.example --uses 1 -- ./deploy.sh
  eval "$(kms-agent delegate --socket ~/box/agent.sock --ttl 8h)"   # for a container or ssh -R
  kms-agent delegate --list
  kms-agent delegate --revoke ID

The command (or whoever reaches the socket) gets only token.get within these restrictions, and
FORBIDDEN (exit 7) for anything else. A process that can reach the agent's own socket is not held
back by a delegation: give the delegate only the delegated socket (docs/SECURITY.md).`;

export function registerDelegate(program: Command, cli: CliContext): void {
  program
    .command('delegate')
    .description(
      'make a socket that serves only the tokens you delegate (one profile, audience, scope, ' +
        'kind, uses, time), for one command or a sandbox',
    )
    .addOption(new Option(SELECTION_FLAGS.profile.flags, SELECTION_FLAGS.profile.description))
    .option('--audience <resource>', 'only tokens for this audience / resource (RFC 8707)')
    .option('--scope <scopes>', 'only these scopes, or fewer (space-separated)')
    .option('--kind <kind>', 'only this token: access or id')
    .option('--ttl <duration>', 'end after this long (90s, 30m, 8h, 7d); required with --socket')
    .option('--uses <n>', 'at most this many tokens')
    .option('--confirm', 'confirm each process that asks, through pinentry')
    .option('--exchange', 'give tokens minted by RFC 8693 token exchange, never your own')
    .option('--socket <path>', 'make the socket here and return, instead of running a command')
    .option('--list', 'list the delegations')
    .option('--revoke <id>', 'end a delegation now')
    .option('--json', 'with --list: print JSON')
    .usage('[options] (-- <command...> | --socket <path>)')
    .argument('[command...]', 'the command that gets the delegation, after --')
    .addHelpText('after', DELEGATE_HELP)
    .action(
      cli.run(async (command: string[], opts: DelegateOptions) => {
        const sockets = socketFlags(cli.argv);
        const use = <T>(fn: (c: AgentClient) => Promise<T>): Promise<T> =>
          cli.withAgent(fn, { socket: sockets.agent });
        if (opts.list) return list(use, opts.json === true);
        if (opts.revoke !== undefined) return revoke(use, opts.revoke);
        const profile = chosenProfile(opts.profile);
        const params = createParams({ ...opts, profile }, sockets.delegation, command);
        if (sockets.delegation !== undefined) {
          const info = await use((c) => c.call('delegation.create', params));
          process.stdout.write(`KMS_AGENT_SOCK=${info.socket}; export KMS_AGENT_SOCK;\n`);
          process.stderr.write(`${delegationLines(info).join('\n')}\n`);
          process.stderr.write(`end it sooner with \`kms-agent delegate --revoke ${info.id}\`\n`);
          return Exit.OK;
        }
        // The delegation ends with this connection, should this command be killed; when the
        // command exits, it is ended before this one returns.
        return use(async (c) => {
          const info = await c.call('delegation.create', params);
          const code = await runChild(command, () => ({
            ...process.env,
            KMS_AGENT_SOCK: info.socket,
            KMS_AGENT_NO_AUTOSTART: '1',
          }));
          await c.call('delegation.revoke', { id: info.id }).catch(() => undefined);
          return code;
        });
      }),
    );
}

type Use = <T>(fn: (c: AgentClient) => Promise<T>) => Promise<T>;

async function list(use: Use, json: boolean): Promise<number> {
  const all = await use((c) => c.call('delegation.list', {}));
  if (json) process.stdout.write(JSON.stringify(all, null, 2) + '\n');
  else if (all.length === 0) process.stderr.write('no delegations\n');
  else process.stdout.write(all.flatMap((d) => delegationLines(d)).join('\n') + '\n');
  return Exit.OK;
}

async function revoke(use: Use, id: string): Promise<number> {
  const { revoked } = await use((c) => c.call('delegation.revoke', { id }));
  if (!revoked)
    throw new AgentError('USAGE', `no delegation ${id}: see \`kms-agent delegate --list\``);
  process.stderr.write(`delegation ${id} ended; its socket is gone\n`);
  return Exit.OK;
}
