// Where `kms-agent token`'s time goes (a diagnosis, run when the CLI target is missed or
// BENCH_DIAGNOSE=1): CPU profiles of repeated runs, and the repository files one run opens.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { commandExists, run } from '../lib/childCommands.mjs';
import { profilesIn, summarise } from '../lib/cpuprofile.mjs';

/** The files `kms-agent token` loads (strace -e openat), or null without strace. */
async function clientModules({ dir, build, env }) {
  if (!(await commandExists('strace'))) return null;
  const out = join(dir, 'client-open.txt');
  const traced = [process.execPath, build.cli, 'token'];
  await run('strace', ['-f', '-e', 'trace=openat', '-o', out, ...traced], { env });
  const files = new Set();
  const opened = /openat\([^"]*"([^"]+\.(?:m?js|cjs|json))"[^)]*\)\s*=\s*\d+/g;
  for (const m of readFileSync(out, 'utf8').matchAll(opened)) {
    if (m[1].startsWith(build.root)) files.add(m[1].slice(build.root.length + 1));
  }
  return [...files];
}

export async function profileClient({ P, dir, say, kms, env }) {
  say(`profile: ${P.clientProfiles} runs of \`kms-agent token\` under node --cpu-prof`);
  const profDir = join(dir, 'client-profile');
  mkdirSync(profDir);
  const profiler = ['--cpu-prof', '--cpu-prof-dir', profDir, '--cpu-prof-interval', '100'];
  for (let i = 0; i < P.clientProfiles; i++) {
    await run(process.execPath, [...profiler, kms.build.cli, 'token'], { env });
  }
  const client = summarise(profilesIn(profDir));
  client.modules = await clientModules({ dir, build: kms.build, env });
  return client;
}
