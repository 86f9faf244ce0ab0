// Probe: Node's start plus loading node:net (what any socket client pays before connecting).
'use strict';
require('node:net');
