#!/usr/bin/env node
// The token a shell script gets cheapest (README "Token files"): reading the token file the agent
// keeps (`token_file = true`) against running `kms-agent token`, `kms-agent kubectl-credential` and
// oidc-agent's `oidc-token`, each as a small sh script that stores the token in a variable, timed by
// hyperfine in alternating rounds. bench/run.mjs runs tokenFilesPhase() with its provider and
// oidc-agent; run alone (`npm run build && node bench/tokenFiles.mjs`) this file starts its own,
// adds its result to bench/results.json and rewrites bench/RESULTS.md from it.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { CLI, ROOT, freePort, oidcAgentClientMetadata, setupKms, setupOidcAgent } from './lib/agents.mjs';
import { median, ratio } from './lib/stats.mjs';

const run = promisify(execFile);
const q = (text) => `'${String(text).replaceAll("'", `'\\''`)}'`;

/** Each script gets one token into a variable and fails if it is empty, as a real script would. */
function scripts({ tokenFile, oidcAccount }) {
  const node = `${q(process.execPath)} ${q(CLI)}`;
  return [
    { key: 'empty', label: 'an empty sh script (the floor)', body: ':' },
    // The file holds the token without a newline: `read` then returns 1 but has set the variable.
    { key: 'file', label: 'read the token file (`read -r token < FILE`)', body: `IFS= read -r token < ${q(tokenFile)}; [ -n "$token" ]` },
    { key: 'cat', label: '`token=$(cat FILE)`', body: `token=$(cat ${q(tokenFile)}) && [ -n "$token" ]` },
    { key: 'oidc', label: '`token=$(oidc-token bench)`', body: `token=$(oidc-token ${q(oidcAccount)}) && [ -n "$token" ]` },
    { key: 'kms', label: '`token=$(kms-agent token)`', body: `token=$(${node} token) && [ -n "$token" ]` },
    { key: 'kubectl', label: '`kms-agent kubectl-credential` (what kubectl runs per command)', body: `credential=$(${node} kubectl-credential) && [ -n "$credential" ]` },
  ];
}

/**
 * Times the scripts with hyperfine (`sh SCRIPT`, no shell around it): `rounds` rounds, order reversed
 * every other round, times pooled, so a drift in the machine's speed touches every script alike.
 */
export async function measureTokenFiles({ dir, env, tokenFile, oidcAccount, runs = 60, rounds = 3, warmup = 5 }) {
  const list = scripts({ tokenFile, oidcAccount });
  for (const s of list) {
    s.path = join(dir, `token-${s.key}.sh`);
    writeFileSync(s.path, `${s.body}\n`, { mode: 0o700 });
  }
  const times = Object.fromEntries(list.map((s) => [s.key, []]));
  const loadBefore = loadavg()[0];
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 ? [...list].reverse() : list;
    const out = join(dir, `token-files-${round}.json`);
    const args = ['--shell=none', '--warmup', String(warmup), '--runs', String(Math.ceil(runs / rounds)), '--export-json', out, '--style', 'none'];
    await run('hyperfine', [...args, ...order.flatMap((s) => ['--command-name', s.key, `sh ${s.path}`])], { env, timeout: 300_000 });
    for (const result of JSON.parse(readFileSync(out, 'utf8')).results) times[result.command].push(...result.times.map((t) => t * 1000));
  }
  const commands = Object.fromEntries(list.map((s) => [s.key, { label: s.label, medianMs: median(times[s.key]), runs: times[s.key].length }]));
  // What getting the token adds to a script: its time less the empty script's.
  const cost = (key) => commands[key].medianMs - commands.empty.medianMs;
  return {
    date: new Date().toISOString(),
    loadAverage: [loadBefore, loadavg()[0]],
    commands,
    ratios: {
      fileVsOidc: ratio(commands.file.medianMs, commands.oidc.medianMs),
      fileVsKms: ratio(commands.file.medianMs, commands.kms.medianMs),
      kmsVsOidc: ratio(commands.kms.medianMs, commands.oidc.medianMs),
      kubectlVsKms: ratio(commands.kubectl.medianMs, commands.kms.medianMs),
      oidcCostVsFile: ratio(cost('oidc'), cost('file')),
      kmsCostVsFile: ratio(cost('kms'), cost('file')),
    },
  };
}

/** Where the agent keeps a profile's token file: next to its socket (README "Token files"). */
export const tokenFileOf = (kms, profile) => join(kms.env.XDG_RUNTIME_DIR, 'kms-agent', 'tokens', profile);

const fixed = (v, digits) => (Number.isFinite(v) ? v.toFixed(digits) : 'n/a');

/** The section of bench/RESULTS.md (bench/lib/report.mjs calls it with its line and table writers). */
export function tokenFilesMarkdown(T, line, table) {
  const C = T.commands;
  line('## Token files: the cheapest token for a script');
  line();
  line(
    `Measured ${T.date.slice(0, 10)} by bench/tokenFiles.mjs (load average ${T.loadAverage.map((l) => fixed(l, 2)).join(' → ')}): each row is a small \`sh\` script that gets one token ` +
      'into a variable and checks it is not empty, run by `hyperfine --shell=none` in alternating rounds, against a kms-agent of its own whose profile has `token_file = true` and an oidc-agent, on the same provider. ' +
      'Reading the file starts no process at all: the shell builtin `read` opens it.',
  );
  line();
  const row = (key) => [C[key].label, `${fixed(C[key].medianMs, 2)} ms`, `${fixed(C[key].medianMs - C.empty.medianMs, 2)} ms`, String(C[key].runs)];
  table(['script', 'median', 'above the empty script', 'runs'], ['empty', 'file', 'cat', 'oidc', 'kms', 'kubectl'].map(row));
  const R = T.ratios;
  line(
    `A script reading the token file takes ${fixed(R.fileVsOidc, 2)}× the time of one running \`oidc-token\` and ${fixed(R.fileVsKms, 3)}× the time of one running \`kms-agent token\` ` +
      `(\`kms-agent token\` is ${fixed(R.kmsVsOidc, 1)}× \`oidc-token\`). Counting only what getting the token adds to the script, \`oidc-token\` costs ` +
      `${fixed(R.oidcCostVsFile, 1)}× and \`kms-agent token\` ${fixed(R.kmsCostVsFile, 0)}× the file's read. \`kms-agent kubectl-credential\` takes ${fixed(R.kubectlVsKms, 2)}× \`kms-agent token\`: the same fast path.`,
  );
  line();
}

/**
 * The phase, with a kms-agent of its own (its profile keeps a token file; the run's other agents
 * stay as they are) on `issuer`, and the run's oidc-agent with its account `bench`.
 */
export async function tokenFilesPhase({ dir, issuer, redirectUrl, oidcSocket, runs, rounds, warmup }) {
  const base = join(dir, 'token-files');
  mkdirSync(base);
  const kms = await setupKms({ dir: base, store: 'memory', profiles: [{ name: 'main', issuer, redirectUrl, tokenFile: true }] });
  try {
    await kms.start();
    await kms.login('main');
    const env = { ...kms.env, OIDC_SOCK: oidcSocket, KMS_AGENT_SOCK: kms.socket };
    return await measureTokenFiles({ dir: base, env, tokenFile: tokenFileOf(kms, 'main'), oidcAccount: 'bench', runs, rounds, warmup });
  } finally {
    await kms.stop();
  }
}

/** Alone: a provider and an oidc-agent of its own, then the phase; the result goes into results.json and RESULTS.md. */
async function standalone() {
  const { startLocalProvider } = await import('../dist/demo/localProvider.js');
  const { writeReport } = await import('./lib/report.mjs');
  const dir = mkdtempSync(join(tmpdir(), 'kms-bench-files-'));
  const stops = [];
  try {
    const redirectUrl = `http://localhost:${await freePort()}/authorization`;
    const provider = await startLocalProvider({ redirectUris: [redirectUrl], clients: [oidcAgentClientMetadata()], accessTokenTtl: 3600 });
    stops.push(() => provider.close());
    const oidc = await setupOidcAgent({ dir });
    stops.push(() => oidc.stop());
    await oidc.start();
    await oidc.enroll('bench', provider.issuer);
    const result = await tokenFilesPhase({ dir, issuer: provider.issuer, redirectUrl, oidcSocket: oidc.socket });
    const resultsPath = join(ROOT, 'bench', 'results.json');
    const results = JSON.parse(readFileSync(resultsPath, 'utf8'));
    results.tokenFiles = result;
    writeFileSync(resultsPath, JSON.stringify(results, null, 2) + '\n');
    writeReport(results, join(ROOT, 'bench'));
    process.stderr.write(`token files: ${JSON.stringify(result.ratios)}\nbench/results.json and bench/RESULTS.md updated\n`);
  } finally {
    for (const stop of stops.reverse()) await stop().catch((err) => process.stderr.write(`cleanup: ${err.message}\n`));
    rmSync(dir, { recursive: true, force: true });
  }
}

// Not awaited at the top: bench/lib/report.mjs imports this module, which must finish loading first.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  standalone().catch((err) => {
    process.stderr.write(`bench/tokenFiles.mjs failed: ${err?.stack ?? err}\n`);
    process.exitCode = 1;
  });
}
