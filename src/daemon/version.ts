/** The daemon's modules import VERSION from here; it is defined once, in src/rpc/version.ts, for both sides. */
export { VERSION } from '../rpc/version.js';
