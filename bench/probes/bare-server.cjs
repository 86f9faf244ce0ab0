// Probe: the least a Node server can do per connection through node:net — answer each
// connection's first chunk with a fixed line as long as kms-agent's token reply — to know what one
// Node process (or several sharing the socket, the kernel spreading accept() among them) allows
// on this machine. With one worker it is also Node's own floor for an idle daemon: memory,
// threads, start to listening.
// Usage: node bare-server.cjs SOCKET REPLY_BYTES [WORKERS]; prints "listening" when ready.
'use strict';
const { createServer } = require('node:net');
const { unlinkSync } = require('node:fs');

const [socketPath, replyBytes, workers = '1'] = process.argv.slice(2);
// Loaded only for several workers: the one-process floor loads node:net and nothing else.
const cluster =
  Number(workers) > 1 ? require('node:cluster') : { isPrimary: true, isWorker: false };
const token = 'x'.repeat(Math.max(0, Number(replyBytes) - 40));
const reply = Buffer.from(`{"jsonrpc":"2.0","id":1,"result":{"token":"${token}"}}\n`);

if (Number(workers) > 1 && cluster.isPrimary) {
  // Each worker accepts for itself; round-robin would funnel every connection through the primary.
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  try {
    unlinkSync(socketPath);
  } catch {}
  let ready = 0;
  for (let i = 0; i < Number(workers); i++) {
    cluster.fork().on('message', () => {
      if (++ready === Number(workers)) console.log('listening');
    });
  }
  process.on('SIGTERM', () => {
    for (const w of Object.values(cluster.workers)) w.kill('SIGTERM');
    setTimeout(() => process.exit(0), 200);
  });
} else {
  if (!cluster.isWorker) {
    try {
      unlinkSync(socketPath);
    } catch {}
  }
  createServer((socket) => {
    socket.on('error', () => undefined);
    socket.on('data', () => socket.write(reply));
  }).listen(socketPath, () =>
    cluster.isWorker ? process.send('ready') : console.log('listening'),
  );
  process.on('SIGTERM', () => process.exit(0));
}
