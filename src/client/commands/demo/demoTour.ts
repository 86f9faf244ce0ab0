import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { AgentClient } from '../../fast/agentClient.js';
import { openBrowser } from '../../browserOpener.js';
import { noDisplayReason } from '../../displayCheck.js';
import { tunnelCommand } from '../login/loginAdvice.js';
import { jwtPayload } from '../../../provider/idTokenRules.js';
import { DemoRun } from './demoRun.js';
import { freePort } from '../../../demo/freePort.js';
import type { TokenReply } from '../../../rpc/methods.js';
import type { LocalProvider } from '../../../demo/localProvider.js';

export interface DemoOptions {
  /** Play the login pages ourselves instead of a person in a browser (headless machines). */
  auto?: boolean | undefined;
  /** Do not open a browser; only print the URL. */
  browser?: boolean | undefined;
  /** Token lifetime at the demo provider, short so that refresh is visible. */
  tokenTtl?: number | undefined;
}

const say = (line = ''): void => void process.stdout.write(line + '\n');
const clock = (unix: number): string => new Date(unix * 1000).toISOString().slice(11, 19);

/** What a token is, in words, without ever printing the token itself. */
function describe(reply: TokenReply): string {
  const claims = jwtPayload(reply.token) ?? {};
  const who = [claims.email, claims.sub].find((claim) => typeof claim === 'string') ?? 'unknown';
  const left = Math.round(reply.expires_at - Date.now() / 1000);
  return `a ${reply.token.length}-character JWT for ${who}, issued by ${String(claims.iss)}, valid until ${clock(reply.expires_at)} (${left} s)`;
}

/**
 * `kms-agent demo`: a local identity provider, a private agent, one login, then a token served,
 * refreshed ahead of expiry and surviving an agent restart — narrated, and cleaned up afterwards.
 */
export async function runDemo(options: DemoOptions = {}): Promise<number> {
  let startLocalProvider;
  try {
    ({ startLocalProvider } = await import('../../../demo/localProvider.js'));
  } catch {
    process.stderr.write(
      'kms-agent demo needs the optional dependency oidc-provider: run `npm install oidc-provider`\n',
    );
    return 1;
  }
  const ttl = options.tokenTtl ?? 20;
  const run = new DemoRun();
  // Its own redirect port, so the demo never collides with a real agent's login on 17899.
  const redirectUrl = `http://localhost:${await freePort()}/authorization`;
  run.providerStarting = startLocalProvider({ accessTokenTtl: ttl, redirectUris: [redirectUrl] });
  try {
    const provider = await run.providerStarting.catch((err: Error) => {
      throw new Error(`cannot start the local provider: ${err.message}`);
    });
    say(`1. A local OpenID provider (oidc-provider) runs at ${provider.issuer}.`);
    say(
      `   Any user name and password log in; its tokens live ${ttl} s so you can watch them refresh.`,
    );
    writeFileSync(
      run.configPath,
      `store_dir = "${join(run.dir, 'store')}"\n\n[profiles.demo]\nclient_id = "kms-agent-test"\nissuer = "${provider.issuer}"\nredirect_url = "${redirectUrl}"\nstore = "file"\n`,
      { mode: 0o600 },
    );
    const started = await run.launch();
    say(
      `2. A private agent${started.state === 'started' ? ` (pid ${started.pid})` : ''} listens on ${run.socketPath}.`,
    );
    say('   Its refresh token goes to a 0600 file in a temporary directory, not your keychain.');
    await logIn(await run.connect(), options);
    const first = await watchRefresh(run.client!, provider, ttl);
    await restart(run, provider, first);
    say('Done. Everything the demo started is stopped and its files are removed.');
    return 0;
  } catch (err) {
    if (run.interrupted) return 130; // the interrupt handler is cleaning up and exits with 130
    const cause = (err as { cause?: { message?: string } }).cause?.message;
    process.stderr.write(
      `kms-agent demo: ${(err as Error).message}${cause ? ` (${cause})` : ''}\n`,
    );
    return 1;
  } finally {
    await run.cleanup();
  }
}

/** Step 3: the login, played by the demo itself when no browser can open here (or with --auto). */
async function logIn(client: AgentClient, options: DemoOptions): Promise<void> {
  const login = await client.call('login.start', { profile: 'demo' });
  // --no-browser leaves the login to the user, display or not: the URL is what they asked for.
  const headless = noDisplayReason(process.env) !== undefined;
  const auto = options.auto ?? (options.browser !== false && headless);
  say('3. Logging in with Authorization Code + PKCE. The login page is:');
  say(`   ${login.url}`);
  if (options.browser === false && !auto) {
    const elsewhere = `on another machine connected with \`${tunnelCommand(login.url)}\``;
    say(`   Open it in a browser here, or ${elsewhere}; log in with any name and password.`);
  } else if (auto) {
    say('   No browser here (or --auto): playing the login pages as user "alice".');
    const { playAuthorization, deliverCallback } = await import('../../../demo/browserPlayer.js');
    await deliverCallback(await playAuthorization(login.url, { login: 'alice' }));
  } else if (options.browser !== false) {
    const problem = await openBrowser(login.browser_url ?? login.url);
    say(
      problem
        ? `   Could not open a browser (${problem}): open the URL yourself.`
        : '   Opened in your browser: log in with any name and password.',
    );
  }
  const who = await client.call('login.wait', { login_id: login.login_id, timeout: 300 });
  say(`   Logged in as ${who.email ?? who.subject}.`);
}

/** Steps 4 and 5: a token served, then refreshed by the agent on its own before it expires. */
async function watchRefresh(
  client: AgentClient,
  provider: LocalProvider,
  ttl: number,
): Promise<TokenReply> {
  const first = await client.call('token.get', { profile: 'demo' });
  say(`4. Token served: ${describe(first)}.`);
  say('   Scripts get it with `kms-agent token`; the token itself is never printed here.');
  const refreshesBefore = provider.stats.grants.refresh_token ?? 0;
  say('5. Waiting for the agent to refresh it in the background, before it expires…');
  let refreshed = first;
  const deadline = Date.now() + (ttl + 10) * 1000;
  while (refreshed.token === first.token && Date.now() < deadline) {
    await delay(500);
    const status = await client.call('agent.status', {});
    const profile = status.profiles.find((p) => p.name === 'demo');
    if (profile?.expires_at && profile.expires_at !== first.expires_at)
      refreshed = await client.call('token.get', { profile: 'demo' });
  }
  if (refreshed.token === first.token)
    throw new Error('the agent did not refresh the token in time');
  say(
    `   Refreshed ${Math.round(first.expires_at - Date.now() / 1000)} s before the old token expired: ${describe(refreshed)}.`,
  );
  say(
    `   Refresh requests the provider saw: ${(provider.stats.grants.refresh_token ?? 0) - refreshesBefore}.`,
  );
  return first;
}

/** Step 6: a new agent serves a token from the stored refresh token, with no new login. */
async function restart(run: DemoRun, provider: LocalProvider, first: TokenReply): Promise<void> {
  say('6. Restarting the agent: the login must survive.');
  await run.stopAgent(run.client!);
  const logins = provider.stats.grants.authorization_code ?? 0;
  const refreshes = provider.stats.grants.refresh_token ?? 0;
  const again = await run.launch();
  const afterRestart = await (await run.connect()).call('token.get', { profile: 'demo' });
  if (afterRestart.token === first.token)
    throw new Error('the new agent served the first token again');
  say(
    `   New agent${again.state === 'started' ? ` (pid ${again.pid})` : ''} served ${describe(afterRestart)}`,
  );
  const used = (provider.stats.grants.refresh_token ?? 0) - refreshes;
  say(
    `   from the stored refresh token (${used} refresh request); new logins needed: ${(provider.stats.grants.authorization_code ?? 0) - logins}.`,
  );
}
