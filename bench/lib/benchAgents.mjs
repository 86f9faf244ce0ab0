// What a full run measures, under one temporary directory: two local OpenID providers (one with
// long-lived tokens for throughput, one with short-lived tokens for the refresh storm), a private
// D-Bus session with gnome-keyring when available (else kms-agent's file store), a kms-agent
// started with `kms-agent start` and logged in to both, and an oidc-agent on its own socket with
// its own HOME, enrolled on both.
import { oidcTokenRequest, tokenRequest } from './agentRpc.mjs';
import { freePort, startLocalProvider } from './buildEntries.mjs';
import { setupKms } from './kmsSandbox.mjs';
import { oidcAgentClientMetadata, setupOidcAgent } from './oidcAgentSandbox.mjs';
import { startPrivateKeyring } from './privateKeyring.mjs';

export async function startProviders({ P, cleanups }) {
  const redirectUrl = `http://localhost:${await freePort()}/authorization`;
  const options = { redirectUris: [redirectUrl], clients: [oidcAgentClientMetadata()] };
  const main = await startLocalProvider({ ...options, accessTokenTtl: 3600 });
  cleanups.push(() => main.close());
  const storm = await startLocalProvider({ ...options, accessTokenTtl: P.stormTtl });
  cleanups.push(() => storm.close());
  return { main, storm, redirectUrl };
}

/** The run's keyring, or null (said) when there is none: kms-agent then uses its file store. */
export async function startKeyringIfAny({ dir, say, cleanups }) {
  const keyring = await startPrivateKeyring(dir).catch((err) => {
    say(`no private keyring (${err.message}): kms-agent uses its file store`);
    return null;
  });
  if (keyring) cleanups.push(() => keyring.stop());
  return keyring;
}

/** Both agents serve an access token for the same user over their socket. */
async function checkBothServe({ tools, kms, oidc }) {
  const agents = [
    ['kms', kms.socket, tokenRequest('main')],
    ['oidc', oidc.socket, oidcTokenRequest('bench', 60)],
  ];
  for (const [agent, socket, request] of agents) {
    const r = await tools.oneShot(socket, agent, request, 1, ['count=1']);
    if (r.errors || r.requests !== 1) {
      throw new Error(`${agent}: no token over the socket: ${r.firstError}`);
    }
  }
}

export async function startAgents({ dir, say, cleanups, tools, providers, keyring }) {
  const store = keyring ? 'keychain' : 'file';
  const { main, storm, redirectUrl } = providers;
  const kms = await setupKms({
    dir,
    store,
    busAddress: keyring?.address,
    profiles: [
      { name: 'main', issuer: main.issuer, redirectUrl },
      { name: 'storm', issuer: storm.issuer, redirectUrl },
    ],
  });
  cleanups.push(() => kms.stop());
  await kms.start();
  await kms.login('main');
  await kms.login('storm');
  const status = await kms.rpc('agent.status');
  const storeOf = (p) => `${p.name}: ${p.store}${p.store_warning ? ` (${p.store_warning})` : ''}`;
  const kmsStore = status.profiles.map(storeOf).join(', ');
  say(`kms-agent ${kms.pid} logged in (${kmsStore})`);

  const oidc = await setupOidcAgent({ dir });
  cleanups.push(() => oidc.stop());
  await oidc.start();
  await oidc.enroll('bench', main.issuer);
  await oidc.enroll('storm', storm.issuer);
  say(`oidc-agent ${oidc.pids.join('+')} enrolled (accounts bench, storm)`);
  await checkBothServe({ tools, kms, oidc });
  return { kms, oidc, store, kmsStore };
}
