import { existsSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { resolveSocketPath } from '../rpc/socketPath.cjs';
import { AgentClient } from './agentClient.js';
import { autostartAllowed, connectAgent } from './connectAgent.js';
import { reportError } from './errorReport.js';
import { execWithToken } from './execCommand.js';
import { Exit, loginExitCodeFor } from './exitCodes.cjs';
import { runLogin } from './loginCommand.js';
import { detectShell, shellExports } from './shellExports.js';
import { formatStatus } from './statusFormat.js';
import { fetchToken, runToken } from './tokenCommand.js';
import type { TokenOptions } from './tokenArgs.cjs';
import { VERSION } from '../daemon/version.js';

interface GlobalOptions {
  socket?: string;
  config?: string;
  autostart: boolean;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected a number of seconds');
  return n;
}

const HELP_FOOTER = `
Typical use:
  eval "$(kms-agent start)"          start the agent, export KMS_AGENT_SOCK
  kms-agent login                    log in once (opens the browser)
  curl -H "Authorization: Bearer $(kms-agent token)" https://kms.example.com/kmip/2_1
  kms-agent token --header | curl -H @- https://kms.example.com/kmip/2_1

Exit codes: 0 ok, 1 error, 2 no agent, 3 login denied or failed, 4 login timed out,
5 login required, 6 provider unreachable and no valid token cached.
Environment: KMS_AGENT_SOCK, KMS_AGENT_CONFIG, KMS_AGENT_PROFILE, KMS_AGENT_NO_AUTOSTART=1,
KMS_AGENT_LOG_LEVEL, BROWSER.`;

/** The full command line (SPEC §4). Returns the process exit code. */
export async function runCli(argv: string[]): Promise<number> {
  let exitCode: number = Exit.OK;
  const program = new Command('kms-agent')
    .description('Keeps you logged in to an OAuth 2.0 / OpenID Connect provider and hands fresh tokens to any local tool, like ssh-agent does for SSH keys.')
    .version(VERSION, '-V, --version')
    .option('--socket <path>', 'agent socket (default: $KMS_AGENT_SOCK, else $XDG_RUNTIME_DIR/kms-agent/agent.sock)')
    .option('--config <path>', 'config file for an agent started by this command (default: $KMS_AGENT_CONFIG, else ~/.config/kms-agent/config.toml)')
    .option('--no-autostart', 'fail instead of starting an agent when none answers (also KMS_AGENT_NO_AUTOSTART=1)')
    .addHelpText('after', HELP_FOOTER)
    .showSuggestionAfterError()
    .exitOverride();

  const globals = (): GlobalOptions => program.opts<GlobalOptions>();
  const socketPath = (): string => resolveSocketPath(globals().socket);
  const configPath = (): string | undefined => globals().config ?? process.env.KMS_AGENT_CONFIG;
  const agent = (autostart = true): Promise<AgentClient> =>
    connectAgent({ socketPath: socketPath(), configPath: configPath(), autostart: autostart && autostartAllowed(globals().autostart) });
  /** Runs a command body; errors become one line on stderr and the SPEC's exit code. */
  const run =
    <A extends unknown[]>(body: (...args: A) => Promise<number>) =>
    async (...args: A): Promise<void> => {
      try {
        exitCode = await body(...args);
      } catch (err) {
        exitCode = reportError(err);
      }
    };
  const withAgent = async <T>(use: (client: AgentClient) => Promise<T>, autostart = true): Promise<T> => {
    const client = await agent(autostart);
    try {
      return await use(client);
    } finally {
      client.close();
    }
  };

  program
    .command('start')
    .description('start the agent; prints shell commands that export KMS_AGENT_SOCK, for eval "$(kms-agent start)"')
    .option('-f, --foreground', 'stay in the foreground and log to stderr (for service managers)')
    .option('-c, --csh', 'print csh syntax')
    .option('-s, --sh', 'print sh syntax (the default unless $SHELL is a csh)')
    .action(
      run(async (opts: { foreground?: boolean; csh?: boolean; sh?: boolean }) => {
        const path = socketPath();
        if (opts.foreground) {
          const { runDaemon } = await import('../daemon/run.js');
          await runDaemon({ socketPath: path, configPath: configPath() });
          return Exit.OK;
        }
        const { launchDaemon } = await import('./daemonLauncher.js');
        let outcome;
        try {
          outcome = await launchDaemon({ socketPath: path, configPath: configPath() });
        } catch (err) {
          // SPEC §4: `start` exits 1 when the agent cannot start (exit 2 is for commands that need one).
          reportError(err);
          return Exit.ERROR;
        }
        const pid = outcome.state === 'started' ? outcome.pid : (await withAgent((c) => c.call('agent.status', {}), false)).pid;
        process.stdout.write(shellExports(detectShell(opts), path, pid));
        return Exit.OK;
      }),
    );

  program
    .command('stop')
    .description('ask the agent to shut down cleanly (its socket file is removed)')
    .action(
      run(async () => {
        const path = socketPath();
        const pid = await withAgent(async (c) => {
          const { pid } = await c.call('agent.status', {});
          await c.call('agent.shutdown', {});
          return pid;
        }, false);
        // Return only once the socket is gone, so a command right after `stop` never meets the old agent.
        // Under socket activation the socket is systemd's and stays: there, wait for the process to exit.
        for (let waited = 0; existsSync(path) && processAlive(pid) && waited < 5000; waited += 50) await delay(50);
        process.stderr.write('agent stopped\n');
        return Exit.OK;
      }),
    );

  program
    .command('status')
    .description('show the agent and, per profile, who is logged in and until when')
    .option('--json', 'print JSON')
    .action(
      run(async (opts: { json?: boolean }) => {
        const status = await withAgent((c) => c.call('agent.status', {}), false);
        process.stdout.write(opts.json ? JSON.stringify(status, null, 2) + '\n' : formatStatus(status));
        return Exit.OK;
      }),
    );

  program
    .command('login')
    .description('log in to a profile: the agent runs the flow, this command opens the browser and waits')
    .option('-p, --profile <name>', 'profile (default: $KMS_AGENT_PROFILE, else the default profile)')
    .option('--device', 'use the device flow: enter a code on any device (no browser here needed)')
    .option('--no-browser', 'only print the URL, do not open a browser')
    .option('--timeout <seconds>', 'give up after this many seconds (exit 4)', seconds)
    .action(
      run(async (opts: { profile?: string; device?: boolean; browser: boolean; timeout?: number }) => {
        try {
          return await withAgent((c) => runLogin(c, opts));
        } catch (err) {
          return reportError(err, loginExitCodeFor);
        }
      }),
    );

  program
    .command('logout')
    .description('revoke the refresh token where the provider allows it and forget the login')
    .option('-p, --profile <name>', 'profile (default: $KMS_AGENT_PROFILE, else the default profile)')
    .option('--all', 'every profile')
    .action(
      run(async (opts: { profile?: string; all?: boolean }) => {
        const profile = opts.profile ?? process.env.KMS_AGENT_PROFILE;
        const result = await withAgent((c) => c.call('logout', opts.all ? { all: true } : profile ? { profile } : {}));
        process.stderr.write(
          `logged out of ${result.profiles.join(', ') || 'no profile'}${result.revoked ? ' (refresh token revoked at the provider)' : ''}\n`,
        );
        return Exit.OK;
      }),
    );

  program
    .command('token')
    .description('print one fresh token and a newline on stdout, nothing else')
    .option('-p, --profile <name>', 'profile (default: $KMS_AGENT_PROFILE, else the default profile)')
    .option('--min-valid <seconds>', 'refresh first unless the token is valid this long (default: 60 s or half its lifetime)', seconds)
    .addOption(new Option('--id', 'print the id_token').conflicts('access'))
    .addOption(new Option('--access', 'print the access token').conflicts('id'))
    .option('--scope <scopes>', 'a token for these scopes (space-separated), obtained with the stored refresh token')
    .option('--audience <resource>', 'a token for this audience / resource (RFC 8707)')
    .addOption(new Option('--json', 'print {token, token_type, expires_at, profile}').conflicts('header'))
    .option('--header', 'print "Authorization: Bearer <token>" for curl -H @-')
    .addHelpText(
      'after',
      `
Which token: the profile's "token" setting (default auto: the id_token when the provider
issued one, else the access token — what the Cosmian KMS verifies); --id / --access override it.

Examples:
  curl -H "Authorization: Bearer $(kms-agent token)" https://kms.example.com/kmip/2_1
  kms-agent token --header | curl -H @- https://kms.example.com/kmip/2_1   # token not in ps
  kms-agent token --profile entra --json

Exit codes: 0 ok, 2 no agent (after autostart failed), 5 login required,
6 provider unreachable and no valid token cached, 1 other.`,
    )
    .action(
      run((opts: { profile?: string; minValid?: number; id?: boolean; access?: boolean; scope?: string; audience?: string; json?: boolean; header?: boolean }) =>
        runToken({
          ...tokenSelection(opts),
          output: opts.json ? 'json' : opts.header ? 'header' : 'plain',
          socket: globals().socket,
          config: globals().config,
          autostart: globals().autostart,
        }),
      ),
    );

  program
    .command('exec')
    .description('run a command with a fresh token in its environment; exits with its exit code')
    .option('-p, --profile <name>', 'profile (default: $KMS_AGENT_PROFILE, else the default profile)')
    .option('--env <name>', 'environment variable that receives the token', 'KMS_ACCESS_TOKEN')
    .addOption(new Option('--id', 'the id_token').conflicts('access'))
    .addOption(new Option('--access', 'the access token').conflicts('id'))
    .usage('[options] -- <command...>')
    .argument('<command...>', 'the command and its arguments, after --')
    .action(
      run(async (command: string[], opts: { profile?: string; env: string; id?: boolean; access?: boolean }) => {
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(opts.env)) throw new Error(`--env: "${opts.env}" is not a valid variable name`);
        const reply = await fetchToken({
          ...tokenSelection(opts),
          output: 'plain',
          socket: globals().socket,
          config: globals().config,
          autostart: globals().autostart,
        });
        return execWithToken(command, opts.env, reply);
      }),
    );

  program
    .command('profiles')
    .description('list the configured profiles and where each came from')
    .option('--json', 'print JSON')
    .action(
      run(async (opts: { json?: boolean }) => {
        const profiles = await withAgent((c) => c.call('profiles.list', {}));
        if (opts.json) process.stdout.write(JSON.stringify(profiles, null, 2) + '\n');
        else for (const p of profiles) process.stdout.write(`${p.name}${p.default ? ' (default)' : ''}\t${p.source}\n`);
        return Exit.OK;
      }),
    );

  program
    .command('install-service')
    .description('install and enable the per-user service: systemd socket activation on Linux, a LaunchAgent on macOS')
    .option('--dry-run', 'print the files and commands, change nothing')
    .action(
      run(async (opts: { dryRun?: boolean }) => {
        const { installService } = await import('./installService.js');
        return installService({ dryRun: opts.dryRun ?? false });
      }),
    );

  program
    .command('demo')
    .description('see it work in one minute: a bundled local identity provider, a private agent, a login, refresh and restart')
    .option('--auto', 'play the login pages yourself (for machines without a browser); the default when no display is found')
    .option('--no-browser', 'only print the login URL')
    .action(
      run(async (opts: { auto?: boolean; browser: boolean }) => {
        const { runDemo } = await import('../demo/demo.js');
        return runDemo({ auto: opts.auto, browser: opts.browser });
      }),
    );

  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? Exit.OK : Exit.ERROR;
    return reportError(err);
  }
  return exitCode;
}

function tokenSelection(opts: { profile?: string; minValid?: number; id?: boolean; access?: boolean; scope?: string; audience?: string }): Omit<TokenOptions, 'output'> {
  return {
    profile: opts.profile,
    minValid: opts.minValid,
    kind: opts.id ? 'id' : opts.access ? 'access' : undefined,
    scope: opts.scope,
    audience: opts.audience,
  };
}
