// Probe: loads what `kms-agent token` loads (dist/client/bin.cjs: the fast-path bundle compiled
// with its code cache, which loads node:net) and stops before connecting: the cost of the thin
// client's own code.
'use strict';
const { readFileSync } = require('node:fs');
const { join } = require('node:path');
const { Script } = require('node:vm');

const bundle = join(__dirname, '..', '..', 'dist', 'client', 'fastPath.bundle.cjs');
const script = new Script(readFileSync(bundle, 'utf8'), { filename: bundle, cachedData: readFileSync(`${bundle}.cache`) });
script.runInThisContext()(require, join(__dirname, '..', '..', 'dist'));
