// An agent of the current build for the rows of issue 23 (docs/configuration.md: grant, dpop),
// against a provider of its own that also serves the client credentials grant: `main` (a login),
// `dpop` (a login whose tokens are DPoP-bound; oidc-provider binds any client's tokens to a proof's
// key) and `service` (the client credentials grant), all logged in or served once before the row
// measures.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, startLocalProvider } from '../lib/buildEntries.mjs';
import { setupKms } from '../lib/kmsSandbox.mjs';

const SERVICE = { client_id: 'bench-service', client_secret: 'bench-service-secret-0123456789' };

export async function startGrantsAgent({ dir, cleanups }, build, name) {
  const redirectUrl = `http://localhost:${await freePort()}/authorization`;
  const provider = await startLocalProvider({
    redirectUris: [redirectUrl],
    accessTokenTtl: 3600,
    clientCredentialsTtl: 3600,
    clients: [
      {
        ...SERVICE,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
  });
  let providerClosed;
  const closeProvider = () => (providerClosed ??= provider.close());
  cleanups.push(closeProvider);
  const base = join(dir, `grants-${name}`);
  mkdirSync(base);
  const at = { issuer: provider.issuer, redirectUrl };
  const kms = await setupKms({
    dir: base,
    build,
    store: 'file',
    profiles: [
      { name: 'main', ...at },
      { name: 'dpop', ...at, keys: { dpop: true } },
      {
        name: 'service',
        ...at,
        clientId: SERVICE.client_id,
        keys: { grant: 'client_credentials', client_secret: SERVICE.client_secret },
      },
    ],
  });
  cleanups.push(() => kms.stop());
  await kms.start();
  await kms.login('main');
  await kms.login('dpop');
  await kms.rpc('token.get', { profile: 'service' });
  return {
    kms,
    stop: async () => {
      await kms.stop();
      await closeProvider();
    },
  };
}
