// Running the tools and CLIs of a bench run. A load generator prints one JSON line: its result.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

export const run = promisify(execFile);

/** Anything token-like in a text a reply may have quoted: never let it reach results.json. */
const redact = (text) => text.replace(/[\w.~+/=-]{24,}/g, '[…]').slice(0, 160);

/** Runs `cmd` and resolves with the JSON of the last line it printed. */
export function runJson(cmd, args, { env, timeout = 120_000 } = {}) {
  return new Promise((resolve, reject) => {
    const options = { env: env ?? process.env, timeout, maxBuffer: 16 << 20 };
    execFile(cmd, args, options, (error, stdout, stderr) => {
      if (error) return reject(new Error(`${cmd} failed: ${error.message}\n${stderr}`));
      try {
        const result = JSON.parse(stdout.trim().split('\n').pop());
        if (typeof result.firstError === 'string') result.firstError = redact(result.firstError);
        resolve(result);
      } catch {
        const printed = `${stdout.slice(0, 300)} ${stderr.slice(0, 300)}`;
        reject(new Error(`${cmd} printed no JSON: ${printed}`));
      }
    });
  });
}

/** True when `cmd` is on PATH. */
export function commandExists(cmd) {
  return run('sh', ['-c', `command -v ${cmd}`]).then(
    () => true,
    () => false,
  );
}

/** Runs a command and resolves with its exit code and output (never rejects). */
export const execResult = (cmd, args, options) =>
  new Promise((resolve) => {
    execFile(cmd, args, options, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
