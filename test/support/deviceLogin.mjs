// `kms-agent login --device` as a user runs it: a child process of the built CLI whose printed link
// the test hands to the provider's approval page (playDeviceLogin, or Glewlwyd's approveDevice).
import { spawn } from 'node:child_process';
import { CLI } from './harness.mjs';

/**
 * Starts `kms-agent login --device` and resolves `link` with the complete verification URL (its
 * user code in `user_code=`, or Glewlwyd's `code=`) once the instructions are printed, up to the
 * expiry line; `exit` resolves with the exit code and output when the command ends. `device: false`
 * runs a plain `login` (one that should choose the device flow by itself); `env` is added to the sandbox's.
 */
export function loginDevice(sb, args = [], { device = true, env = {} } = {}) {
  const command = ['login', ...(device ? ['--device'] : []), ...args];
  const child = spawn(process.execPath, [CLI, ...command], {
    env: { ...sb.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const killer = setTimeout(() => child.kill(), 60_000);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  const exit = new Promise((resolve) =>
    child.once('close', (code) => {
      clearTimeout(killer);
      sb.logs.push(stderr);
      resolve({ code, stdout, stderr });
    }),
  );
  const link = new Promise((resolve, reject) => {
    child.stderr.on('data', (d) => {
      stderr += d;
      // The link is used once the whole block is out: stderr may arrive in more than one chunk.
      const printed = /^ {2}(http\S+[?&](?:user_)?code=\S+)\n(?:.*\n)*?The code expires in /m.exec(
        stderr,
      );
      if (printed) resolve(printed[1]);
    });
    exit.then(() => reject(new Error(`login --device ended without printing a link: ${stderr}`)));
  });
  link.catch(() => undefined); // tests that never play the browser do not wait for the link
  return { link, exit, stderr: () => stderr };
}
