// `kms-agent token` of each build, one process per token against that build's own daemon, and
// the minimal one-file client (bench/probes/raw-token.cjs) against the same daemon: hyperfine
// rounds, builds and commands in alternating order.
import { join } from 'node:path';
import { ROOT } from '../lib/buildEntries.mjs';
import { run } from '../lib/childCommands.mjs';
import { hyperfine, inRoundOrder, pooledTimes } from '../lib/hyperfine.mjs';
import { median, ratio } from '../lib/stats.mjs';
import { atMost, pick, timeLine } from './rowLines.mjs';

const RAW = join(ROOT, 'bench', 'probes', 'raw-token.cjs');

const envOf = (s) => ({ ...s.kms.env, KMS_AGENT_SOCK: s.kms.socket });
const commandsOf = (s) => [
  { name: 'raw', cmd: `${process.execPath} ${RAW}` },
  { name: 'token', cmd: `${process.execPath} ${s.build.cli} token` },
];

function figures(documents, runs) {
  const tokenMs = median(pooledTimes(documents, 'token'));
  const rawMs = median(pooledTimes(documents, 'raw'));
  return { tokenMs, rawMs, tokenVsRaw: ratio(tokenMs, rawMs), runs };
}

export const tokenWallTime = {
  key: 'tokenWallTime',
  title: '`kms-agent token` and the minimal client, one process per token',
  async measure(subjects, { P, C, dir, quiet }) {
    for (const s of subjects) {
      const { stdout } = await run(process.execPath, [s.build.cli, 'token'], { env: envOf(s) });
      if (stdout.trim().length < 20) throw new Error(`${s.name}: kms-agent token printed no token`);
    }
    const documents = Object.fromEntries(subjects.map((s) => [s.name, []]));
    const runs = Math.ceil(P.hyperfineRuns / C.reps);
    for (let round = 0; round < C.reps; round++) {
      for (const s of inRoundOrder(subjects, round)) {
        const label = `compare: token, ${s.name}`;
        await quiet.waitQuiet(label);
        const commands = inRoundOrder(commandsOf(s), round);
        const file = join(dir, `compare-token-${s.name}-${round}.json`);
        const spec = { commands, runs, warmup: P.hyperfineWarmup, env: envOf(s), file };
        documents[s.name].push(await quiet.undisturbed(label, () => hyperfine(spec)));
      }
    }
    const each = ([name, docs]) => [name, figures(docs, docs.length * runs)];
    return Object.fromEntries(Object.entries(documents).map(each));
  },
  lines: (data) => [
    timeLine('`kms-agent token` wall time', pick(data, 'tokenMs')),
    timeLine('the minimal client (bench/probes/raw-token.cjs), same daemon', pick(data, 'rawMs')),
    {
      what: '`kms-agent token` ÷ the minimal client',
      unit: '×',
      digits: 3,
      better: 'lower',
      values: pick(data, 'tokenVsRaw'),
      goal: atMost(1.05, '≤ 1.05× (issues 19, 21, 22)'),
    },
  ],
};
