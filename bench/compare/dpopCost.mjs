// `kms-agent token --dpop METHOD URL` against `kms-agent token`, one process per token, against
// one agent of the current build (a DPoP login and a plain one): what the proof costs a call. The
// proof is one ES256 signature in the daemon (about 0.1 ms), so the goal is at most 1.1×.
import { join } from 'node:path';
import { run } from '../lib/childCommands.mjs';
import { hyperfine, inRoundOrder, pooledTimes } from '../lib/hyperfine.mjs';
import { median, ratio } from '../lib/stats.mjs';
import { startGrantsAgent } from './grantsAgent.mjs';
import { atMost, timeLine } from './rowLines.mjs';

const URL_ = 'https://kms.example.com/kmip/2_1';
const envOf = (kms) => ({ ...kms.env, KMS_AGENT_SOCK: kms.socket });

export const dpopCost = {
  key: 'dpopCost',
  title: '`token --dpop METHOD URL` against `token` (issue 23), current build',
  async measure(subjects, { P, C, dir, quiet, cleanups }) {
    const current = subjects[0];
    const agent = await startGrantsAgent({ dir, cleanups }, current.build, 'dpop');
    try {
      const cli = current.build.cli;
      const dpopArgs = ['token', '--profile', 'dpop', '--dpop', 'GET', URL_];
      const commands = [
        { name: 'token', cmd: `${process.execPath} ${cli} token --profile main` },
        { name: 'dpop', cmd: [process.execPath, cli, ...dpopArgs].join(' ') },
      ];
      const env = envOf(agent.kms);
      const { stdout } = await run(process.execPath, [cli, ...dpopArgs], { env });
      if (!stdout.startsWith('Authorization: DPoP ')) throw new Error('token --dpop: no proof');
      const documents = [];
      const runs = Math.ceil(P.hyperfineRuns / C.reps);
      for (let round = 0; round < C.reps; round++) {
        await quiet.waitQuiet('compare: token --dpop');
        const file = join(dir, `compare-dpop-${round}.json`);
        const spec = { commands: inRoundOrder(commands, round), runs, warmup: P.hyperfineWarmup };
        const measure = () => hyperfine({ ...spec, env, file });
        documents.push(await quiet.undisturbed('compare: token --dpop', measure));
      }
      const tokenMs = median(pooledTimes(documents, 'token'));
      const dpopMs = median(pooledTimes(documents, 'dpop'));
      return { current: { tokenMs, dpopMs, dpopVsToken: ratio(dpopMs, tokenMs) } };
    } finally {
      await agent.stop();
    }
  },
  lines: ({ current }) => [
    timeLine('`kms-agent token` (a login profile)', { current: current.tokenMs }),
    timeLine('`kms-agent token --dpop GET URL` (a DPoP profile)', { current: current.dpopMs }),
    {
      what: '`token --dpop` ÷ `token`',
      unit: '×',
      digits: 3,
      better: 'lower',
      values: { current: current.dpopVsToken },
      goal: atMost(1.1, '≤ 1.1× (issue 23)'),
    },
  ],
};
