// What Node frees in the C heap goes back to the system when the agent trims it
// (src/os/libc.ts trimCHeap, called by src/daemon/memoryWhenQuiet.ts): glibc keeps freed chunks
// between live ones for reuse, and only malloc_trim hands their pages back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { ROOT } from './support/harness.mjs';

// In a child: 64 KiB buffers (below glibc's mmap threshold, so from the heap), every tenth kept,
// so that the freed ones sit between live ones; RSS after a GC, then after the trim.
const PROGRAM = `
const { trimCHeap } = await import(${JSON.stringify(`${ROOT}/dist/os/libc.js`)});
const rssMiB = () => process.memoryUsage.rss() / 1048576;
let buffers = Array.from({ length: 1200 }, () => Buffer.alloc(64 * 1024, 1));
const kept = buffers.filter((_, i) => i % 10 === 0);
buffers = undefined;
for (let i = 0; i < 3; i++) { gc(); await new Promise((r) => setTimeout(r, 50)); }
const before = rssMiB();
const trimmed = trimCHeap();
console.log(JSON.stringify({ trimmed, before, after: rssMiB(), kept: kept.length }));
`;

test(
  'trimCHeap gives the pages of freed C heap chunks back',
  { skip: process.platform !== 'linux' },
  () => {
    const out = execFileSync(
      process.execPath,
      ['--expose-gc', '--input-type=module', '-e', PROGRAM],
      {
        encoding: 'utf8',
      },
    );
    const { trimmed, before, after } = JSON.parse(out);
    assert.equal(trimmed, true, 'glibc has malloc_trim');
    assert.ok(before - after > 30, `RSS ${before.toFixed(1)} -> ${after.toFixed(1)} MiB`);
  },
);
