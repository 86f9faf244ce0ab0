import { spawn } from 'node:child_process';

/**
 * Opens a URL the way desktop tools do: $BROWSER when set (it is also how tests play the
 * browser), else xdg-open / open. Resolves with an error message, or undefined when launched;
 * `failed` is told later if the command then exits with an error (xdg-open finding no browser).
 */
export function openBrowser(
  url: string,
  env: NodeJS.ProcessEnv = process.env,
  failed: (why: string) => void = () => undefined,
): Promise<string | undefined> {
  const command = env.BROWSER || (process.platform === 'darwin' ? 'open' : 'xdg-open');
  return new Promise((resolve) => {
    const child = spawn(command, [url], { detached: true, stdio: 'ignore', env });
    child.once('error', (err: NodeJS.ErrnoException) =>
      resolve(`cannot run ${command} (${err.code ?? err.message})`),
    );
    child.once('spawn', () => {
      child.unref();
      resolve(undefined);
    });
    child.once('exit', (code, signal) => {
      if (code !== 0 && code !== null) failed(`${command} exited with code ${code}`);
      else if (signal !== null) failed(`${command} was ended by ${signal}`);
    });
  });
}
