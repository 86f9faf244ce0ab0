#!/usr/bin/env node
/**
 * The `kms-agent` executable. CommonJS on purpose: the fast commands (fastCommands.cts) start
 * without Node's ES module loader. They run from one script, dist/client/fastPath.bundle.cjs, that
 * holds their modules, compiled with the V8 code cache made when it was built
 * (scripts/bundleFastPath.mjs): one file to read instead of a dozen to resolve, and the functions of
 * a `token` call already compiled. Every other command loads the full commander CLI, ES modules.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Script } from 'node:vm';

type FastCommands = typeof import('./fastCommands.cjs');

const BUNDLE = join(__dirname, 'fastPath.bundle.cjs');

/** The bundle evaluates to a function of (require, dist directory) that returns fastCommands' exports. */
function loadFastCommands(): FastCommands {
  let cachedData: Buffer | undefined;
  try {
    cachedData = readFileSync(`${BUNDLE}.cache`);
  } catch {
    // No cache (a build that could not make one): V8 compiles the script as it runs.
  }
  const script = new Script(readFileSync(BUNDLE, 'utf8'), cachedData ? { filename: BUNDLE, cachedData } : { filename: BUNDLE });
  return (script.runInThisContext() as (nodeRequire: NodeJS.Require, dist: string) => FastCommands)(require, dirname(__dirname));
}

const done = (exitCode: number): void => void (process.exitCode = exitCode);
if (!loadFastCommands().runFastCommand(process.argv.slice(2), done)) {
  // `kms-agent … | head` closing the pipe early is not an error worth a stack trace.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  void import('./cli.js').then(async ({ runCli }) => {
    process.exitCode = await runCli(process.argv);
  });
}
