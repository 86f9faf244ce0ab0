import { realpathSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { resolveConfigPath } from '../../../config/configPaths.js';
import { PROFILE_NAME } from '../../../config/configSchema.js';
import { commaListHint } from '../../../config/scopeSyntax.js';
import { exposedSecretWarning, readTrustedFile } from '../../../config/configText.js';
import { untrustedBecause } from '../../../config/fileTrust.js';
import { loadConfig } from '../../../config/config.js';
import { chooseDefaultProfile } from '../../../config/defaultProfile.js';
import { readOwnConfig } from '../../../config/ownConfig.js';
import type { AgentConfig } from '../../../config/profile.js';
import { AgentError } from '../../../rpc/jsonRpc.js';
import { usage } from '../../fast/commandLine.js';
import { profileSection, withDefaultProfile, withProfile, writeConfig } from '../../configEdit.js';
import type { ProfileKeys } from '../../configEdit.js';
import { Exit, reportError } from '../../fast/exitCodes.js';
import { describeSupport, discoverProvider } from './providerDiscovery.js';
import { loginCommand } from '../../../text/loginCommand.js';
import type { CliContext } from '../../cliContext.js';
import { runLogin } from '../login/login.js';

interface AddOptions {
  issuer: string;
  clientId: string;
  scopes?: string;
  clientSecret?: string;
  clientCredentials?: boolean;
  privateKey?: string;
  force?: boolean;
}

const say = (line: string): void => void process.stdout.write(line + '\n');

export function registerAdd(program: Command, cli: CliContext): void {
  program
    .command('add')
    .description(
      "add a profile: checks the provider's discovery document (PKCE S256, device flow, revocation), writes [profiles.NAME] to the config, offers to log in",
    )
    .argument('<name>', 'profile name: letters, digits, ".", "_" and "-"')
    .requiredOption(
      '--issuer <url>',
      "the provider's issuer (its discovery document is at URL/.well-known/openid-configuration)",
    )
    .requiredOption(
      '--client-id <id>',
      'the client registered at the provider (native / public, redirect URL http://localhost:17899/authorization)',
    )
    .option('--scopes <scopes>', 'space-separated scopes (default: openid email offline_access)')
    .option(
      '--client-secret <secret>',
      'for a client that has one (Google); "-" reads it from stdin, out of sight of ps',
    )
    .option(
      '--client-credentials',
      'a profile for CI or a service: the client credentials grant, no login (needs --client-secret or --private-key)',
    )
    .option(
      '--private-key <file>',
      "the client's PEM private key (private_key_jwt), a file only you can read",
    )
    .option('--force', 'replace a profile of that name')
    .action(cli.run((name: string, opts: AddOptions) => addProfile(cli, name, opts)));
}

/** `--scopes "openid email"`; a comma-separated list is refused before anything is asked. */
function scopeList(text: string): string[] {
  const names = text.split(/\s+/).filter(Boolean);
  const hint = names.map(commaListHint).find((h) => h !== undefined);
  if (hint !== undefined) throw usage(`--scopes ${hint}`);
  return names;
}

async function addProfile(cli: CliContext, name: string, opts: AddOptions): Promise<number> {
  if (!PROFILE_NAME.test(name))
    throw usage(
      `invalid profile name "${name}": use letters, digits, ".", "_" and "-", starting with a letter or digit`,
    );
  const file = resolveConfigPath(cli.configPath());
  const current = readTrustedFile(file);
  const exists = current !== undefined && definesProfile(file, name);
  if (exists && !opts.force)
    throw usage(
      `profile ${name} already exists in ${file}: add --force to replace it, or choose another name`,
    );

  const scopes = opts.scopes === undefined ? undefined : scopeList(opts.scopes);
  const service = opts.clientCredentials === true;
  checkCredentials(opts, service);
  const support = await discoverProvider(opts.issuer, { service });
  for (const line of describeSupport(opts.issuer, support, service)) say(line);
  const keys: ProfileKeys = { client_id: opts.clientId, issuer: opts.issuer };
  if (scopes !== undefined) keys.scopes = scopes;
  if (service) keys.grant = 'client_credentials';
  if (opts.clientSecret !== undefined)
    keys.client_secret = opts.clientSecret === '-' ? await secretFromStdin() : opts.clientSecret;
  if (opts.privateKey !== undefined) keys.private_key_file = resolve(opts.privateKey);
  // A service logs in no user: the login's scopes and public clients are nothing to it.
  for (const warning of service ? [] : warnings(support, keys))
    process.stderr.write(`kms-agent: warning: ${warning}\n`);

  // A second profile must not make `kms-agent token` without --profile ambiguous: the one that was
  // the default stays so (docs/configuration.md).
  const keepDefault = exists ? undefined : defaultLost(file, name);
  const added = withProfile(current?.text ?? '', name, profileSection(name, keys), exists, file);
  const text = keepDefault === undefined ? added : withDefaultProfile(added, keepDefault);
  // The whole file is checked as the agent will read it before it replaces the old one.
  writeConfig(file, text, current?.stat.mode, (written) => checkAsTheAgentWill(written, file));
  say(`${exists ? 'Replaced' : 'Added'} profile ${name} in ${file}.`);
  const stat = statSync(file);
  const untrusted = untrustedBecause(file, stat);
  if (untrusted)
    process.stderr.write(`kms-agent: warning: the agent will refuse ${file}: ${untrusted}\n`);
  const exposed = keys.client_secret === undefined ? undefined : exposedSecretWarning(file, stat);
  if (exposed) process.stderr.write(`kms-agent: warning: ${exposed}\n`);
  const profiles = readOwnConfig(file, { explicit: true });
  if (keepDefault !== undefined) {
    const added = `default_profile = "${keepDefault}" was added at the top of ${file}`;
    say(`Commands without --profile still use profile ${keepDefault}: ${added}.`);
  } else if (profiles.profiles.size > 1 && profiles.top.default_profile === undefined) {
    say(
      `With several profiles, commands need --profile (or KMS_AGENT_PROFILE), or a default_profile = "${name}" line at the top of ${file}.`,
    );
  }
  await tellRunningAgent(cli, file, name);
  if (!service) return offerLogin(cli, name);
  say(`No login is needed: \`kms-agent token --profile ${name}\` gets a token for the client.`);
  return Exit.OK;
}

/** A service's client authenticates, with one credential: a secret or a key. */
function checkCredentials(opts: AddOptions, service: boolean): void {
  if (opts.clientSecret !== undefined && opts.privateKey !== undefined)
    throw usage('--client-secret and --private-key cannot be used together: give one');
  if (service && opts.clientSecret === undefined && opts.privateKey === undefined)
    throw usage(
      '--client-credentials needs the client to authenticate: --client-secret - (read from stdin) or --private-key FILE',
    );
}

/**
 * The profile that commands without --profile use now, when adding `name` would leave them none
 * (several profiles, no default_profile); else undefined. The Cosmian CLI's profile counts, as the
 * agent counts it; a config the agent could not load has no default to keep.
 */
function defaultLost(file: string, name: string): string | undefined {
  let config: AgentConfig;
  try {
    const named = readOwnConfig(file, { explicit: false }).top.default_profile;
    if (named !== undefined) return undefined;
    config = loadConfig({ configPath: file, explicit: false });
  } catch {
    return undefined;
  }
  const before = config.defaultProfile;
  if (before === undefined) return undefined;
  // Only the names count for the rule; the new name stands for a profile like the others.
  const after = new Map(config.profiles).set(name, config.profiles.get(before)!);
  return chooseDefaultProfile(undefined, after, file) === undefined ? before : undefined;
}

function checkAsTheAgentWill(written: string, file: string): void {
  try {
    readOwnConfig(written, { explicit: true });
  } catch (err) {
    throw usage(`not written: ${(err as Error).message.replaceAll(written, file)}`);
  }
}

/** Whether the file already has the profile; a file the agent could not load is fixed first. */
function definesProfile(file: string, name: string): boolean {
  try {
    return readOwnConfig(file, { explicit: true }).profiles.has(name);
  } catch (err) {
    throw usage(`${(err as Error).message}; fix the file before adding a profile to it`);
  }
}

function warnings(
  support: Awaited<ReturnType<typeof discoverProvider>>,
  keys: ProfileKeys,
): string[] {
  const found: string[] = [];
  const scopes = keys.scopes ?? ['openid', 'email', 'offline_access'];
  if (
    support.scopesSupported &&
    scopes.includes('offline_access') &&
    !support.scopesSupported.includes('offline_access')
  ) {
    found.push(
      'the provider does not list offline_access in scopes_supported: it may issue no refresh token, and each login would last one token lifetime',
    );
  }
  if (support.publicClients === false && keys.client_secret === undefined) {
    found.push(
      'the provider lists no "none" token_endpoint_auth_method: without --client-secret it may refuse this client at the token endpoint',
    );
  }
  return found;
}

async function secretFromStdin(): Promise<string> {
  const lines = createInterface({ input: process.stdin, terminal: false });
  for await (const line of lines) {
    lines.close();
    if (line.trim()) return line.trim();
  }
  throw usage('--client-secret -: no secret on stdin');
}

/**
 * An agent that runs loads the profile now (its watcher would, a moment later); none answering is
 * fine. One that reads another file (compared with links resolved) will not see it: said.
 */
async function tellRunningAgent(cli: CliContext, file: string, name: string): Promise<void> {
  try {
    await cli.withAgent(
      async (c) => {
        const agent = await c.call('agent.config', { config: realpathSync.native(file) });
        if (agent.mismatch) {
          say(
            `The running agent (pid ${agent.pid}) reads ${agent.config}, not ${file}: ` +
              `it will not see profile ${name}. To use it, run \`kms-agent stop\`, ` +
              `then \`kms-agent --config ${file} start\`.`,
          );
          return;
        }
        const { profiles } = await c.call('agent.reload', {});
        say(`The running agent (pid ${agent.pid}) loaded it: profiles ${profiles.join(', ')}.`);
      },
      { autostart: false, otherConfig: 'ignore', sayConfigError: false },
    );
  } catch (err) {
    if (err instanceof AgentError && err.reason === 'LOCKED') {
      say(`The running agent is locked: it loads profile ${name} when it is unlocked.`);
      return;
    }
    if (!(err instanceof AgentError && err.reason === 'NO_AGENT')) throw err;
  }
}

/** On a terminal, "Log in now? [Y/n]"; otherwise the command to run. */
async function offerLogin(cli: CliContext, name: string): Promise<number> {
  const command = loginCommand(name);
  if (!process.stdin.isTTY || !process.stderr.isTTY) {
    say(`Next, log in: ${command}`);
    return Exit.OK;
  }
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  const answer = (await prompt.question('Log in now? [Y/n] ')).trim().toLowerCase();
  prompt.close();
  if (answer !== '' && answer !== 'y' && answer !== 'yes') {
    say(`Log in later with: ${command}`);
    return Exit.OK;
  }
  try {
    return await cli.withAgent((c) => runLogin(c, { profile: name, browser: true }));
  } catch (err) {
    return reportError(err, 'login');
  }
}
