// Files small enough to read in one sitting: no source file in src/ or bench/ over 300 lines
// (docs/architecture.md). A file that grows past it holds two concepts: split one out. The bench's
// results (RESULTS.md, its JSON) are written by the bench, not read as code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ROOT } from './support/harness.mjs';

const MAX_LINES = 300;
const CODE = /\.(ts|mts|cts|mjs|cjs|js|c|sh)$/;

function codeUnder(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return codeUnder(path);
    return CODE.test(entry.name) ? [path] : [];
  });
}

test(`no source file in src/ or bench/ has more than ${MAX_LINES} lines`, () => {
  const files = ['src', 'bench'].flatMap((folder) => codeUnder(join(ROOT, folder)));
  assert.ok(files.length > 100, `found ${files.length} files`);
  const long = files
    .map((file) => [relative(ROOT, file), readFileSync(file, 'utf8').split('\n').length - 1])
    .filter(([, lines]) => lines > MAX_LINES);
  assert.deepEqual(long, [], 'split a concept out of each');
});
