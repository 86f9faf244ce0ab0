import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:os';

/** Signals that end a terminal session or ask a program to stop: passed on to the child. */
const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * Runs CMD with stdio inherited and returns its exit code, 128+N when a signal ended it, as shells
 * report it. The signals above, sent to kms-agent, go to the child, and kms-agent waits for it:
 * `cleanup` then runs however the child ended. `environment` is called once those signals are
 * held, so what it prepares for the child (a file) is never left behind by one of them.
 */
export function runChild(
  command: string[],
  environment: () => NodeJS.ProcessEnv,
  cleanup: () => void = () => undefined,
): Promise<number> {
  return new Promise((resolve, reject) => {
    let child: ChildProcess | undefined;
    let early: NodeJS.Signals | undefined;
    let ended = false;
    const forward = (signal: NodeJS.Signals): void => {
      if (child) child.kill(signal);
      else early = signal;
    };
    for (const signal of FORWARDED) process.on(signal, forward);
    const end = (): boolean => {
      if (ended) return false;
      ended = true;
      for (const signal of FORWARDED) process.off(signal, forward);
      cleanup();
      return true;
    };
    let env: NodeJS.ProcessEnv;
    try {
      env = environment();
    } catch (err) {
      end();
      return reject(err);
    }
    child = spawn(command[0]!, command.slice(1), { stdio: 'inherit', env });
    if (early) child.kill(early);
    child.once('error', (err: NodeJS.ErrnoException) => {
      if (!end()) return;
      process.stderr.write(
        `kms-agent: cannot run ${command[0]}: ${err.code === 'ENOENT' ? 'command not found' : err.message}\n`,
      );
      resolve(err.code === 'ENOENT' ? 127 : 126);
    });
    child.once('exit', (code, signal) => {
      if (end()) resolve(code ?? 128 + (signal ? constants.signals[signal] : 0));
    });
  });
}
