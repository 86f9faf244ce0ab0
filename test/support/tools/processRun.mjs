// Small pieces the real-tool fixtures share: running a program to completion, private temp
// directories, POSIX shell quoting (for commands that ssh hands to a remote shell).
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Runs a program; resolves with its exit code and output, never rejects (a signal counts as 128+n). */
export function run(file, args, { env = process.env, cwd, input, timeout = 60_000 } = {}) {
  return new Promise((resolve) => {
    const child = execFile(
      file,
      args,
      { env, cwd, timeout, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        let code = 0;
        if (error)
          code =
            typeof error.code === 'number'
              ? error.code
              : error.signal
                ? 128 + (SIGNALS[error.signal] ?? 0)
                : 1;
        resolve({ code, stdout, stderr });
      },
    );
    // A program that exits without reading its input is not an error.
    child.stdin.on('error', () => undefined);
    child.stdin.end(input ?? '');
  });
}

const SIGNALS = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

/** A fresh private (0700) directory under the system temp dir, or under `parent`. */
export function privateTempDir(prefix, parent = tmpdir()) {
  return mkdtempSync(join(parent, `kms-agent-${prefix}-`));
}

/** One argument quoted for a POSIX shell: ssh joins the remote command into a string for the user's shell. */
export function shellQuote(arg) {
  const text = String(arg);
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`;
}
