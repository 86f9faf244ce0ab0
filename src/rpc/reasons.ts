/**
 * The daemon's modules import AgentError from here; it is defined in jsonRpc.cts (CommonJS, so
 * that the `kms-agent token` fast path shares it). New code imports jsonRpc.cjs directly.
 */
export { AgentError } from './jsonRpc.cjs';
