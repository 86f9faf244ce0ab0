// Comments and docs cannot go stale silently: every file name or path of this repository that a
// comment (src/, test/, bench/, scripts/) or a doc (docs/, README.md, bench/*.md) names must exist,
// as a path from the repository's root, or as the end of one (`daemon/agentLock.ts`, a bare
// `agentLock.ts`). dist/ is the build's: the tests run after `npm run build`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ROOT } from './support/harness.mjs';

const CODE = /\.(ts|mjs|cjs|js|sh)$/;
const SKIP = new Set(['node_modules', '.git', 'test-output']);

function filesUnder(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (SKIP.has(entry.name)) return [];
    const path = join(dir, entry.name);
    return entry.isDirectory() ? filesUnder(path) : [path];
  });
}

/** Every path of the repository (and of dist/), from its root. */
const EXISTING = filesUnder(ROOT).map((path) => relative(ROOT, path));

/** A name of a file of ours: a path, or a bare name, ending in one of our extensions. */
const NAMED =
  /(?<![\w./@-])(?:[\w-]+\/)*[\w-]+(?:\.[\w-]+)*\.(?:ts|cts|mts|mjs|cjs|js|sh|md)(?![\w/])/g;

/**
 * Names that are not files of this repository: other projects' files, the files a user or a test
 * makes, and the patterns some comments name.
 */
const NOT_OURS = [
  /^node_modules\//,
  /^(?:lib|dist)\/(?:webapi\/)?[\w/]+\.c?js$/,
  /^index\.cjs$/,
  /^(?:hook|pinentry|browser|helper|stand-in)\.[cm]?js$/,
  /^[\w.-]+\.d\.ts$/,
  /^(?:CHANGELOG|SECURITY|LICENSE)\.md$/,
];

/** The text a file says in words: a doc whole, a code file's comments. */
function wordsOf(file, text) {
  if (!CODE.test(file)) return text;
  if (file.endsWith('.sh'))
    return text
      .split('\n')
      .map((line) => line.replace(/^[^#]*#?/, ''))
      .join('\n');
  const comments = text.match(/\/\*[\s\S]*?\*\/|(?<![:'"`\w])\/\/.*$/gm) ?? [];
  return comments.join('\n');
}

const exists = (name) => EXISTING.some((path) => path === name || path.endsWith(`/${name}`));

test('every repository path a comment or a doc names exists', () => {
  const files = ['src', 'test', 'bench', 'scripts', 'docs']
    .flatMap((folder) => filesUnder(join(ROOT, folder)))
    .concat(join(ROOT, 'README.md'))
    .filter((file) => CODE.test(file) || file.endsWith('.md'));
  assert.ok(files.length > 300, `read ${files.length} files`);
  const stale = [];
  for (const file of files) {
    const words = wordsOf(file, readFileSync(file, 'utf8'));
    for (const [name] of words.matchAll(NAMED)) {
      if (NOT_OURS.some((pattern) => pattern.test(name)) || exists(name)) continue;
      stale.push(`${relative(ROOT, file)}: ${name}`);
    }
  }
  assert.deepEqual([...new Set(stale)], []);
});

test('the path check can fail: a name of a file that is gone is found', () => {
  const words = wordsOf(
    'x.ts',
    "// see src/rpc/socketSafety.cts and tokenFastPath.ts\nconst s = 'x';\n",
  );
  const names = [...words.matchAll(NAMED)].map(([name]) => name);
  assert.deepEqual(names, ['src/rpc/socketSafety.cts', 'tokenFastPath.ts']);
  assert.deepEqual(
    names.filter((name) => !exists(name)),
    names,
  );
  assert.ok(
    exists('src/daemon/agentLock.ts') && exists('agentLock.ts') && exists('daemon/agentLock.ts'),
  );
});
