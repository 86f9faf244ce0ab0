// The issue-15 part of bench/RESULTS.md: the idle daemon against Node's own floor, and the targets
// measured as ratios in the same run.
import { median, ratio } from './stats.mjs';

const fmt = (x, digits = 0) =>
  Number.isFinite(x) ? x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : 'n/a';
const x = (r, digits = 2) => (Number.isFinite(r) ? `${r.toFixed(digits)}×` : 'n/a');
const mib = (v) => `${fmt(v, 1)} MiB`;
const verdict = (ok) => (ok ? '**met**' : '**missed**');

/** A Markdown text being written: `line` adds a line, `table` a table whose first column is text and the others figures. */
export function markdownText() {
  const lines = [];
  const line = (s = '') => lines.push(s);
  const table = (head, rows) => {
    line(`| ${head.join(' | ')} |`);
    line(`|${head.map((h, i) => (i === 0 ? '---' : '---:')).join('|')}|`);
    for (const r of rows) line(`| ${r.join(' | ')} |`);
    line();
  };
  return { line, table, text: () => lines.join('\n') };
}

const ROWS = [
  ['bare', 'bare `node`: node:net listening on a Unix socket (bench/probes/bare-server.cjs)'],
  ['file', 'kms-agent, file store, started by `kms-agent start`'],
  ['fileRecommended', 'kms-agent, file store, recommended flags'],
  ['fileUnused', 'kms-agent, file store, logged in but restarted: no provider call yet (agent.status only)'],
  ['keychain', 'kms-agent, keychain store, started by `kms-agent start`'],
  ['keychainRecommended', 'kms-agent, keychain store, recommended flags'],
];

/** The ratios of issue 15, each with its verdict: { rows, met }. */
export function floorTargets(R) {
  const F = R.floor;
  const I = F.idle;
  const bare = I.bare;
  const tp = (key, c) => median(R.throughput[`${key}@${c}`].map((r) => r.tokensPerSec));
  const rows = [];
  const met = {};
  const stores = ['file', 'keychain'].filter((k) => I[k]);
  const rss = stores.map((k) => ({ k, r: ratio(I[k].rssMiB, bare.rssMiB), settled: ratio(I[k].settledRssMiB, bare.settledRssMiB) }));
  met.idleRss = rss.every((s) => s.r <= 1.2);
  rows.push([
    'idle RSS (logged in, 200 tokens served, 10 s idle) ≤ 1.2× a bare `node` listening on a Unix socket, file and keychain store',
    rss.map((s) => `${s.k}: ${x(s.r)} (${mib(I[s.k].rssMiB)} vs ${mib(bare.rssMiB)}), ${x(s.settled)} at ${fmt((3 * F.idleMs) / 1000)} s`).join('; '),
    verdict(met.idleRss),
  ]);
  // A store in use may add its own thread (the keychain's); none may stay once it is idle.
  met.threads = stores.every((k) => I[k].threads <= bare.threads);
  rows.push([
    'threads ≤ the bare process, plus what a store in use needs (none for a store not in use)',
    `bare ${bare.threads}; ${stores.map((k) => `${k} ${I[k].threads}`).join(', ')}; with the recommended flags ${stores.map((k) => `${k} ${I[`${k}Recommended`]?.threads ?? 'n/a'}`).join(', ')}`,
    verdict(met.threads),
  ]);
  const S = F.startup;
  met.startup = ratio(S.cli.medianMs, S.bare.medianMs) <= 1.5;
  rows.push([
    '`kms-agent start` until the socket answers ≤ 1.5× a bare Node server\'s start to listening',
    `${x(ratio(S.cli.medianMs, S.bare.medianMs))} (${fmt(S.cli.medianMs, 1)} vs ${fmt(S.bare.medianMs, 1)} ms); the daemon alone ${x(ratio(S.daemon.medianMs, S.bare.medianMs))}, with the recommended flags ${x(ratio(S.daemonRecommended.medianMs, S.bare.medianMs))}`,
    verdict(met.startup),
  ]);
  met.wakeups = stores.every((k) => I[k].idleWakeupsPerSec === 0);
  rows.push([
    `idle wake-ups: none except scheduled refreshes (voluntary context switches of all threads, ${fmt((3 * F.idleMs) / 1000)}–${fmt((4 * F.idleMs) / 1000)} s after the last request)`,
    `${stores.map((k) => `${k} ${fmt(I[k].idleWakeupsPerSec, 1)}/s`).join(', ')} (bare ${fmt(bare.idleWakeupsPerSec, 1)}/s); before that, the GCs that shrink the heap: ${stores.map((k) => `${k} ${fmt(I[k].burstWakeupsPerSec, 1)}/s and ${fmt(I[k].settleWakeupsPerSec, 1)}/s`).join(', ')} (0–${fmt(F.idleMs / 1000)} s and ${fmt(F.idleMs / 1000)}–${fmt((3 * F.idleMs) / 1000)} s)`,
    verdict(met.wakeups),
  ]);
  const pipe = [8, 50].map((c) => ({ c, r: ratio(tp('kms-pipe', c), tp('oidc-conn', c)) }));
  met.pipelined = pipe.every((p) => p.r >= 15);
  rows.push(['pipelined tokens/s ≥ 15× oidc-agent (8 and 50 clients)', pipe.map((p) => `${p.c} clients: ${x(p.r, 1)}`).join(', '), verdict(met.pipelined)]);
  const ceiling = (R.ceiling ?? R.profiles.daemon?.ceiling)?.oneProcess;
  met.oneShot = ratio(tp('kms-conn', 8), ceiling) >= 0.8;
  rows.push(['one request per connection ≥ 0.8× the bare Node server ceiling (8 clients)', `${x(ratio(tp('kms-conn', 8), ceiling))} (${fmt(tp('kms-conn', 8))} vs ${fmt(ceiling)} tokens/s)`, verdict(met.oneShot)]);
  met.cli = ratio(R.cli.kms.medianMs, R.cli.raw.medianMs) <= 1.05;
  rows.push(['`kms-agent token` ≤ 1.05× the minimal one-file Node client (bench/probes/raw-token.cjs)', `${x(ratio(R.cli.kms.medianMs, R.cli.raw.medianMs))} (${fmt(R.cli.kms.medianMs, 1)} vs ${fmt(R.cli.raw.medianMs, 1)} ms)`, verdict(met.cli)]);
  rows.push(['storms: exactly 1 refresh', `${R.targets.stormRefreshes.join(', ')} refresh(es) in ${R.targets.stormRefreshes.length} storm(s)`, verdict(R.met.storm)]);
  rows.push(['RSS growth < 5 MiB per million requests', `median ${fmt(R.targets.rssGrowthPerMillion, 2)} MiB per million`, verdict(R.met.rss)]);
  return { rows, met };
}

/** The section itself: footprints, start-up, and the profile of the gap. */
export function floorSection(R, line, table) {
  const F = R.floor;
  const I = F.idle;
  const rec = F.recommended;
  line('## The idle daemon against Node\'s own floor');
  line();
  line(
    `Each process below served 200 requests on one connection at the same moment (kms-agent: token.get, logged in on the bench's provider), then nothing: ` +
      `RSS, PSS and its parts are read ${fmt(F.idleMs / 1000)} s later (/proc/PID/smaps_rollup and status) and RSS again at ${fmt((3 * F.idleMs) / 1000)} s, threads from /proc/PID/task, ` +
      `wake-ups are the voluntary context switches of all threads in three windows after the last request. ` +
      `"Recommended flags": the daemon started directly as \`node ${[...rec.flags, 'dist/daemon/daemon.cjs'].join(' ')}\`${Object.keys(rec.env).length ? ` with ${Object.entries(rec.env).map(([k, v]) => `${k}=${v}`).join(' ')}` : ''}, the flags the launcher and the service units pass (bench/lib/idleFloor.mjs), without the CLI in between.`,
  );
  line();
  const s = (n) => fmt((n * F.idleMs) / 1000);
  table(
    ['process', `RSS at ${s(1)} s`, 'vs bare', `RSS at ${s(3)} s`, 'vs bare', `PSS at ${s(1)} s`, 'anonymous / file-backed', `threads (${s(1)} s / ${s(4)} s)`, `wake-ups/s: 0–${s(1)} s / ${s(1)}–${s(3)} s / ${s(3)}–${s(4)} s`],
    ROWS.filter(([k]) => I[k]).map(([k, label]) => [
      label,
      mib(I[k].rssMiB),
      x(ratio(I[k].rssMiB, I.bare.rssMiB)),
      mib(I[k].settledRssMiB),
      x(ratio(I[k].settledRssMiB, I.bare.settledRssMiB)),
      mib(I[k].pssMiB),
      `${mib(I[k].anonMiB)} / ${mib(I[k].fileMiB)}`,
      `${I[k].threads} / ${I[k].threadsLater}`,
      [I[k].burstWakeupsPerSec, I[k].settleWakeupsPerSec, I[k].idleWakeupsPerSec].map((w) => fmt(w, 1)).join(' / '),
    ]),
  );
  const S = F.startup;
  line(`Start-up, ${S.bare.runs.length} rounds, interleaved (medians): from spawn until the socket answers one request.`);
  line();
  table(['what', 'median', 'vs bare'], [
    ['bare `node` server (spawn, "listening", one answer)', `${fmt(S.bare.medianMs, 1)} ms`, '1.00×'],
    ['kms-agent daemon: `node dist/daemon/daemon.cjs` (spawn, ready on fd 3, agent.status)', `${fmt(S.daemon.medianMs, 1)} ms`, x(ratio(S.daemon.medianMs, S.bare.medianMs))],
    ['the same with the recommended flags', `${fmt(S.daemonRecommended.medianMs, 1)} ms`, x(ratio(S.daemonRecommended.medianMs, S.bare.medianMs))],
    ['`kms-agent start` (the CLI, which spawns the daemon) until agent.status answers', `${fmt(S.cli.medianMs, 1)} ms`, x(ratio(S.cli.medianMs, S.bare.medianMs))],
    ['… of which `kms-agent start` until it returns', `${fmt(S.cliOnly.medianMs, 1)} ms`, x(ratio(S.cliOnly.medianMs, S.bare.medianMs))],
  ]);
  if (S.profile) {
    const P = S.profile;
    line(
      `Where the daemon's start goes: \`node --cpu-prof --cpu-prof-interval 100\` of ${P.profiles} starts as the launcher runs them, each until agent.status answered, then stopped (${fmt(P.busyMs, 1)} ms of samples per start: the idle wait before the stop left out, the stop itself, with pino's last flush, counted; the profiler slows what it measures). Self time:`,
    );
    line();
    table(['category', 'ms per start'], P.categories.slice(0, 8).map((c) => [c.name, fmt(c.ms, 2)]));
    table(['top functions (self time)', 'ms per start'], P.functions.slice(0, 10).map((f) => [`\`${f.name}\``, fmt(f.ms, 2)]));
  }
  profileTables(F, line, table);
  explanation(F, line);
}

/** What the tables say, with this run's figures. */
function explanation(F, line) {
  const I = F.idle;
  const S = F.startup;
  const sum = (who, part) => (F.profiles[who]?.[part] ?? []).reduce((a, [, v]) => a + v, 0);
  const binary = sum('file', 'binary') - sum('bare', 'binary');
  const anon = sum('file', 'anonymous') - sum('bare', 'anonymous');
  const get = (who, part, name) => new Map(F.profiles[who]?.[part] ?? []).get(name) ?? 0;
  const turbofan = get('file', 'binary', 'V8 optimizing compiler (TurboFan)') - get('bare', 'binary', 'V8 optimizing compiler (TurboFan)');
  const sources = get('file', 'binary', 'read-only data without a symbol (builtin JS sources, literals)') - get('bare', 'binary', 'read-only data without a symbol (builtin JS sources, literals)');
  const heap = get('file', 'anonymous', 'V8 heap pages') - get('bare', 'anonymous', 'V8 heap pages');
  const unused = I.fileUnused;
  line(
    `**So, memory:** after a login and 200 tokens, settled (${fmt((3 * F.idleMs) / 1000)} s), the file-store agent holds ${mib(I.file.settledRssMiB - I.bare.settledRssMiB)} more than the bare process. ` +
      `${mib(binary)} of it are pages of the node binary that the bare process never touches: ${mib(turbofan)} of V8's optimizing compiler, paged in by its first optimization ` +
      "(here the only function hot enough is the log redaction's path parser: @pinojs/redact parses each of the logger's 30 redact paths again for every log line that carries fields, and the login writes a few; " +
      'a long-running agent reaches the optimizing compiler anyway, a few thousand token.get do), ' +
      `${mib(sources)} of the sources of Node's built-in modules that the login and the provider stack compile (node:http and node:https, crypto, zlib, and undici's Response and Headers classes, which openid-client needs), and ICU data; ` +
      `${mib(anon)} are anonymous, mostly the V8 heap (${mib(heap)}: the bytecode of openid-client, oauth4webapi, jose, pino and the agent's own code). ` +
      (unused
        ? `Before its first provider call the same agent is at ${x(ratio(unused.settledRssMiB, I.bare.settledRssMiB))} (the row "no provider call yet"): the login and the provider stack, both loaded on first use, account for ${mib(I.file.settledRssMiB - unused.settledRssMiB)}. `
        : '') +
      'Compiled code is never unloaded from a V8 isolate, so in one process that is the floor after a login or a refresh. The lever left is a design one: logins and refreshes in a short-lived helper process, so the daemon stays near the "no provider call yet" row, at the price of a Node start and an openid-client load (tens of ms) per refresh or login. ' +
      (I.keychain ? `The keychain store adds ${mib(I.keychain.settledRssMiB - I.file.settledRssMiB)}: its native library stays mapped, and its thread's malloc arena stays behind when the thread stops after 10 s idle.` : ''),
  );
  line();
  line(
    `**So, threads:** the bare process has ${I.bare.threads} (the main thread, V8's 4 helpers, its delayed-task thread, the inspector's signal thread). The agent, started with the flags the launcher and the units pass, has ${I.file.threads}: ` +
      "the main thread, one V8 helper (`--v8-pool-size=1`), V8's delayed-task thread, the inspector's signal thread, and libuv's pool of 2 (`UV_THREADPOOL_SIZE=2`), started by the first asynchronous file operation. " +
      'None belongs to a store: the keychain thread starts on the first keychain call and stops after 10 s without one, and never runs for a file-store profile.',
  );
  line();
  line(
    `**So, start-up:** the daemon runs from one bundle (esbuild over tsc's output, scripts/bundleDaemon.mjs) compiled with V8's code cache (src/daemon/daemon.cts): no ES module loader, and the functions a start runs already compiled. Alone it is ${x(ratio(S.daemon.medianMs, S.bare.medianMs))} the bare server. ` +
      "What it adds, per the profile above (compileForInternalLoader is Node compiling its own modules, Script the bundle's code cache): the Node built-ins the bare server never loads (crypto for the store key; assert and worker_threads, which pino's sonic-boom and thread-stream require; fs/promises, timers/promises), reading the 0.5 MB bundle and its 0.3 MB cache, the config's ownership checks on every directory above it, the start lock and the log file. " +
      `\`kms-agent start\` is two Node processes in series: the CLI (${S.cliOnly.medianMs > S.daemon.medianMs ? `${fmt(S.cliOnly.medianMs - S.daemon.medianMs, 1)} ms: Node's start, the fast-path bundle and the launcher around the spawn` : 'Node start, the fast-path bundle and the launcher; this run was too noisy to split the two'}) and the daemon it waits for. ` +
      'A second Node start alone is about one bare start: below 1.5× is out of reach for any launcher written in Node; socket activation (systemd) has only the daemon\'s share. With an agent already running, `start` (what every new shell with `eval "$(kms-agent start)"` runs) only asks it for its status.',
  );
  line();
  line(
    '**So, wake-ups:** after the last request V8\'s memory reducer runs one or two GCs (in the first 10 s, or 8 s later when the agent was still busy when it first looked), which wake the GC helper threads (fewer with `--v8-pool-size=1`). ' +
      'After that nothing wakes the agent until its next scheduled refresh: no interval timers, the config watcher is inotify, the keychain thread has stopped, pino writes only when there is a line.',
  );
  line();
}

/** Resident memory of the bare process and of the agents, by what it holds. */
function profileTables(F, line, table) {
  const { bare } = F.profiles;
  const agents = ['file', 'keychain'].filter((k) => F.profiles[k]?.binary);
  if (!bare?.binary || agents.length === 0) {
    line(`(No resident-page profile: ${bare?.error ?? F.profiles.file?.error ?? 'not measured'}.)`);
    line();
    return;
  }
  const rows = (part) => {
    const maps = [bare, ...agents.map((k) => F.profiles[k])].map((p) => new Map(p[part]));
    const keys = [...new Set(maps.flatMap((m) => [...m.keys()]))];
    const values = keys.map((k) => [k, ...maps.map((m) => m.get(k) ?? 0)]).filter(([, ...v]) => Math.max(...v) >= 0.05);
    values.sort((p, q) => q[2] - q[1] - (p[2] - p[1]));
    const total = ['**total**', ...maps.map((m) => [...m.values()].reduce((a, b) => a + b, 0))];
    return [...values, total].map(([k, b, ...a]) => [k, fmt(b, 2), ...a.map((v) => `${fmt(v, 2)} (${v - b >= 0 ? '+' : ''}${fmt(v - b, 2)})`)]);
  };
  line(
    `Where the difference is (the agents as \`kms-agent start\` launches them, against the bare process, at ${fmt((3 * F.idleMs) / 1000)} s): the node binary's resident pages attributed to the symbols they hold ` +
      '(nm of the binary, /proc/PID/pagemap; code shared with every other Node process, but counted in RSS), and anonymous memory by kind of mapping (bench/lib/residentPages.mjs). MiB, and the difference to bare:',
  );
  line();
  const head = (what) => [what, 'bare', ...agents.map((k) => `kms-agent, ${k} store`)];
  table(head('node binary, resident pages'), rows('binary'));
  table(head('anonymous memory'), rows('anonymous'));
  table(head('other files'), rows('other'));
}
