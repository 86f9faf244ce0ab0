// One token per process: `kms-agent token` against Node's own start, oidc-agent's C client and
// the probes that split the client's cost (bench/probes/), timed by hyperfine in alternating
// rounds. Writes every round's hyperfine document to bench/hyperfine.json.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../lib/buildEntries.mjs';
import { run } from '../lib/childCommands.mjs';
import { startAccounting } from '../lib/cpuAccounting.mjs';
import { hyperfine, inRoundOrder, pooledTimes } from '../lib/hyperfine.mjs';
import { median } from '../lib/stats.mjs';

const probe = (name) => join(ROOT, 'bench', 'probes', name);
const node = process.execPath;

/** The environment the CLIs run in: the run's kms-agent and oidc-agent. */
export const cliEnvOf = ({ kms, oidc }) => ({
  ...kms.env,
  OIDC_SOCK: oidc.socket,
  KMS_AGENT_SOCK: kms.socket,
});

function commandsOf(build) {
  const commands = [
    { key: 'node', label: "node -e ''", cmd: `${node} -e ''` },
    { key: 'kms', label: 'kms-agent token', cmd: `${node} ${build.cli} token` },
    { key: 'oidc', label: 'oidc-token bench', cmd: 'oidc-token bench' },
    {
      key: 'net',
      label: 'probe: load node:net, nothing else',
      cmd: `${node} ${probe('net-only.cjs')}`,
    },
    ...(build.fastPathBundle
      ? [
          {
            key: 'imports',
            label: "probe: load the token path's modules (node:net and ours), no request",
            cmd: `${node} ${probe('import-client.cjs')} ${build.fastPathBundle}`,
          },
        ]
      : []),
    {
      key: 'raw',
      label: 'probe: CommonJS, node:net only, one token.get',
      cmd: `${node} ${probe('raw-token.cjs')}`,
    },
  ];
  // This machine may set NODE_EXTRA_CA_CERTS for every process; Node then reads and parses that
  // bundle at start-up. The commands above run without it (Node's own start); with it, both.
  const extraCa = process.env.NODE_EXTRA_CA_CERTS;
  if (extraCa) {
    const withCa = `env NODE_EXTRA_CA_CERTS=${extraCa} ${node}`;
    commands.push(
      {
        key: 'nodeCa',
        label: "node -e '' (with this machine's NODE_EXTRA_CA_CERTS)",
        cmd: `${withCa} -e ''`,
      },
      {
        key: 'kmsCa',
        label: "kms-agent token (with this machine's NODE_EXTRA_CA_CERTS)",
        cmd: `${withCa} ${build.cli} token`,
      },
    );
  }
  return commands;
}

/** Median, mean ± σ, extremes and CPU of one command over every round. */
function statistics(command, rounds) {
  const per = rounds.map((r) => r.results.find((x) => x.command === command.label));
  const times = pooledTimes(rounds, command.label);
  const mean = times.reduce((a, b) => a + b, 0) / times.length;
  const avg = (k) => (per.reduce((a, r) => a + r[k], 0) / per.length) * 1000;
  const variance = times.reduce((a, t) => a + (t - mean) ** 2, 0) / (times.length - 1);
  return {
    label: command.label,
    medianMs: median(times),
    meanMs: mean,
    stddevMs: Math.sqrt(variance),
    minMs: Math.min(...times),
    maxMs: Math.max(...times),
    userMs: avg('user'),
    systemMs: avg('system'),
    runs: times.length,
  };
}

export async function measureCliWallTime(ctx) {
  const { P, dir, say, quiet, kms, benchDir } = ctx;
  say('CLI: hyperfine');
  const env = cliEnvOf(ctx);
  const commands = commandsOf(kms.build);
  const accounting = startAccounting(quiet.ourPids());
  // Sanity: each command that should print a token does.
  for (const c of commands.filter((c) => ['kms', 'oidc', 'raw', 'kmsCa'].includes(c.key))) {
    const [file, ...args] = c.cmd.split(' ');
    const { stdout } = await run(file, args, { env });
    if (stdout.trim().length < 20) throw new Error(`${c.label} printed no token`);
  }
  const rounds = [];
  const runs = Math.ceil(P.hyperfineRuns / P.hyperfineRounds);
  for (let round = 0; round < P.hyperfineRounds; round++) {
    const label = `hyperfine round ${round + 1}`;
    await quiet.waitQuiet(label);
    const order = inRoundOrder(commands, round).map((c) => ({ name: c.label, cmd: c.cmd }));
    const file = join(dir, `hyperfine-${round}.json`);
    const spec = { commands: order, runs, warmup: P.hyperfineWarmup, env, file };
    rounds.push(await quiet.undisturbed(label, () => hyperfine(spec)));
  }
  const note =
    'hyperfine --export-json of each round (bench/phases/cliWallTime.mjs pools the times)';
  writeFileSync(join(benchDir, 'hyperfine.json'), JSON.stringify({ note, rounds }, null, 2) + '\n');
  const cli = Object.fromEntries(commands.map((c) => [c.key, statistics(c, rounds)]));
  const cliKept = Math.max(...rounds.map((r) => r.otherPct));
  return { cli, cliKept, cpuUse: accounting.stop() };
}
