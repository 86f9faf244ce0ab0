// The idle daemon of each build: restarted with `kms-agent start`, 200 token.get on one
// connection each at the same moment (the first refreshes from the store, as after any restart),
// then nothing; RSS, PSS and threads read after the idle window.
import { ask, TOKEN_LINE } from '../lib/agentRpc.mjs';
import { footprint } from '../lib/footprint.mjs';
import { sleep } from '../lib/processControl.mjs';
import { noWorse, pick } from './rowLines.mjs';

export const idleRss = {
  key: 'idleRss',
  title: 'idle daemon',
  async measure(subjects, { C, say }) {
    for (const s of subjects) {
      await s.kms.stop();
      await s.kms.start();
    }
    await Promise.all(subjects.map((s) => ask(s.kms.socket, Array(200).fill(TOKEN_LINE))));
    say(`compare: idle for ${C.idleMs / 1000} s`);
    await sleep(C.idleMs);
    const figures = (s) => {
      const { rssMiB, pssMiB, threads } = footprint(s.kms.pid);
      return [s.name, { rssMiB, pssMiB, threads }];
    };
    return { idleMs: C.idleMs, ...Object.fromEntries(subjects.map(figures)) };
  },
  lines: ({ idleMs, ...data }) => [
    {
      what: `idle daemon RSS (200 tokens served, then ${idleMs / 1000} s idle)`,
      unit: 'MiB',
      digits: 2,
      better: 'lower',
      values: pick(data, 'rssMiB'),
      goal: noWorse('no higher (issue 21)'),
    },
    {
      what: 'idle daemon threads',
      unit: '',
      digits: 0,
      better: 'lower',
      values: pick(data, 'threads'),
    },
  ],
};
