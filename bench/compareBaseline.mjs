#!/usr/bin/env node
// Only the comparison of builds (bench/compare/): this checkout's build against a build of
// BENCH_BASELINE (a git revision; unset or 1: 3efa9f9), interleaved on this machine, with a
// provider and an oidc-agent of its own. Prints the table as Markdown on stdout, and its data as
// JSON too with COMPARE_JSON=1; writes nothing in the repository. Build first (`npm run build`).
// BENCH_QUICK=1 shortens it. `npm run bench` with BENCH_BASELINE set runs the same rows.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compareBuilds } from './compare/compareBuilds.mjs';
import { baselineRevision, DEFAULT_BASELINE, prepareBaseline } from './lib/baselineBuild.mjs';
import { benchRun } from './lib/benchRun.mjs';
import { CURRENT, freePort, startLocalProvider } from './lib/buildEntries.mjs';
import { loadTools } from './lib/loadTools.mjs';
import { commitOf } from './lib/machineInfo.mjs';
import { oidcAgentClientMetadata, setupOidcAgent } from './lib/oidcAgentSandbox.mjs';
import { COMPARE_PARAMETERS, PARAMETERS } from './lib/parameters.mjs';
import { quietGate } from './lib/quietMachine.mjs';
import { ensureTools } from './lib/requiredTools.mjs';
import { compareSection } from './report/compareSection.mjs';
import { markdownText } from './report/markdown.mjs';

const early = (msg) => process.stderr.write(`[compare] ${msg}\n`);
const revision = baselineRevision(process.env.BENCH_BASELINE ?? '1') ?? DEFAULT_BASELINE;
const baseline = await prepareBaseline(revision, early);
const run = benchRun({ name: 'compare', budgetMs: COMPARE_PARAMETERS.budgetMs });
const { say, cleanups, cleanup } = run;
const dir = mkdtempSync(join(tmpdir(), 'kms-compare-'));
cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
try {
  await ensureTools(say);
  const tools = await loadTools(dir);
  const redirectUrl = `http://localhost:${await freePort()}/authorization`;
  const provider = await startLocalProvider({
    redirectUris: [redirectUrl],
    clients: [oidcAgentClientMetadata()],
    accessTokenTtl: 3600,
  });
  cleanups.push(() => provider.close());
  const oidc = await setupOidcAgent({ dir });
  cleanups.push(() => oidc.stop());
  await oidc.start();
  await oidc.enroll('bench', provider.issuer);
  const quiet = quietGate(say);
  quiet.setOurPids(() => oidc.pids);
  const ctx = { P: PARAMETERS, C: COMPARE_PARAMETERS, dir, say, quiet, tools, oidc, cleanups };
  const builds = [{ ...CURRENT, commit: await commitOf() }, baseline];
  const compare = await compareBuilds({ ...ctx, provider, redirectUrl }, builds);
  const { line, table, text } = markdownText();
  compareSection({ compare }, line, table);
  process.stdout.write(text() + '\n');
  if (process.env.COMPARE_JSON === '1') process.stdout.write(JSON.stringify(compare) + '\n');
  say(`done in ${run.wallSeconds().toFixed(0)} s`);
} catch (err) {
  say(`failed: ${err?.stack ?? err}`);
  process.exitCode = 1;
} finally {
  await cleanup();
}
