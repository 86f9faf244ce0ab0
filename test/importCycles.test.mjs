// No module imports itself through others: a cycle in src/ or bench/ (or the scripts and test
// support around them) means two concepts that cannot be read, or changed, one before the other.
// Every import counts (type-only and dynamic ones too), as written in the source.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';
import { ROOT } from './support/harness.mjs';

const FOLDERS = ['src', 'bench', 'scripts', 'test/support'];
const SOURCE = /\.(ts|mjs|cjs|js)$/;

function filesUnder(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return filesUnder(path);
    return SOURCE.test(entry.name) && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** The files of ours `file` imports: relative specifiers, `./x.js` standing for `./x.ts` in src/. */
function importsOf(file, known) {
  const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  return importedFiles
    .map(({ fileName }) => fileName)
    .filter((spec) => spec.startsWith('.'))
    .map((spec) => join(dirname(file), spec))
    .map((path) => (known.has(path) ? path : path.replace(/\.js$/, '.ts')))
    .filter((path) => known.has(path));
}

/** Every cycle of the graph, as the files of one strongly connected component (Tarjan). */
function cycles(graph) {
  const index = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const found = [];
  let next = 0;
  const visit = (node) => {
    index.set(node, next);
    low.set(node, next++);
    stack.push(node);
    onStack.add(node);
    for (const to of graph.get(node)) {
      if (!index.has(to)) {
        visit(to);
        low.set(node, Math.min(low.get(node), low.get(to)));
      } else if (onStack.has(to)) {
        low.set(node, Math.min(low.get(node), index.get(to)));
      }
    }
    if (low.get(node) !== index.get(node)) return;
    const component = [];
    let member;
    do {
      member = stack.pop();
      onStack.delete(member);
      component.push(member);
    } while (member !== node);
    if (component.length > 1 || graph.get(node).includes(node)) found.push(component);
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return found;
}

test('no import cycles in src/, bench/, scripts/ or test/support/', () => {
  const files = FOLDERS.flatMap((folder) => filesUnder(join(ROOT, folder)));
  const known = new Set(files);
  const graph = new Map(files.map((file) => [file, importsOf(file, known)]));
  const edges = [...graph.values()].reduce((n, to) => n + to.length, 0);
  assert.ok(files.length > 200 && edges > 400, `read ${files.length} files, ${edges} imports`);
  const names = cycles(graph).map((c) =>
    c
      .map((f) => relative(ROOT, f))
      .sort()
      .join(' -> '),
  );
  assert.deepEqual(names, []);
});

test('the cycle check can fail: it finds a cycle when there is one', () => {
  const graph = new Map([
    ['a', ['b']],
    ['b', ['c']],
    ['c', ['a']],
    ['d', ['a']],
  ]);
  assert.deepEqual(
    cycles(graph).map((c) => c.sort()),
    [['a', 'b', 'c']],
  );
});
