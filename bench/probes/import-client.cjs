// Probe: loads what `kms-agent token` loads (the fast-path bundle named on the command line,
// compiled with its code cache when there is one, which loads node:net) and stops before
// connecting: the cost of the thin client's own code. bench/lib/buildEntries.mjs finds the bundle;
// it is loaded as src/os/bundleLoader.ts loads it.
'use strict';
const { existsSync, readFileSync } = require('node:fs');
const { dirname } = require('node:path');
const { Script } = require('node:vm');

const bundle = process.argv[2];
const cache = `${bundle}.cache`;
const cachedData = existsSync(cache) ? readFileSync(cache) : undefined;
const script = new Script(readFileSync(bundle, 'utf8'), { filename: bundle, cachedData });
// The bundle is a CommonJS module body wrapped as a function expression.
const loaded = { exports: {} };
script.runInThisContext()(loaded.exports, require, loaded, bundle, dirname(bundle));
