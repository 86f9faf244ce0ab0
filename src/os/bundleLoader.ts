/**
 * The one loader of the bundles the build writes (scripts/build.mjs): the fast path of the CLI and
 * the daemon. Each is a CommonJS module body wrapped as a function expression, so the file's text
 * is exactly what V8 compiles, and V8's code cache beside it (`<bundle>.cache`, made by a warm-up
 * run when it was built) always matches it: the functions a call runs come already compiled, and
 * no ES module loader starts (bench/RESULTS.md has what each saves). A cache from another V8 or
 * other flags is rejected by V8 itself: the bundle then compiles as usual.
 */
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { Script } from 'node:vm';
import { nodeRequire } from './packageFiles.js';

type ModuleBody = (
  exports: unknown,
  require: NodeJS.Require,
  module: { exports: unknown },
  filename: string,
  dirname: string,
) => void;

/** Runs the bundle `file` as Node runs a module and returns its exports; `compiled` sees its script. */
export function loadBundle<T>(file: string, compiled?: (script: Script) => void): T {
  let cachedData: Buffer | undefined;
  try {
    cachedData = readFileSync(`${file}.cache`);
  } catch {
    // No cache (a build that could not make one): V8 compiles the bundle as it runs.
  }
  const source = readFileSync(file, 'utf8');
  const script = new Script(
    source,
    cachedData ? { filename: file, cachedData } : { filename: file },
  );
  compiled?.(script);
  const module = { exports: {} };
  const body = script.runInThisContext() as ModuleBody;
  body(module.exports, nodeRequire(), module, file, dirname(file));
  return module.exports as T;
}
