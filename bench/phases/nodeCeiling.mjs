// One-shot tokens/s that no Node daemon on this machine can beat: a server that only answers a
// fixed line of the size of kms-agent's reply (bench/probes/bare-server.cjs), in one process and
// in two (cluster, SCHED_NONE), under the same load as the agents.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { rpc, tokenRequest } from '../lib/agentRpc.mjs';
import { ROOT } from '../lib/buildEntries.mjs';
import { stopPid } from '../lib/processControl.mjs';
import { median } from '../lib/stats.mjs';

const BARE = join(ROOT, 'bench', 'probes', 'bare-server.cjs');

export async function measureNodeCeiling({ P, dir, tools, quiet, kms, cleanups }) {
  const reply = await rpc(kms.socket, 'token.get', { profile: 'main', kind: 'access' });
  const replyBytes = JSON.stringify({ jsonrpc: '2.0', id: 1, result: reply }).length + 1;
  const ceiling = { replyBytes };
  for (const workers of [1, 2]) {
    const socket = join(dir, `bare-${workers}.sock`);
    const server = spawn(process.execPath, [BARE, socket, String(replyBytes), String(workers)], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    cleanups.push(() => stopPid(server.pid));
    await new Promise((resolve, reject) => {
      server.stdout.once('data', resolve);
      server.once('exit', () => reject(new Error('bench/probes/bare-server.cjs exited')));
    });
    const rates = [];
    const window = [P.warmupMs, P.windowMs];
    for (let rep = 0; rep < P.reps; rep++) {
      await quiet.waitQuiet(`bare server ×${workers}`, () => [server.pid]);
      const r = await tools.oneShot(socket, 'kms', tokenRequest('main'), 8, window);
      rates.push(r.tokensPerSec);
    }
    server.removeAllListeners('exit');
    await stopPid(server.pid);
    ceiling[workers === 1 ? 'oneProcess' : 'twoProcesses'] = median(rates);
  }
  return ceiling;
}
