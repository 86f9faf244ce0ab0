#!/usr/bin/env node
/**
 * The `kms-agent` executable, built into dist/client/bin.cjs: CommonJS, so the fast commands
 * (fastCommands.ts) start without Node's ES module loader, from their bundle compiled with its code
 * cache (src/os/bundleLoader.ts). Every other command loads the full commander CLI, ES modules.
 */
import { loadBundle } from '../os/bundleLoader.js';
import { CLI_MODULE, FAST_PATH_BUNDLE } from '../os/packageFiles.js';

type FastCommands = typeof import('./fastCommands.js');
type Cli = typeof import('./cli.js');

const done = (exitCode: number): void => void (process.exitCode = exitCode);
const args = process.argv.slice(2);
if (!loadBundle<FastCommands>(FAST_PATH_BUNDLE).runFastCommand(args, done)) {
  // `kms-agent … | head` closing the pipe early is not an error worth a stack trace.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  void import('node:url')
    .then(({ pathToFileURL }) => import(pathToFileURL(CLI_MODULE).href) as Promise<Cli>)
    .then(async ({ runCli }) => {
      process.exitCode = await runCli(process.argv);
    });
}
