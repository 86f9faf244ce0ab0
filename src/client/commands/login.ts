import { InvalidArgumentError, Option, type Command } from 'commander';
import type { LoginFlow, Params, Result } from '../../rpc/methods.js';
import type { AgentClient } from '../agentClient.cjs';
import { openBrowser } from '../browserOpener.js';
import { chosenProfile, SELECTION_FLAGS } from '../commandLine.cjs';
import { noDisplayReason } from '../displayCheck.js';
import { Exit } from '../exitCodes.cjs';
import type { CliContext } from './context.js';

interface LoginOptions {
  profile?: string | undefined;
  device?: boolean | undefined;
  browser: boolean;
  timeout?: number | undefined;
}

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected a number of seconds');
  return n;
}

export function registerLogin(program: Command, cli: CliContext): void {
  program
    .command('login')
    .description('log in to a profile: the agent runs the flow, this command opens the browser and waits')
    .addOption(new Option(SELECTION_FLAGS.profile.flags, SELECTION_FLAGS.profile.description))
    .option('--device', 'use the device flow: enter a code on any device (no browser here needed)')
    .option('--no-browser', 'only print the URL, do not open a browser')
    .option('--timeout <seconds>', 'give up after this many seconds (exit 4)', seconds)
    .action(cli.run((opts: LoginOptions) => cli.withAgent((c) => runLogin(c, opts)), 'login'));
}

const say = (line: string): void => void process.stderr.write(line + '\n');

/**
 * The daemon runs the flow; this side shows the URL (and user code), opens the browser and waits.
 * Ctrl-C closes the connection, which cancels the login in the daemon and frees its port.
 */
async function runLogin(client: AgentClient, options: LoginOptions, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const flow: LoginFlow = options.device ? 'device' : 'pkce';
  const params: Params<'login.start'> = { flow };
  const profile = chosenProfile(options.profile, env);
  if (profile) params.profile = profile;
  const started = await client.call('login.start', params);

  if (flow === 'device') {
    showDeviceCode(started);
  } else {
    // The browser gets a private file forwarding to the URL: a command line is visible to every user.
    const problem = options.browser ? (noDisplayReason(env) ?? (await openBrowser(started.browser_url ?? started.url, env))) : undefined;
    if (options.browser && !problem) {
      say(`Log in to profile ${started.profile} in the browser window that just opened (or run \`kms-agent login --no-browser\` to get the link).`);
    } else {
      say(`Log in to profile ${started.profile} in your browser:\n  ${started.url}`);
    }
    if (problem) {
      // The redirect goes to this machine's loopback, so a browser elsewhere needs a tunnel; the device flow does not.
      say(
        `Cannot open a browser here: ${problem}.\n` +
          `Open the URL above in a browser that can reach this machine, or log in from any device with \`kms-agent login --device${profile ? ` --profile ${profile}` : ''}\`.`,
      );
    }
  }
  const waitParams: Params<'login.wait'> = { login_id: started.login_id };
  if (options.timeout !== undefined) waitParams.timeout = options.timeout;
  const stopIndicator = waitingIndicator();
  let done: Result<'login.wait'>;
  try {
    done = await client.call('login.wait', waitParams);
  } finally {
    stopIndicator();
  }
  const who = done.email ?? done.subject;
  const was = done.previous_subject === undefined ? '' : ` (now logged in as ${done.subject}, was ${done.previous_subject})`;
  process.stdout.write(`logged in to profile ${done.profile}${who ? ` as ${who}` : ''}${was}\n`);
  if (done.refresh_token_warning) say(`warning: ${done.refresh_token_warning}`);
  if (done.store_warning) say(`warning: ${done.store_warning}`);
  return Exit.OK;
}

/**
 * "Waiting…" with the seconds counting up, redrawn in place on a terminal; a single line when
 * stderr is a pipe or a file, so logs and scripts get no control characters.
 */
function waitingIndicator(): () => void {
  const text = 'Waiting for the login to complete (Ctrl-C cancels it)…';
  if (!process.stderr.isTTY) {
    say(text);
    return () => undefined;
  }
  const started = Date.now();
  const draw = (): void => void process.stderr.write(`\r${text} ${Math.round((Date.now() - started) / 1000)}s`);
  draw();
  const timer = setInterval(draw, 1000);
  return () => {
    clearInterval(timer);
    process.stderr.write('\r\x1b[K');
  };
}

/**
 * RFC 8628 §3.3: the page to open and the code to type there, plus the link that carries the code.
 * One write, so a reader of the pipe (or a log) never sees the instructions cut in half.
 */
function showDeviceCode(started: Result<'login.start'>): void {
  const page = started.verification_url ?? started.url;
  const lines = [
    `To log in to profile ${started.profile}, open this page on any device:`,
    `  ${page}`,
    `and enter the code: ${started.user_code ?? '(none given by the provider)'}`,
  ];
  if (started.url !== page) lines.push('or open this link, which carries the code:', `  ${started.url}`);
  const seconds = Math.max(0, Math.round(started.expires_at - Date.now() / 1000));
  lines.push(`The code expires in ${seconds < 120 ? `${seconds} seconds` : `${Math.round(seconds / 60)} minutes`}.`);
  say(lines.join('\n'));
}
