import { InvalidArgumentError, Option, type Command } from 'commander';
import { AgentError } from '../../../rpc/jsonRpc.js';
import type { LoginFlow, Params, Result } from '../../../rpc/methods.js';
import type { AgentClient } from '../../fast/agentClient.js';
import { openBrowser } from '../../browserOpener.js';
import { chosenProfile } from '../../fast/commandLine.js';
import { SELECTION_FLAGS } from '../../fast/tokenRequest.js';
import { noDisplayReason } from '../../displayCheck.js';
import { Exit } from '../../fast/exitCodes.js';
import { noBrowserHere, tunnelCommand } from './loginAdvice.js';
import { showDeviceCode, waitingIndicator } from './loginProgress.js';
import { DURATION_FORMAT, parseDuration } from '../../../config/durations.js';
import type { CliContext } from '../../cliContext.js';

export interface LoginOptions {
  profile?: string | undefined;
  device?: boolean | undefined;
  browser: boolean;
  timeout?: number | undefined;
  /** Step-up for this login: acr_values, and max_age in seconds. */
  acr?: string | undefined;
  maxAge?: number | undefined;
  /** Seconds until the agent forgets the login. */
  lifetime?: number | undefined;
}

type Started = Result<'login.start'>;

function lifetime(value: string): number {
  const parsed = parseDuration(value);
  if (parsed === undefined) throw new InvalidArgumentError(`expected ${DURATION_FORMAT}`);
  return parsed;
}

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected a number of seconds');
  return n;
}

function wholeSeconds(value: string): number {
  const n = seconds(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError('expected a whole number of seconds');
  return n;
}

export function registerLogin(program: Command, cli: CliContext): void {
  program
    .command('login')
    .description(
      'log in to a profile: the agent runs the flow, this command opens the browser and waits',
    )
    .addOption(new Option(SELECTION_FLAGS.profile.flags, SELECTION_FLAGS.profile.description))
    .option('--device', 'use the device flow: enter a code on any device (no browser here needed)')
    .option('--no-browser', 'only print the URL, do not open a browser')
    .option('--timeout <seconds>', 'give up after this many seconds (exit 4)', seconds)
    .option('--acr <values>', "step-up: acr_values to ask for (the id_token's acr must be one)")
    .option(
      '--max-age <seconds>',
      'step-up: log in again at the provider unless you did within this many seconds',
      wholeSeconds,
    )
    .option(
      '--lifetime <duration>',
      'forget the login this long after it is made (90s, 30m, 8h, 7d; ' +
        "at most the profile's max_lifetime)",
      lifetime,
    )
    .action(cli.run((opts: LoginOptions) => cli.withAgent((c) => runLogin(c, opts)), 'login'));
}

const say = (line: string): void => void process.stderr.write(line + '\n');

function startLogin(
  client: AgentClient,
  profile: string | undefined,
  flow: LoginFlow,
  options: LoginOptions,
): Promise<Started> {
  const params: Params<'login.start'> = { flow };
  if (profile) params.profile = profile;
  if (options.acr !== undefined) params.acr_values = options.acr;
  if (options.maxAge !== undefined) params.max_age = options.maxAge;
  if (options.lifetime !== undefined) params.lifetime = options.lifetime;
  return client.call('login.start', params);
}

/**
 * The daemon runs the flow; this side shows the URL (and user code), opens the browser and waits.
 * Ctrl-C closes the connection, which cancels the login in the daemon and frees its port.
 */
export async function runLogin(
  client: AgentClient,
  options: LoginOptions,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  try {
    return await logIn(client, options, env);
  } catch (err) {
    // A client credentials profile: said on stdout, and done.
    if (!(err instanceof AgentError && err.reason === 'NO_LOGIN_NEEDED')) throw err;
    process.stdout.write(`${err.message}\n`);
    return Exit.OK;
  }
}

async function logIn(
  client: AgentClient,
  options: LoginOptions,
  env: NodeJS.ProcessEnv,
): Promise<number> {
  const profile = chosenProfile(options.profile, env);
  const headless = options.browser && !options.device ? noDisplayReason(env) : undefined;
  let started: Started;
  if (options.device) {
    started = await startLogin(client, profile, 'device', options);
    showDeviceCode(started);
  } else if (headless) {
    const device = await deviceInstead(client, profile, headless, options);
    if (!device) return cannotLogInHere(client, profile, headless, options);
    started = device;
  } else {
    started = await startLogin(client, profile, 'pkce', options);
  }
  const waitParams: Params<'login.wait'> = { login_id: started.login_id };
  if (options.timeout !== undefined) waitParams.timeout = options.timeout;
  // Waiting before the browser opens: a Ctrl-C from here on hangs up on a login.wait, which
  // cancels the login and removes its page (a hang-up before it left both until the timeout).
  const waiting = client.call('login.wait', waitParams);
  const inBrowser = started.user_code === undefined;
  if (inBrowser) {
    try {
      await showLoginPage(started, options, env);
    } catch (err) {
      waiting.catch(() => undefined);
      throw err;
    }
  }
  const stopIndicator = waitingIndicator(inBrowser ? started.url : undefined);
  let done: Result<'login.wait'>;
  try {
    done = await waiting;
  } finally {
    stopIndicator();
  }
  const who = done.email ?? done.subject;
  // Another user than the profile's last login: said once, after who it is now.
  const was = done.previous_subject === undefined ? '' : ` (was ${done.previous_subject})`;
  process.stdout.write(`logged in to profile ${done.profile}${who ? ` as ${who}` : ''}${was}\n`);
  if (done.login_ends_at !== undefined)
    say(`the agent forgets this login at ${new Date(done.login_ends_at * 1000).toISOString()}`);
  if (done.refresh_token_warning) say(`warning: ${done.refresh_token_warning}`);
  if (done.store_warning) say(`warning: ${done.store_warning}`);
  return Exit.OK;
}

/** Opens the browser on the private page that forwards to the provider, or prints the URL. */
async function showLoginPage(
  started: Started,
  options: LoginOptions,
  env: NodeJS.ProcessEnv,
): Promise<void> {
  // The browser gets a private file forwarding to the URL: a command line is visible to every user.
  // A browser command that fails once started (xdg-open, no browser): said at once, with the URL.
  const failedLater = (why: string): void => {
    if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
    printUrl(started, `the browser command failed (${why}), so no browser may have opened`);
  };
  const page = started.browser_url ?? started.url;
  const problem = options.browser ? await openBrowser(page, env, failedLater) : undefined;
  if (options.browser && !problem) {
    say(
      `Log in to profile ${started.profile} in the browser window that just opened (or run \`kms-agent login --no-browser\` to get the link).`,
    );
    return;
  }
  printUrl(started, problem && `cannot open a browser here: ${problem}`);
}

function printUrl(started: Started, problem: string | undefined): void {
  say(`Log in to profile ${started.profile} in your browser:\n  ${started.url}`);
  if (problem) say(`${problem[0]!.toUpperCase()}${problem.slice(1)}.`);
  // The redirect comes back to this machine's loopback: a browser elsewhere needs a tunnel.
  say(
    `Open the URL above in a browser on this machine, or on another one connected with \`${tunnelCommand(started.url)}\`.`,
  );
}

/** No way to open a browser here: the device flow, when the profile has one (saying so), else undefined. */
async function deviceInstead(
  client: AgentClient,
  profile: string | undefined,
  headless: string,
  options: LoginOptions,
): Promise<Started | undefined> {
  try {
    const started = await startLogin(client, profile, 'device', options);
    say(`Cannot open a browser here: ${headless}; logging in with the device flow instead.`);
    showDeviceCode(started);
    return started;
  } catch (err) {
    // INVALID_PARAMS from a device login.start: the profile has no device authorization endpoint.
    if (err instanceof AgentError && err.reason === 'INVALID_PARAMS') return undefined;
    throw err;
  }
}

/** Says at once every way to log in from here, and exits 3: nothing would ever come back to a wait. */
async function cannotLogInHere(
  client: AgentClient,
  profile: string | undefined,
  headless: string,
  options: LoginOptions,
): Promise<number> {
  // A browser login, started only to learn its redirect URL (for the ssh -L line) and cancelled at once.
  const probe = await startLogin(client, profile, 'pkce', options);
  await client.call('login.cancel', { login_id: probe.login_id });
  say(`kms-agent: ${noBrowserHere(probe.profile, headless, probe.url)}`);
  return Exit.LOGIN_FAILED;
}
