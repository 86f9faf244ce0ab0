// Summarises V8 .cpuprofile files (node --cpu-prof): self time by category and by function.
//
// How to read "(idle)": Node marks the isolate idle around libuv's poll phase, and the native work
// done there outside JavaScript (epoll, accept4, read, close, i.e. mostly kernel time) is sampled
// as idle too. For a saturated server, (idle) is therefore "native I/O, not waiting".
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const CATEGORIES = [
  ['GC', (f) => f.functionName === '(garbage collector)'],
  ['idle / native I/O in the poll phase', (f) => f.functionName === '(idle)'],
  [
    'V8/Node native (compile, bootstrap)',
    (f) => f.functionName === '(program)' || f.functionName === '(root)',
  ],
  [
    'module loading (node:internal/modules)',
    (f) =>
      /^node:internal\/modules\//.test(f.url) ||
      /^(compileSourceTextModule|wrapSafe|compileForInternalLoader|internalBinding)$/.test(
        f.functionName,
      ),
  ],
  [
    'sockets and streams (node:net, streams)',
    (f) =>
      /^node:(net|internal\/(streams|stream_base_commons|net))/.test(f.url) ||
      /^(writeUtf8String|writeBuffer|writev|close|shutdown|readStart|readStop|getAsyncId)$/.test(
        f.functionName,
      ),
  ],
  [
    'events, timers, microtasks',
    (f) =>
      /^node:(events|internal\/(process\/task_queues|timers|async_hooks))/.test(f.url) ||
      f.functionName === 'runMicrotasks',
  ],
  ['json-rpc-2.0', (f) => f.url.includes('/node_modules/json-rpc-2.0/')],
  ['pino (logger)', (f) => /\/node_modules\/(pino|sonic-boom|thread-stream)/.test(f.url)],
  ['kms-agent code (dist/)', (f) => f.url.includes('/dist/')],
  [
    'JSON.parse / stringify',
    (f) => /^(parse|stringify|JSONParse|JSONStringify)$/.test(f.functionName) && !f.url,
  ],
  ['other Node internals', (f) => f.url.startsWith('node:')],
];

function categorise(frame) {
  for (const [name, test] of CATEGORIES) if (test(frame)) return name;
  return 'other native / builtins';
}

function shortUrl(url) {
  return url.replace(/^file:\/\/.*?\/(node_modules|dist)\//, '$1/').replace(/^file:\/\//, '');
}

/** Self time (µs) per node of one profile. */
function selfTimes(profile) {
  const self = new Map();
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i] ?? 0;
    self.set(profile.samples[i], (self.get(profile.samples[i]) ?? 0) + dt);
  }
  return self;
}

/** Aggregates one or more profiles. */
export function summarise(files) {
  const byCategory = new Map();
  const byFunction = new Map();
  let total = 0;
  for (const file of files) {
    const profile = JSON.parse(readFileSync(file, 'utf8'));
    const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
    for (const [id, us] of selfTimes(profile)) {
      const frame = nodes.get(id).callFrame;
      total += us;
      const category = categorise(frame);
      byCategory.set(category, (byCategory.get(category) ?? 0) + us);
      const where = frame.url ? ` ${shortUrl(frame.url)}:${frame.lineNumber + 1}` : '';
      const key = `${frame.functionName || '(anonymous)'}${where}`;
      byFunction.set(key, (byFunction.get(key) ?? 0) + us);
    }
  }
  const sorted = (m) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .map(([name, us]) => ({ name, ms: us / 1000 / files.length, share: us / total }));
  return {
    profiles: files.length,
    totalMs: total / 1000 / files.length,
    categories: sorted(byCategory),
    functions: sorted(byFunction),
  };
}

export function profilesIn(dir, filter = () => true) {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile') && filter(f))
    .map((f) => join(dir, f));
}
