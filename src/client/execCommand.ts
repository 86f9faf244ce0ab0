import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import type { TokenReply } from '../rpc/methods.js';

/**
 * Runs CMD with the token in its environment (never on a command line, where `ps` would show it)
 * and returns CMD's exit code, 128+N when a signal ended it, as shells report it.
 */
export function execWithToken(command: string[], envName: string, reply: TokenReply): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(command[0]!, command.slice(1), {
      stdio: 'inherit',
      env: { ...process.env, [envName]: reply.token },
    });
    const forward = (signal: NodeJS.Signals): void => void child.kill(signal);
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    child.once('error', (err: NodeJS.ErrnoException) => {
      process.stderr.write(`kms-agent: cannot run ${command[0]}: ${err.code === 'ENOENT' ? 'command not found' : err.message}\n`);
      resolve(err.code === 'ENOENT' ? 127 : 126);
    });
    child.once('exit', (code, signal) => {
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      resolve(code ?? 128 + (signal ? constants.signals[signal] : 0));
    });
  });
}
