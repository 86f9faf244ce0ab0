#!/usr/bin/env node
// Only the idle-floor part of the bench (issue 15), printed as Markdown on stdout: a quick re-run
// (about a minute) after a change to the daemon's memory, threads or start-up. `npm run bench`
// runs the same measurement and writes it into bench/RESULTS.md. Build first (`npm run build`).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalProvider } from '../dist/demo/localProvider.js';
import { freePort, startPrivateKeyring } from './lib/agents.mjs';
import { measureFloor } from './lib/idleFloor.mjs';
import { floorSection, markdownText } from './lib/reportFloor.mjs';

const say = (msg) => process.stderr.write(`[floor] ${msg}\n`);
const dir = mkdtempSync(join(tmpdir(), 'kms-floor-'));
const cleanups = [];
try {
  const redirectUrl = `http://localhost:${await freePort()}/authorization`;
  const provider = await startLocalProvider({ redirectUris: [redirectUrl], accessTokenTtl: 3600 });
  cleanups.push(() => provider.close());
  const keyring = await startPrivateKeyring(dir).catch(() => null);
  if (keyring) cleanups.push(() => keyring.stop());
  const floor = await measureFloor({ dir, provider, redirectUrl, keyring, idleMs: 10_000, startupRounds: Number(process.env.FLOOR_ROUNDS ?? 5), say, cleanups });
  const { line, table, text } = markdownText();
  floorSection({ floor }, line, table);
  process.stdout.write(text() + '\n');
  if (process.env.FLOOR_JSON) process.stdout.write(JSON.stringify(floor) + '\n');
} finally {
  for (const fn of cleanups.reverse()) await Promise.resolve().then(fn).catch((err) => say(`cleanup: ${err.message}`));
  rmSync(dir, { recursive: true, force: true });
}
