// A real pseudo-terminal a test can read and type into: one tmux pane on a private tmux server
// (its own socket and config file in a temp dir), whose tty name (/dev/pts/N) is known. Programs
// given `--ttyname` that name draw on the pane; capture-pane reads what a person would see and
// send-keys types what a person would type.
import { execFile } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { privateTempDir } from './tools/processRun.mjs';

// The pane's own program reads nothing and ignores the keys that signal the terminal's foreground
// group (Ctrl-C would otherwise end the pane, and the tmux server with it).
const IDLE = ['sh', '-c', 'trap "" INT QUIT TSTP; exec sleep 2147483647'];
// A terminal type every Debian has (ncurses-base); programs on the pane are told this one.
const TERM = 'screen';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts a tmux server with one pane running `command` (argv; by default one that only waits).
 * Returns { tty, panePid, term, screen, waitFor, type, press, clear, close }.
 */
export async function startTerminal({ command = IDLE, width = 100, height = 30, env } = {}) {
  const dir = privateTempDir('tmux');
  const socket = join(dir, 'tmux.sock');
  const config = join(dir, 'tmux.conf');
  // The pane stays readable after its program exits (a client that printed and ended).
  writeFileSync(config, `set -g default-terminal ${TERM}\nset -g remain-on-exit on\n`);
  const tmuxEnv = { ...(env ?? process.env), TERM };
  delete tmuxEnv.TMUX;
  const tmux = (...args) =>
    new Promise((resolve, reject) => {
      const argv = ['-S', socket, '-f', config, ...args];
      execFile('tmux', argv, { env: tmuxEnv }, (error, stdout, stderr) => {
        if (error) reject(new Error(`tmux ${args[0]}: ${stderr.trim() || error.message}`));
        else resolve(stdout);
      });
    });
  await tmux('new-session', '-d', '-x', String(width), '-y', String(height), '--', ...command);
  const pane = await tmux('display-message', '-p', '#{pane_tty} #{pane_pid}');
  const [tty, panePid] = pane.trim().split(' ');

  /** What the pane shows now: its lines, trailing blanks cut, empty lines at the end dropped. */
  const screen = async () => (await tmux('capture-pane', '-p')).replace(/[ \t]+$/gm, '').trimEnd();

  return {
    tty,
    panePid: Number(panePid),
    term: TERM,
    screen,
    /** Polls the screen until it matches (RegExp or substring); after `timeout` ms, throws it. */
    async waitFor(pattern, { timeout = 10_000 } = {}) {
      const matches = (text) =>
        typeof pattern === 'string' ? text.includes(pattern) : pattern.test(text);
      const deadline = Date.now() + timeout;
      for (;;) {
        const text = await screen();
        if (matches(text)) return text;
        if (Date.now() > deadline) {
          throw new Error(`the terminal did not show ${pattern} in ${timeout} ms, but:\n${text}`);
        }
        await sleep(25);
      }
    },
    /** Types text literally (no key names). */
    type: (text) => tmux('send-keys', '-l', '--', text),
    /** Presses keys by tmux's names: 'Enter', 'Tab', 'Escape', 'C-c', or a letter. */
    press: (...keys) => tmux('send-keys', '--', ...keys),
    /** Resets the terminal and forgets its history: the next screen shows only what comes after. */
    async clear() {
      await tmux('send-keys', '-R');
      await tmux('clear-history');
    },
    async close() {
      await tmux('kill-server').catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
