// The refresh storm: a provider whose tokens live a few seconds; once an agent's token has
// expired, a thousand clients connect at once and each asks for a token. Refreshes are counted at
// the provider's token endpoint, per client, between the first connect and the last answer.
import { oidcTokenRequest, tokenRequest } from '../lib/agentRpc.mjs';
import { LOCAL_PUBLIC_CLIENT_ID } from '../lib/buildEntries.mjs';
import { OIDC_AGENT_CLIENT } from '../lib/oidcAgentSandbox.mjs';
import { sleep } from '../lib/processControl.mjs';

/** The client id of a token request: its client_id field, or the HTTP Basic user. */
function clientIdOf(ctx, body) {
  if (body.get('client_id')) return body.get('client_id');
  const basic = /^Basic (.+)$/.exec(ctx.get('authorization') ?? '')?.[1];
  if (!basic) return '?';
  return decodeURIComponent(Buffer.from(basic, 'base64').toString().split(':')[0]);
}

/** Records every POST /token of `provider`: when, which grant, which client. */
export function recordTokenCalls(provider) {
  const calls = [];
  provider.setFault((ctx) => {
    if (ctx.method === 'POST' && ctx.path === '/token') {
      const raw = typeof ctx.request.body === 'string' ? ctx.request.body : '';
      const body = new URLSearchParams(raw);
      const clientId = clientIdOf(ctx, body);
      calls.push({ at: performance.now(), grant: ctx.state.grantType, clientId });
    }
    return undefined;
  });
  return calls;
}

/** `P.storms` storms of `P.stormClients` requests per agent, the agents taking turns. */
export async function measureStorms({ P, say, tools, kms, oidc, tokenCalls }) {
  say(`refresh storm: ${P.storms} × ${P.stormClients} concurrent requests at expiry, each agent`);
  const ofClient = (clientId) => tokenCalls.filter((c) => c.clientId === clientId);
  const lastTokenCall = (clientId) => Math.max(0, ...ofClient(clientId).map((c) => c.at));
  const ttlMs = P.stormTtl * 1000;
  async function waitExpired(clientId) {
    // Tokens live stormTtl s; wait until the newest one is past expiry (bounded).
    for (let i = 0; i < 200; i++) {
      const since = performance.now() - lastTokenCall(clientId);
      if (since > ttlMs + 400) return;
      await sleep(Math.min(500, ttlMs + 450 - since));
    }
    throw new Error(`the ${clientId} token never expired`);
  }
  const stormRuns = { kms: [], oidc: [] };
  const agents = [
    {
      agent: 'kms',
      clientId: LOCAL_PUBLIC_CLIENT_ID,
      socket: kms.socket,
      request: tokenRequest('storm'),
    },
    {
      agent: 'oidc',
      clientId: OIDC_AGENT_CLIENT.client_id,
      socket: oidc.socket,
      request: oidcTokenRequest('storm', 0),
    },
  ];
  for (let s = 0; s < P.storms; s++) {
    for (const a of agents) {
      await waitExpired(a.clientId);
      const from = performance.now();
      const r = await tools.oneShot(a.socket, a.agent, a.request, P.stormClients, ['burst']);
      const to = performance.now();
      const calls = ofClient(a.clientId).filter((c) => c.at >= from && c.at <= to);
      const refreshes = calls.filter((c) => c.grant === 'refresh_token').length;
      stormRuns[a.agent].push({ ...r, refreshes, tokenCalls: calls.length });
      say(
        `storm ${s + 1} ${a.agent}: ${r.requests}/${P.stormClients} answered in ` +
          `${r.elapsedMs.toFixed(0)} ms, ${refreshes} refresh(es), ${r.errors} errors`,
      );
    }
  }
  return stormRuns;
}
