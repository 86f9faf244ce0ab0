// Probe: loads what `kms-agent token` loads (dist/client/bin.cjs's fast path: node:net and the
// fast path's own files) and stops before connecting: the cost of the thin client's modules.
'use strict';
require('../../dist/client/tokenFastPath.cjs');
