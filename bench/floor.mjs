#!/usr/bin/env node
// Only the idle-floor part of the bench (issue 15), printed as Markdown on stdout: a quick re-run
// (about a minute) after a change to the daemon's memory, threads or start-up. `npm run bench`
// runs the same measurement and writes it into bench/RESULTS.md. Build first (`npm run build`).
// FLOOR_ROUNDS sets the start-up rounds (5); FLOOR_JSON=1 also prints the figures as JSON.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchRun } from './lib/benchRun.mjs';
import { freePort, startLocalProvider } from './lib/buildEntries.mjs';
import { startPrivateKeyring } from './lib/privateKeyring.mjs';
import { measureFloor } from './phases/idleFloor.mjs';
import { floorSection } from './report/floorSection.mjs';
import { markdownText } from './report/markdown.mjs';

const { say, cleanups, cleanup } = benchRun({ name: 'floor' });
const dir = mkdtempSync(join(tmpdir(), 'kms-floor-'));
cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
try {
  const redirectUrl = `http://localhost:${await freePort()}/authorization`;
  const provider = await startLocalProvider({ redirectUris: [redirectUrl], accessTokenTtl: 3600 });
  cleanups.push(() => provider.close());
  const keyring = await startPrivateKeyring(dir).catch(() => null);
  if (keyring) cleanups.push(() => keyring.stop());
  const startupRounds = Number(process.env.FLOOR_ROUNDS ?? 5);
  const options = { dir, provider, redirectUrl, keyring, say, cleanups };
  const floor = await measureFloor({ ...options, idleMs: 10_000, startupRounds });
  const { line, table, text } = markdownText();
  floorSection({ floor }, line, table);
  process.stdout.write(text() + '\n');
  if (process.env.FLOOR_JSON) process.stdout.write(JSON.stringify(floor) + '\n');
} catch (err) {
  say(`failed: ${err?.stack ?? err}`);
  process.exitCode = 1;
} finally {
  await cleanup();
}
