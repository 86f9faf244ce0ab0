// From nothing running to the first token, both agents, restarted in turns (last: it restarts
// both). kms-agent: `kms-agent start`, then token.get (the login comes back from the store and is
// refreshed at the provider). oidc-agent: `oidc-agent`, `oidc-add`, `oidc-token`.
import { rpc } from '../lib/agentRpc.mjs';

async function kmsColdStart(kms) {
  await kms.stop();
  const t = performance.now();
  await kms.start();
  const startMs = performance.now() - t;
  await rpc(kms.socket, 'token.get', { profile: 'main', kind: 'access' }, 30_000);
  return { startMs, firstTokenMs: performance.now() - t };
}

async function oidcColdStart(oidc) {
  await oidc.stop();
  const t = performance.now();
  await oidc.start();
  const startMs = performance.now() - t;
  const add = await oidc.add('bench');
  if (add.code !== 0) throw new Error(`oidc-add failed: ${add.stderr}`);
  const addMs = performance.now() - t;
  const tok = await oidc.token('bench');
  if (tok.code !== 0 || tok.stdout.trim().length < 20) {
    throw new Error(`oidc-token failed after restart: ${tok.stderr}`);
  }
  return { startMs, addMs, firstTokenMs: performance.now() - t };
}

export async function measureColdStart({ P, say, kms, oidc }) {
  say(`cold start: ${P.coldRuns} restarts of each agent`);
  const cold = { kms: [], oidc: [] };
  for (let i = 0; i < P.coldRuns; i++) {
    cold.kms.push(await kmsColdStart(kms));
    cold.oidc.push(await oidcColdStart(oidc));
  }
  return cold;
}
