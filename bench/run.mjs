#!/usr/bin/env node
// kms-agent vs oidc-agent, side by side, in one run on one machine (issue 5). `npm run bench`.
//
// Everything runs on loopback under one temporary directory (bench/lib/benchAgents.mjs): two
// local OpenID providers, a private keyring when available, a kms-agent started with
// `kms-agent start` and an oidc-agent on its own socket with its own HOME. Each phase is a module
// of bench/phases/; every figure is a median over repetitions, and every ratio compares two
// numbers measured in this run, interleaved so that both agents see the same machine.
//
// Writes bench/RESULTS.md, bench/tokens-per-second.svg, bench/results.json, bench/hyperfine.json.
// BENCH_QUICK=1 shortens every phase (a smoke run of the bench; numbers not for RESULTS.md).
// BENCH_DIAGNOSE=1 profiles even the targets that are met. BENCH_KEEP=1 keeps the directory.
// BENCH_BASELINE=1 (3efa9f9) or =REV also measures this build against a build of that revision,
// interleaved (bench/compare/; the baseline is built once, outside the repository).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { compareBuilds } from './compare/compareBuilds.mjs';
import { baselineRevision, prepareBaseline } from './lib/baselineBuild.mjs';
import { startAgents, startKeyringIfAny, startProviders } from './lib/benchAgents.mjs';
import { benchRun } from './lib/benchRun.mjs';
import { CURRENT, entryNames, ROOT } from './lib/buildEntries.mjs';
import { startAccounting } from './lib/cpuAccounting.mjs';
import { issue5Targets } from './lib/issue5Targets.mjs';
import { loadTools } from './lib/loadTools.mjs';
import { describeMachine } from './lib/machineInfo.mjs';
import { COMPARE_PARAMETERS, DIAGNOSE, PARAMETERS, QUICK } from './lib/parameters.mjs';
import { alive } from './lib/procstat.mjs';
import { quietGate, waitForQuietStart } from './lib/quietMachine.mjs';
import { ensureTools } from './lib/requiredTools.mjs';
import { measureUnderSpinners } from './phases/backgroundSensitivity.mjs';
import { cliEnvOf, measureCliWallTime } from './phases/cliWallTime.mjs';
import { profileClient } from './phases/clientCpuProfile.mjs';
import { measureColdStart } from './phases/coldStart.mjs';
import { profileDaemon } from './phases/daemonCpuProfile.mjs';
import { traceGc } from './phases/gcTrace.mjs';
import { measureIdleCost } from './phases/idleCost.mjs';
import { measureFloor } from './phases/idleFloor.mjs';
import { measureMemoryGrowth } from './phases/memoryGrowth.mjs';
import { measureNodeCeiling } from './phases/nodeCeiling.mjs';
import { measureStorms, recordTokenCalls } from './phases/refreshStorm.mjs';
import { measureThroughput, throughputModes } from './phases/socketThroughput.mjs';
import { tokenFilesPhase } from './phases/tokenFiles.mjs';
import { writeReport } from './report/writeReport.mjs';

const BENCH = join(ROOT, 'bench');
const BASELINE = baselineRevision();
const P = {
  ...PARAMETERS,
  budgetMs: PARAMETERS.budgetMs + (BASELINE ? COMPARE_PARAMETERS.budgetMs : 0),
};

/** The diagnoses of targets missed (or all, with BENCH_DIAGNOSE=1), and the one-shot ceiling. */
async function diagnose(ctx, met) {
  const { say } = ctx;
  const profiles = {};
  let syscalls = {};
  if (!met.throughputConn || DIAGNOSE) {
    const measured = await profileDaemon(ctx);
    profiles.daemon = measured.daemon;
    syscalls = measured.syscalls;
    say('ceiling: a bare Node server (node:net, fixed reply), in one process and in two');
    profiles.daemon.ceiling = await measureNodeCeiling(ctx);
  }
  // The one-request-per-connection target is a share of this ceiling: measured in every run.
  if (!profiles.daemon) say('ceiling: a bare Node server (node:net, fixed reply)');
  const ceiling = profiles.daemon?.ceiling ?? (await measureNodeCeiling(ctx));
  if (!met.cli || DIAGNOSE) profiles.client = await profileClient({ ...ctx, env: cliEnvOf(ctx) });
  // Always: whether the RSS target is met depends on the GC schedule; the live heap does not.
  say('diagnosis: the same 1,000,000 pipelined requests on a daemon started with --trace-gc');
  profiles.memory = await traceGc(ctx);
  return { profiles, syscalls, ceiling };
}

async function bench(run, baseline) {
  const { say, cleanups, cleanup } = run;
  await ensureTools(say);
  const dir = mkdtempSync(join(tmpdir(), 'kms-bench-'));
  cleanups.push(() =>
    process.env.BENCH_KEEP ? say(`kept ${dir}`) : rmSync(dir, { recursive: true, force: true }),
  );
  const tools = await loadTools(dir);
  const machine = await describeMachine(QUICK);
  say(`${machine.cpus} cores, node ${machine.node}, ${machine.oidcAgent}; work dir ${dir}`);
  const cpuUse = { before: await waitForQuietStart(QUICK, say) };
  machine.loadAverage = loadavg();

  const quiet = quietGate(say);
  const providers = await startProviders({ P, cleanups });
  const tokenCalls = recordTokenCalls(providers.storm);
  const keyring = await startKeyringIfAny({ dir, say, cleanups });
  const agents = await startAgents({ dir, say, cleanups, tools, providers, keyring });
  const { kms, oidc, store, kmsStore } = agents;
  quiet.setOurPids(() => [kms.pid, ...oidc.pids, ...(keyring?.pids ?? [])]);
  const { main: provider, redirectUrl } = providers;
  const ctx = { P, dir, say, cleanups, quiet, tools, kms, oidc, benchDir: BENCH };

  const accountStable = startAccounting(quiet.ourPids());
  const idle = await measureIdleCost(ctx);
  await quiet.waitQuiet('floor');
  const floor = await measureFloor({
    ...{ dir, provider, redirectUrl, keyring, say, cleanups },
    idleMs: P.floorIdleMs,
    startupRounds: P.floorStartupRounds,
  });
  const measuredThroughput = await measureThroughput(ctx);
  const { throughput } = measuredThroughput;
  cpuUse.throughput = measuredThroughput.cpuUse;
  const busy = await measureUnderSpinners(ctx);
  const measuredCli = await measureCliWallTime(ctx);
  const { cli } = measuredCli;
  cpuUse.cliKept = measuredCli.cliKept;
  cpuUse.cli = measuredCli.cpuUse;
  say('token files: a script reading a token file vs oidc-token and kms-agent token (hyperfine)');
  await quiet.waitQuiet('token files');
  const tokenFiles = await tokenFilesPhase({
    dir,
    issuer: provider.issuer,
    redirectUrl,
    oidcSocket: oidc.socket,
    runs: P.hyperfineRuns,
    rounds: P.hyperfineRounds,
    warmup: P.hyperfineWarmup,
  });
  const stormRuns = await measureStorms({ ...ctx, tokenCalls });
  const memory = await measureMemoryGrowth(ctx);
  cpuUse.stable = accountStable.stop();

  const { targets, met } = issue5Targets({ P, throughput, cli, stormRuns, memory });
  const { profiles, syscalls, ceiling } = await diagnose(ctx, met);
  const cold = await measureColdStart(ctx);
  const builds = [{ ...CURRENT, commit: machine.commit }, ...(baseline ? [baseline] : [])];
  const compareCtx = { ...ctx, C: COMPARE_PARAMETERS, provider, redirectUrl };
  const compare = await compareBuilds(compareCtx, builds);

  const finalKmsPid = kms.pid;
  await cleanup();
  const ours = [finalKmsPid, ...oidc.pids, ...(keyring?.pids ?? [])];
  const leftovers = ours.filter((p) => p && alive(p));
  if (leftovers.length) say(`warning: still running after cleanup: ${leftovers.join(', ')}`);

  const results = {
    machine,
    parameters: P,
    store,
    kmsStore,
    cpuUse,
    idle,
    floor,
    ceiling,
    throughput,
    busy,
    modes: throughputModes(P),
    cli,
    tokenFiles,
    stormRuns,
    memory,
    targets,
    met,
    profiles,
    syscalls,
    cold,
    wallS: run.wallSeconds(),
    entries: entryNames(CURRENT),
    ...(compare ? { compare } : {}),
  };
  writeFileSync(join(BENCH, 'results.json'), JSON.stringify(results, null, 2) + '\n');
  writeReport(results, BENCH);
  const written = 'bench/RESULTS.md, bench/tokens-per-second.svg, bench/results.json';
  say(`done in ${results.wallS.toFixed(0)} s: ${written}`);
}

const early = (msg) => process.stderr.write(`[bench] ${msg}\n`);
// Built before the run's clock starts: the first build of a baseline takes a minute or two.
const baseline = BASELINE ? await prepareBaseline(BASELINE, early) : null;
const run = benchRun({ budgetMs: P.budgetMs });
try {
  await bench(run, baseline);
} catch (err) {
  run.say(`failed: ${err?.stack ?? err}`);
  await run.cleanup();
  process.exit(1);
}
