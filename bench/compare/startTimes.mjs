// Start-up of each build, rounds in alternating build order: the daemon alone as the launcher
// starts it (spawn until agent.status answers), `kms-agent start` from nothing (until agent.status
// answers), and `kms-agent start` again while that agent runs (until the command returns).
import { join } from 'node:path';
import { ask, STATUS_LINE } from '../lib/agentRpc.mjs';
import { RECOMMENDED, startDaemon, stopDaemon } from '../lib/daemonProcess.mjs';
import { inRoundOrder } from '../lib/hyperfine.mjs';
import { median } from '../lib/stats.mjs';
import { noWorse, pick, timeLine } from './rowLines.mjs';

async function oneRound(s, dir, times) {
  let t = performance.now();
  const logFile = join(dir, `compare-start-${s.name}.log`);
  const daemon = await startDaemon(s.kms, { ...RECOMMENDED, logFile });
  await ask(s.kms.socket, [STATUS_LINE]);
  times.daemonMs.push(performance.now() - t);
  await stopDaemon(daemon.pid);

  t = performance.now();
  await s.kms.start();
  await ask(s.kms.socket, [STATUS_LINE]);
  times.startColdMs.push(performance.now() - t);

  t = performance.now();
  const again = await s.kms.cli(['start']);
  if (again.code !== 0) throw new Error(`${s.name}: kms-agent start with an agent running failed`);
  times.startWarmMs.push(performance.now() - t);
  await s.kms.stop();
}

export const startTimes = {
  key: 'startTimes',
  title: 'daemon start, `kms-agent start` from nothing and with an agent running',
  async measure(subjects, { C, dir, quiet }) {
    const times = {};
    for (const s of subjects) {
      times[s.name] = { daemonMs: [], startColdMs: [], startWarmMs: [] };
      await s.kms.stop();
    }
    try {
      for (let round = 0; round < C.startRounds; round++) {
        await quiet.waitQuiet('compare: start-up');
        for (const s of inRoundOrder(subjects, round)) await oneRound(s, dir, times[s.name]);
      }
    } finally {
      for (const s of subjects) await s.kms.start();
    }
    const medians = (t) => Object.fromEntries(Object.entries(t).map(([k, v]) => [k, median(v)]));
    const each = ([name, t]) => [name, { ...medians(t), runs: t }];
    return Object.fromEntries(Object.entries(times).map(each));
  },
  lines: (data) => [
    timeLine(
      'daemon start until agent.status answers (launcher flags, no CLI)',
      pick(data, 'daemonMs'),
      noWorse('no slower (issue 21)'),
    ),
    timeLine(
      '`kms-agent start` from nothing, until agent.status answers',
      pick(data, 'startColdMs'),
      noWorse('no slower (issue 21)'),
    ),
    timeLine(
      '`kms-agent start` with the agent running',
      pick(data, 'startWarmMs'),
      noWorse('no slower (issue 21)'),
    ),
  ],
};
