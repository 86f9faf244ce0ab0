// "The idle daemon against Node's own floor" (issue 15): footprints of the bare process and of
// the agents, start-up, where a daemon start goes, where the memory difference is
// (residentPagesTables.mjs) and what it all says (floorExplanation.mjs).
import { ratio } from '../lib/stats.mjs';
import { explainFloor } from './floorExplanation.mjs';
import { fmt, mib, x } from './markdown.mjs';
import { residentPagesTables } from './residentPagesTables.mjs';

const ROWS = [
  ['bare', 'bare `node`: node:net listening on a Unix socket (bench/probes/bare-server.cjs)'],
  ['file', 'kms-agent, file store, started by `kms-agent start`'],
  ['fileRecommended', 'kms-agent, file store, recommended flags'],
  [
    'fileUnused',
    'kms-agent, file store, logged in but restarted: no provider call yet (agent.status only)',
  ],
  ['keychain', 'kms-agent, keychain store, started by `kms-agent start`'],
  ['keychainRecommended', 'kms-agent, keychain store, recommended flags'],
];

function footprints(R, line, table) {
  const F = R.floor;
  const I = F.idle;
  const rec = F.recommended;
  const daemon = R.entries?.daemon ?? 'dist/daemon/daemon.cjs';
  const env = Object.entries(rec.env).map(([k, v]) => `${k}=${v}`);
  const command = [...rec.flags, daemon].join(' ');
  const s = (n) => fmt((n * F.idleMs) / 1000);
  line(
    'Each process below served 200 requests on one connection at the same moment (kms-agent: ' +
      "token.get, logged in on the bench's provider), then nothing: " +
      `RSS, PSS and its parts are read ${s(1)} s later (/proc/PID/smaps_rollup and status) and ` +
      `RSS again at ${s(3)} s, threads from /proc/PID/task, ` +
      'wake-ups are the voluntary context switches of all threads in three windows after the ' +
      'last request. ' +
      `"Recommended flags": the daemon started directly as \`node ${command}\`` +
      (env.length ? ` with ${env.join(' ')}` : '') +
      ', the flags the launcher and the service units pass (bench/lib/daemonProcess.mjs), ' +
      'without the CLI in between.',
  );
  line();
  const wakeups = (a) =>
    [a.burstWakeupsPerSec, a.settleWakeupsPerSec, a.idleWakeupsPerSec].map((w) => fmt(w, 1));
  table(
    [
      'process',
      `RSS at ${s(1)} s`,
      'vs bare',
      `RSS at ${s(3)} s`,
      'vs bare',
      `PSS at ${s(1)} s`,
      'anonymous / file-backed',
      `threads (${s(1)} s / ${s(4)} s)`,
      `wake-ups/s: 0–${s(1)} s / ${s(1)}–${s(3)} s / ${s(3)}–${s(4)} s`,
    ],
    ROWS.filter(([k]) => I[k]).map(([k, label]) => [
      label,
      mib(I[k].rssMiB),
      x(ratio(I[k].rssMiB, I.bare.rssMiB)),
      mib(I[k].settledRssMiB),
      x(ratio(I[k].settledRssMiB, I.bare.settledRssMiB)),
      mib(I[k].pssMiB),
      `${mib(I[k].anonMiB)} / ${mib(I[k].fileMiB)}`,
      `${I[k].threads} / ${I[k].threadsLater}`,
      wakeups(I[k]).join(' / '),
    ]),
  );
}

function startup(R, line, table) {
  const S = R.floor.startup;
  const daemon = R.entries?.daemon ?? 'dist/daemon/daemon.cjs';
  line(
    `Start-up, ${S.bare.runs.length} rounds, interleaved (medians): from spawn until the socket ` +
      'answers one request.',
  );
  line();
  const row = (what, v) => [
    what,
    `${fmt(v.medianMs, 1)} ms`,
    x(ratio(v.medianMs, S.bare.medianMs)),
  ];
  const bare = `${fmt(S.bare.medianMs, 1)} ms`;
  table(
    ['what', 'median', 'vs bare'],
    [
      ['bare `node` server (spawn, "listening", one answer)', bare, '1.00×'],
      row(`kms-agent daemon: \`node ${daemon}\` (spawn, ready on fd 3, agent.status)`, S.daemon),
      row('the same with the recommended flags', S.daemonRecommended),
      row('`kms-agent start` (the CLI, which spawns the daemon) until agent.status answers', S.cli),
      row('… of which `kms-agent start` until it returns', S.cliOnly),
    ],
  );
  if (!S.profile) return;
  const P = S.profile;
  line(
    `Where the daemon's start goes: \`node --cpu-prof --cpu-prof-interval 100\` of ${P.profiles} ` +
      'starts as the launcher runs them, each until agent.status answered, then stopped ' +
      `(${fmt(P.busyMs, 1)} ms of samples per start: the idle wait before the stop left out, the ` +
      "stop itself, with pino's last flush, counted; the profiler slows what it measures). " +
      'Self time:',
  );
  line();
  const categories = P.categories.slice(0, 8).map((c) => [c.name, fmt(c.ms, 2)]);
  table(['category', 'ms per start'], categories);
  const functions = P.functions.slice(0, 10).map((f) => [`\`${f.name}\``, fmt(f.ms, 2)]);
  table(['top functions (self time)', 'ms per start'], functions);
}

export function floorSection(R, line, table) {
  line("## The idle daemon against Node's own floor");
  line();
  footprints(R, line, table);
  startup(R, line, table);
  residentPagesTables(R.floor, line, table);
  explainFloor(R.floor, line);
}
