// Probe: loads the module graph of `kms-agent token` (dist/client/main.js's fast path) and stops
// before connecting: the cost of the thin client's imports.
import '../../dist/client/tokenCommand.js';
