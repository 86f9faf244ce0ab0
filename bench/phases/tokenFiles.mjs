// The token a shell script gets cheapest (README "Token files"): reading the token file the agent
// keeps (`token_file = true`) against running `kms-agent token`, `kms-agent kubectl-credential`
// and oidc-agent's `oidc-token`, each as a small sh script that stores the token in a variable,
// timed by hyperfine in alternating rounds. bench/tokenFiles.mjs runs this phase alone.
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { hyperfine, inRoundOrder, pooledTimes } from '../lib/hyperfine.mjs';
import { setupKms } from '../lib/kmsSandbox.mjs';
import { median, ratio } from '../lib/stats.mjs';

const q = (text) => `'${String(text).replaceAll("'", `'\\''`)}'`;

/** Each script gets one token into a variable and fails if it is empty, as a real script would. */
function scripts({ cli, tokenFile, oidcAccount }) {
  const node = `${q(process.execPath)} ${q(cli)}`;
  const file = q(tokenFile);
  return [
    { key: 'empty', label: 'an empty sh script (the floor)', body: ':' },
    // The file holds the token without a newline: `read` returns 1 but has set the variable.
    {
      key: 'file',
      label: 'read the token file (`read -r token < FILE`)',
      body: `IFS= read -r token < ${file}; [ -n "$token" ]`,
    },
    { key: 'cat', label: '`token=$(cat FILE)`', body: `token=$(cat ${file}) && [ -n "$token" ]` },
    {
      key: 'oidc',
      label: '`token=$(oidc-token bench)`',
      body: `token=$(oidc-token ${q(oidcAccount)}) && [ -n "$token" ]`,
    },
    {
      key: 'kms',
      label: '`token=$(kms-agent token)`',
      body: `token=$(${node} token) && [ -n "$token" ]`,
    },
    {
      key: 'kubectl',
      label: '`kms-agent kubectl-credential` (what kubectl runs per command)',
      body: `credential=$(${node} kubectl-credential) && [ -n "$credential" ]`,
    },
  ];
}

/** The ratios the report quotes, from the medians. */
function ratiosOf(commands) {
  // What getting the token adds to a script: its time less the empty script's.
  const cost = (key) => commands[key].medianMs - commands.empty.medianMs;
  const m = (key) => commands[key].medianMs;
  return {
    fileVsOidc: ratio(m('file'), m('oidc')),
    fileVsKms: ratio(m('file'), m('kms')),
    kmsVsOidc: ratio(m('kms'), m('oidc')),
    kubectlVsKms: ratio(m('kubectl'), m('kms')),
    oidcCostVsFile: ratio(cost('oidc'), cost('file')),
    kmsCostVsFile: ratio(cost('kms'), cost('file')),
  };
}

/** Times the scripts with hyperfine (`sh SCRIPT`, no shell around it) in alternating rounds. */
export async function measureTokenFiles(options) {
  const { dir, env, cli, tokenFile, oidcAccount, runs = 60, rounds = 3, warmup = 5 } = options;
  const list = scripts({ cli, tokenFile, oidcAccount });
  for (const s of list) {
    s.path = join(dir, `token-${s.key}.sh`);
    writeFileSync(s.path, `${s.body}\n`, { mode: 0o700 });
  }
  const loadBefore = loadavg()[0];
  const documents = [];
  for (let round = 0; round < rounds; round++) {
    const commands = inRoundOrder(list, round).map((s) => ({ name: s.key, cmd: `sh ${s.path}` }));
    const file = join(dir, `token-files-${round}.json`);
    const perRound = Math.ceil(runs / rounds);
    documents.push(await hyperfine({ commands, runs: perRound, warmup, env, file }));
  }
  const summary = (s) => {
    const times = pooledTimes(documents, s.key);
    return [s.key, { label: s.label, medianMs: median(times), runs: times.length }];
  };
  const commands = Object.fromEntries(list.map(summary));
  return {
    date: new Date().toISOString(),
    loadAverage: [loadBefore, loadavg()[0]],
    commands,
    ratios: ratiosOf(commands),
  };
}

/** Where the agent keeps a profile's token file: next to its socket (README "Token files"). */
export const tokenFileOf = (kms, profile) =>
  join(kms.env.XDG_RUNTIME_DIR, 'kms-agent', 'tokens', profile);

/**
 * The phase, with a kms-agent of its own (its profile keeps a token file; the run's other agents
 * stay as they are) on `issuer`, and the run's oidc-agent with its account `bench`.
 */
export async function tokenFilesPhase(options) {
  const { dir, issuer, redirectUrl, oidcSocket, runs, rounds, warmup } = options;
  const base = join(dir, 'token-files');
  mkdirSync(base);
  const profiles = [{ name: 'main', issuer, redirectUrl, tokenFile: true }];
  const kms = await setupKms({ dir: base, store: 'memory', profiles });
  try {
    await kms.start();
    await kms.login('main');
    const env = { ...kms.env, OIDC_SOCK: oidcSocket, KMS_AGENT_SOCK: kms.socket };
    const tokenFile = tokenFileOf(kms, 'main');
    const cli = kms.build.cli;
    const spec = { dir: base, env, cli, tokenFile, oidcAccount: 'bench', runs, rounds, warmup };
    return await measureTokenFiles(spec);
  } finally {
    await kms.stop();
  }
}
