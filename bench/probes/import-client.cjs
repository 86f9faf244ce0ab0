// Probe: loads what `kms-agent token` loads (the fast-path bundle named on the command line,
// compiled with its code cache when there is one, which loads node:net) and stops before
// connecting: the cost of the thin client's own code. bench/lib/buildEntries.mjs finds the bundle.
'use strict';
const { existsSync, readFileSync } = require('node:fs');
const { dirname, join } = require('node:path');
const { Script } = require('node:vm');

const bundle = process.argv[2];
const cache = `${bundle}.cache`;
const cachedData = existsSync(cache) ? readFileSync(cache) : undefined;
const script = new Script(readFileSync(bundle, 'utf8'), { filename: bundle, cachedData });
// The bundle evaluates to a function of (require, the dist/ directory it was built from).
script.runInThisContext()(require, join(dirname(bundle), '..'));
