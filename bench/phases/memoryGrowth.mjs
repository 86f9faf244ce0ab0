// Memory after many requests: RSS before and after segments of a million pipelined requests to
// kms-agent, and of one-request-per-connection load to both agents, each after a warm-up (JIT,
// pools, buffers), so that the growth measured is what the requests leave behind.
import { oidcTokenRequest, tokenRequest } from '../lib/agentRpc.mjs';
import { snapshot } from '../lib/procstat.mjs';
import { sleep } from '../lib/processControl.mjs';

/** RSS of `pids()` before and after `load`, and 3 s after ("settled"). */
async function memoryRun(pids, load) {
  const before = snapshot(pids());
  const result = await load();
  const after = snapshot(pids());
  await sleep(3000);
  const settled = snapshot(pids());
  return {
    requests: result.requests,
    errors: result.errors,
    tokensPerSec: result.tokensPerSec,
    elapsedMs: result.elapsedMs,
    before: before.rssMiB,
    after: after.rssMiB,
    settled: settled.rssMiB,
    hwm: settled.hwmMiB,
  };
}

/** loadgen's spec for `totalRequests` pipelined requests on 50 connections. */
export const pipelinedSpec = (P, socket, totalRequests) => ({
  agent: 'kms',
  socket,
  mode: 'pipe',
  concurrency: 50,
  depth: P.pipeDepth,
  totalRequests,
  keepLatencies: false,
});

export async function measureMemoryGrowth({ P, say, tools, kms, oidc }) {
  const count = (n) => n.toLocaleString('en');
  say(`memory: ${P.memorySegments} × ${count(P.million)} pipelined requests to kms-agent`);
  const kmsPids = () => [kms.pid];
  const oidcPids = () => oidc.pids;
  // Warm up first (JIT, pools, buffers), so the growth measured is what the requests leave.
  await tools.pipelined(pipelinedSpec(P, kms.socket, 100_000));
  await sleep(2000);
  // Consecutive segments of a million: RSS moves with the GC schedule, so one segment alone can
  // show growth or shrinkage by chance; the median segment is the figure, all are reported.
  const memory = { kmsPipe: [] };
  for (let segment = 0; segment < P.memorySegments; segment++) {
    const load = () => tools.pipelined(pipelinedSpec(P, kms.socket, P.million), 300_000);
    memory.kmsPipe.push(await memoryRun(kmsPids, load));
  }
  const half = `count=${P.churn / 2}`;
  say(`memory: 2 × ${count(P.churn / 2)} one-per-connection requests to each agent`);
  // Two segments: growth in the first and none in the second is a heap settling, not a leak.
  memory.kmsConn = [];
  memory.oidcConn = [];
  const kmsLoad = () => tools.oneShot(kms.socket, 'kms', tokenRequest('main'), 8, [half], 300_000);
  const oidcRequest = oidcTokenRequest('bench', 60);
  const oidcLoad = () => tools.oneShot(oidc.socket, 'oidc', oidcRequest, 8, [half], 300_000);
  for (let segment = 0; segment < 2; segment++) {
    memory.kmsConn.push(await memoryRun(kmsPids, kmsLoad));
    memory.oidcConn.push(await memoryRun(oidcPids, oidcLoad));
  }
  return memory;
}
