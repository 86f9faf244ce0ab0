// What a result was measured on: the machine, the tools and the commit of the build under test.
import { readFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './buildEntries.mjs';
import { run } from './childCommands.mjs';

const firstLine = async (cmd, args) =>
  (await run(cmd, args).catch((e) => ({ stdout: e.message }))).stdout.trim().split('\n')[0];

const gitOut = async (args, fallback) =>
  (await run('git', ['-C', ROOT, ...args]).catch(() => ({ stdout: fallback }))).stdout.trim();

/** HEAD's short id, and whether src/ has uncommitted changes. */
export async function commitOf() {
  const rev = await gitOut(['rev-parse', '--short', 'HEAD'], '?');
  const dirty = await gitOut(['status', '--porcelain', '--', 'src'], '');
  return dirty ? `${rev} + uncommitted changes in src/` : rev;
}

export async function describeMachine(quick) {
  return {
    date: new Date().toISOString(),
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? '?',
    memoryGiB: totalmem() / 2 ** 30,
    kernel: release(),
    node: process.version,
    npm: await firstLine('npm', ['-v']),
    oidcAgent: await firstLine('oidc-agent', ['--version']),
    hyperfine: await firstLine('hyperfine', ['--version']),
    kmsAgent: JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version,
    commit: await commitOf(),
    quick,
  };
}
