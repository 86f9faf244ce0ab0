/**
 * Where `lock` and `unlock` get the passphrase (docs/cli.md): pinentry when one can be shown (this
 * command has a terminal, or there is a display), else the terminal without echo, else the first
 * line of stdin with --passphrase-stdin; with none of them, an error saying so. The daemon never
 * asks: it only receives the passphrase, over the socket only the user can reach.
 */
import { readlinkSync } from 'node:fs';
import { loadConfig } from '../../../config/config.js';
import { findPinentry } from '../../../os/pinentry.js';
import { passphrasePrompt } from '../../../os/pinentryPrompts.js';
import { usage } from '../../fast/commandLine.js';

export interface Asking {
  description: string;
  prompt: string;
}

const CTRL_C = 3;
const CTRL_D = 4;
const BACKSPACE = [8, 127];

/** The terminal this command runs on, as pinentry is told it (`--ttyname`). */
function ownTerminal(): string | undefined {
  for (const fd of [0, 2]) {
    const stream = fd === 0 ? process.stdin : process.stderr;
    if (!stream.isTTY) continue;
    try {
      return readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      return '/dev/tty';
    }
  }
  return undefined;
}

function configuredPinentry(configPath: string | undefined): string | undefined {
  try {
    return loadConfig({ configPath }).pinentryProgram;
  } catch {
    return undefined;
  }
}

/** One passphrase from the user: undefined when they cancelled. */
export async function askPassphrase(
  asking: Asking,
  configPath: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string | undefined> {
  const ttyname = ownTerminal();
  const display = env.WAYLAND_DISPLAY ?? env.DISPLAY;
  const program =
    ttyname || display ? findPinentry(configuredPinentry(configPath), env) : undefined;
  if (program !== undefined)
    return passphrasePrompt(program, { ...asking, ttyname, ttytype: env.TERM, display, env });
  if (process.stdin.isTTY) return readWithoutEcho(`${asking.description}\n${asking.prompt} `);
  throw usage(
    'no pinentry or terminal to ask the passphrase on: pipe it in with --passphrase-stdin',
  );
}

/** The first line of stdin, without its line end. */
export async function passphraseFromStdin(): Promise<string> {
  let text = '';
  for await (const chunk of process.stdin) {
    text += String(chunk);
    if (text.includes('\n')) break;
  }
  return text.split('\n')[0]!.replace(/\r$/, '');
}

/** The terminal in raw mode, so that nothing typed is shown; Ctrl-C or Ctrl-D cancels. */
function readWithoutEcho(prompt: string): Promise<string | undefined> {
  const stdin = process.stdin;
  process.stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.resume();
  let typed = Buffer.alloc(0);
  return new Promise((resolve) => {
    const done = (value: string | undefined): void => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
      resolve(value);
    };
    const onData = (chunk: Buffer): void => {
      for (const byte of chunk) {
        if (byte === CTRL_C || (byte === CTRL_D && typed.length === 0)) return done(undefined);
        if (byte === 13 || byte === 10) return done(typed.toString('utf8'));
        if (BACKSPACE.includes(byte)) typed = typed.subarray(0, Math.max(0, typed.length - 1));
        else typed = Buffer.concat([typed, Buffer.from([byte])]);
      }
    };
    stdin.on('data', onData);
  });
}
