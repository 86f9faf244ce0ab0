#!/usr/bin/env node
// The token-file section of the bench alone (bench/phases/tokenFiles.mjs), with a provider and an
// oidc-agent of its own: `npm run build && node bench/tokenFiles.mjs`. Its result replaces the
// one in bench/results.json, and bench/RESULTS.md is written again from that file.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchRun } from './lib/benchRun.mjs';
import { freePort, ROOT, startLocalProvider } from './lib/buildEntries.mjs';
import { oidcAgentClientMetadata, setupOidcAgent } from './lib/oidcAgentSandbox.mjs';
import { tokenFilesPhase } from './phases/tokenFiles.mjs';
import { writeReport } from './report/writeReport.mjs';

const BENCH = join(ROOT, 'bench');
const run = benchRun({ name: 'token files' });
const dir = mkdtempSync(join(tmpdir(), 'kms-bench-files-'));
run.cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
try {
  const redirectUrl = `http://localhost:${await freePort()}/authorization`;
  const provider = await startLocalProvider({
    redirectUris: [redirectUrl],
    clients: [oidcAgentClientMetadata()],
    accessTokenTtl: 3600,
  });
  run.cleanups.push(() => provider.close());
  const oidc = await setupOidcAgent({ dir });
  run.cleanups.push(() => oidc.stop());
  await oidc.start();
  await oidc.enroll('bench', provider.issuer);
  const issuer = provider.issuer;
  const result = await tokenFilesPhase({ dir, issuer, redirectUrl, oidcSocket: oidc.socket });
  const resultsPath = join(BENCH, 'results.json');
  const results = JSON.parse(readFileSync(resultsPath, 'utf8'));
  results.tokenFiles = result;
  writeFileSync(resultsPath, JSON.stringify(results, null, 2) + '\n');
  writeReport(results, BENCH);
  run.say(`${JSON.stringify(result.ratios)}; bench/results.json and bench/RESULTS.md updated`);
} catch (err) {
  run.say(`failed: ${err?.stack ?? err}`);
  process.exitCode = 1;
} finally {
  await run.cleanup();
}
