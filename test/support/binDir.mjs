// `kms-agent` on PATH for tools that run it by name (kubectl's exec plugin, git's credential helper),
// as `npm install -g` would put it there: a directory holding a `kms-agent` that runs the built CLI.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI } from './harness.mjs';
import { shellQuote } from './tools/processRun.mjs';

/** Makes `dir/bin/kms-agent` and returns a PATH that finds it first. */
export function kmsAgentOnPath(dir) {
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  writeFileSync(
    join(bin, 'kms-agent'),
    `#!/bin/sh\nexec ${shellQuote(process.execPath)} ${shellQuote(CLI)} "$@"\n`,
    { mode: 0o755 },
  );
  return `${bin}:${process.env.PATH}`;
}
