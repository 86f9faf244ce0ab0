// What the floor's tables say, with the run's figures: memory, threads, start-up, wake-ups.
import { ratio } from '../lib/stats.mjs';
import { fmt, mib, x } from './markdown.mjs';

const TURBOFAN = 'V8 optimizing compiler (TurboFan)';
const SOURCES = 'read-only data without a symbol (builtin JS sources, literals)';

function memory(F, line) {
  const I = F.idle;
  const sum = (who, part) => (F.profiles[who]?.[part] ?? []).reduce((a, [, v]) => a + v, 0);
  const get = (who, part, name) => new Map(F.profiles[who]?.[part] ?? []).get(name) ?? 0;
  const more = (part, name) => get('file', part, name) - get('bare', part, name);
  const binary = sum('file', 'binary') - sum('bare', 'binary');
  const anon = sum('file', 'anonymous') - sum('bare', 'anonymous');
  const unused = I.fileUnused;
  line(
    `**So, memory:** after a login and 200 tokens, settled (${fmt((3 * F.idleMs) / 1000)} s), ` +
      `the file-store agent holds ${mib(I.file.settledRssMiB - I.bare.settledRssMiB)} more than ` +
      'the bare process. ' +
      `${mib(binary)} of it are pages of the node binary that the bare process never touches: ` +
      `${mib(more('binary', TURBOFAN))} of V8's optimizing compiler, paged in by its first ` +
      'optimization ' +
      "(a few hundred requests make some of Node's own functions hot, its nextTick queue " +
      "among them; the log's redaction no longer does, src/daemon/logger.ts; a long-running " +
      'agent reaches the optimizing compiler anyway), ' +
      `${mib(more('binary', SOURCES))} of the sources of Node's built-in modules that the login ` +
      "and the provider stack compile (node:http and node:https, crypto, zlib, and undici's " +
      'Response and Headers classes, which openid-client needs), and ICU data; ' +
      `${mib(anon)} are anonymous, mostly the V8 heap ` +
      `(${mib(more('anonymous', 'V8 heap pages'))}: the bytecode of openid-client, ` +
      "oauth4webapi, jose, pino and the agent's own code). " +
      (unused
        ? 'Before its first provider call the same agent is at ' +
          `${x(ratio(unused.settledRssMiB, I.bare.settledRssMiB))} (the row "no provider call ` +
          'yet"): the login and the provider stack, both loaded on first use, account for ' +
          `${mib(I.file.settledRssMiB - unused.settledRssMiB)}. `
        : '') +
      'Compiled code is never unloaded from a V8 isolate, so in one process that is the floor ' +
      'after a login or a refresh. The lever left is a design one: logins and refreshes in a ' +
      'short-lived helper process, so the daemon stays near the "no provider call yet" row, at ' +
      'the price of a Node start and an openid-client load (tens of ms) per refresh or login. ' +
      (I.keychain
        ? `The keychain store adds ${mib(I.keychain.settledRssMiB - I.file.settledRssMiB)}: its ` +
          'native library stays mapped; what its thread allocated goes back to the system ' +
          'when the thread stops after 10 s idle (src/daemon/memoryWhenQuiet.ts).'
        : ''),
  );
  line();
}

function threads(F, line) {
  const I = F.idle;
  line(
    `**So, threads:** the bare process has ${I.bare.threads} (the main thread, V8's 4 helpers, ` +
      "its delayed-task thread, the inspector's signal thread). The agent, started with the " +
      `flags the launcher and the units pass, has ${I.file.threads}: ` +
      "the main thread, one V8 helper (`--v8-pool-size=1`), V8's delayed-task thread, the " +
      "inspector's signal thread, and libuv's pool of 2 (`UV_THREADPOOL_SIZE=2`), started by " +
      'the first asynchronous file operation. ' +
      'None belongs to a store: the keychain thread starts on the first keychain call and stops ' +
      'after 10 s without one, and never runs for a file-store profile.',
  );
  line();
}

function startup(F, line) {
  const S = F.startup;
  const cliPart =
    S.cliOnly.medianMs > S.daemon.medianMs
      ? `${fmt(S.cliOnly.medianMs - S.daemon.medianMs, 1)} ms: Node's start, the fast-path ` +
        'bundle and the launcher around the spawn'
      : 'Node start, the fast-path bundle and the launcher; this run was too noisy to split the ' +
        'two';
  line(
    '**So, start-up:** the daemon runs from one bundle (esbuild, scripts/build.mjs) ' +
      "compiled with V8's code cache (src/os/bundleLoader.ts): no ES " +
      'module loader, and the functions a start runs already compiled. Alone it is ' +
      `${x(ratio(S.daemon.medianMs, S.bare.medianMs))} the bare server. ` +
      'What it adds, per the profile above (compileForInternalLoader is Node compiling its own ' +
      "modules, Script the bundle's code cache): the Node built-ins the bare server never loads " +
      "(crypto for the store key; assert and worker_threads, which pino's sonic-boom and " +
      'thread-stream require; fs/promises, timers/promises), reading the 0.5 MB bundle and its ' +
      "0.3 MB cache, the config's ownership checks on every directory above it, the start lock " +
      'and the log file. ' +
      `\`kms-agent start\` is two Node processes in series: the CLI (${cliPart}) and the daemon ` +
      'it waits for. ' +
      'A second Node start alone is about one bare start: below 1.5× is out of reach for any ' +
      "launcher written in Node; socket activation (systemd) has only the daemon's share. With " +
      'an agent already running, `start` (what every new shell with `eval "$(kms-agent start)"` ' +
      'runs) only asks it for its status.',
  );
  line();
}

function wakeups(line) {
  line(
    "**So, wake-ups:** after the last request V8's memory reducer runs one or two GCs (in the " +
      'first 10 s, or 8 s later when the agent was still busy when it first looked), which wake ' +
      'the GC helper threads (fewer with `--v8-pool-size=1`). ' +
      'After that nothing wakes the agent until its next scheduled refresh: no interval timers, ' +
      'the config watcher is inotify, the keychain thread has stopped, pino writes only when ' +
      'there is a line.',
  );
  line();
}

export function explainFloor(F, line) {
  memory(F, line);
  threads(F, line);
  startup(F, line);
  wakeups(line);
}
