// The peer-credential lookup (issue 22) where it runs: a Unix socket server in this process that
// reads each accepted connection's peer with the build's own src/daemon/peer.ts (SO_PEERCRED
// through koffi), timed around that call alone, and then the executable the audit records
// (/proc/PID/exe); a client child opens connections one at a time (connect, one byte, the reply,
// close), against the same server with and without the lookup, so the share of a whole
// connection shows. And koffi's cost at a daemon's start: loading it and making the process
// non-dumpable, in fresh processes. The current build only: the baseline has no lookup to time.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { median } from '../lib/stats.mjs';
import { pick } from './rowLines.mjs';

const CONNECTIONS = 4000;

// Opens `count` connections one after the other; prints the median µs of one, and the list.
const CLIENT = `
const net = require('node:net');
const [path, count] = process.argv.slice(1);
const times = [];
(async () => {
  for (let i = 0; i < Number(count); i++) {
    const t = process.hrtime.bigint();
    await new Promise((resolve, reject) => {
      const s = net.connect(path, () => s.write('x'));
      s.once('data', () => s.end());
      s.once('close', resolve);
      s.once('error', reject);
    });
    times.push(Number(process.hrtime.bigint() - t) / 1000);
  }
  times.sort((a, b) => a - b);
  console.log(JSON.stringify({ medianUs: times[times.length >> 1] }));
})();`;

function runClient(socket, count) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', CLIENT, socket, String(count)]);
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`client exited ${code}`)),
    );
  });
}

/** One round: a server that reads peers (or not), a client that connects; the times. */
async function round(peerOf, socket, lookUp) {
  const lookupUs = [];
  const exeUs = [];
  const server = createServer((conn) => {
    if (lookUp) {
      let t = process.hrtime.bigint();
      const peer = peerOf(conn);
      lookupUs.push(Number(process.hrtime.bigint() - t) / 1000);
      t = process.hrtime.bigint();
      void peer?.exe;
      exeUs.push(Number(process.hrtime.bigint() - t) / 1000);
    }
    conn.on('data', () => conn.write('y'));
    conn.on('error', () => undefined);
  });
  await new Promise((resolve) => server.listen(socket, resolve));
  try {
    const client = await runClient(socket, CONNECTIONS);
    // The first calls warm koffi's binding up: leave the first tenth out.
    const steady = (list) => median(list.slice(list.length / 10));
    return { connectionUs: client.medianUs, lookupUs: steady(lookupUs), exeUs: steady(exeUs) };
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

// In a fresh node, as the daemon's bundle does it (src/os/libc.ts): koffi's native module from its
// prebuilt package for this machine (koffi's own loader where that fails), the process's own
// symbols loaded, prctl bound and called (PR_SET_DUMPABLE, 0).
const START = `
const t = process.hrtime.bigint();
const load = require('node:module').createRequire(process.argv[1]);
let koffi;
try {
  koffi = load(\`@koromix/koffi-linux-\${process.arch}/linux_\${process.arch}/koffi.node\`);
} catch {
  koffi = load('koffi');
}
const prototype = 'int prctl(int, unsigned long, unsigned long, unsigned long, unsigned long)';
const prctl = koffi.load(null).func(prototype);
prctl(4, 0, 0, 0, 0);
console.log(Number(process.hrtime.bigint() - t) / 1e6);`;

function koffiStartMs(root) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', START, join(root, 'package.json')]);
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', () => resolve(Number(out)));
  });
}

export const peerCredentials = {
  key: 'peerCredentials',
  title: 'the peer-credential lookup per connection, and koffi at start',
  async measure(subjects, { C, dir, quiet }) {
    const current = subjects.find((s) => s.name === 'current');
    const { peerOf } = await import(
      pathToFileURL(join(current.build.root, 'dist', 'daemon', 'peer.js')).href
    );
    const rounds = { with: [], without: [], startMs: [] };
    for (let rep = 0; rep < C.reps; rep++) {
      await quiet.waitQuiet('compare: peer credentials');
      const socket = join(dir, `peer-${rep}.sock`);
      rounds.with.push(await round(peerOf, socket, true));
      rounds.without.push(await round(peerOf, socket, false));
      for (let i = 0; i < 5; i++) rounds.startMs.push(await koffiStartMs(current.build.root));
    }
    const m = (list, field) => median(list.map((r) => r[field]));
    return {
      current: {
        lookupUs: m(rounds.with, 'lookupUs'),
        exeUs: m(rounds.with, 'exeUs'),
        connectionWithUs: m(rounds.with, 'connectionUs'),
        connectionWithoutUs: m(rounds.without, 'connectionUs'),
        koffiStartMs: median(rounds.startMs),
        rounds,
      },
    };
  },
  lines: (data) => [
    {
      what: 'peer credentials (SO_PEERCRED through koffi) per accepted connection',
      unit: 'µs',
      digits: 2,
      better: 'lower',
      values: pick(data, 'lookupUs'),
    },
    {
      what: "the peer's executable (/proc/PID/exe), read once per connection for the audit",
      unit: 'µs',
      digits: 2,
      better: 'lower',
      values: pick(data, 'exeUs'),
    },
    {
      what: 'a whole one-shot connection, client side, with the lookup',
      unit: 'µs',
      digits: 1,
      better: 'lower',
      values: pick(data, 'connectionWithUs'),
    },
    {
      what: 'the same, against the same server without it',
      unit: 'µs',
      digits: 1,
      better: 'lower',
      values: pick(data, 'connectionWithoutUs'),
    },
    {
      what: 'koffi required, prctl bound and called (PR_SET_DUMPABLE, 0), in a fresh process',
      unit: 'ms',
      digits: 2,
      better: 'lower',
      values: pick(data, 'koffiStartMs'),
    },
  ],
};
