#!/usr/bin/env node
// A fake $BROWSER for tests: plays the login pages of the sandbox's provider (FAKE_BROWSER_PROVIDER:
// the local oidc-provider, or Glewlwyd) for the URL it is given, then delivers the callback to the
// agent's loopback listener. Never prints tokens or codes.
import { appendFileSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import {
  deliverCallback,
  playAuthorization as playOidcProvider,
} from '../../dist/demo/browserPlayer.js';
import { playAuthorization as playGlewlwyd } from './glewlwydBrowser.mjs';
import { glewlwydUser } from './glewlwydSetup.mjs';

/**
 * The agent hands the browser a private file:// page that forwards to the authorization URL (the
 * URL itself must never be on a command line); a test that records what it got sets FAKE_BROWSER_ARGV.
 */
function authorizationUrlFrom(arg) {
  if (process.env.FAKE_BROWSER_ARGV) appendFileSync(process.env.FAKE_BROWSER_ARGV, `${arg}\n`);
  if (!arg?.startsWith('file://')) return arg;
  const html = readFileSync(fileURLToPath(arg), 'utf8');
  const match = /<meta http-equiv="refresh" content="0;url=([^"]+)">/.exec(html);
  if (!match) throw new Error('the login page has no forward');
  return match[1]
    .replaceAll('&amp;', '&')
    .replaceAll('&quot;', '"')
    .replaceAll('&#39;', "'")
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>');
}

/** Logs in and consents as `login` (or refuses consent); returns the provider's redirect to the agent. */
function play(authorizationUrl, login, deny) {
  switch (process.env.FAKE_BROWSER_PROVIDER || 'oidc-provider') {
    case 'oidc-provider':
      return playOidcProvider(authorizationUrl, { login, deny });
    case 'glewlwyd':
      // The test adds the user first (provider.userNamed(login)); its password follows from its name.
      if (deny) throw new Error('FAKE_BROWSER_DENY is not played on glewlwyd');
      return playGlewlwyd(authorizationUrl, glewlwydUser(login));
    default:
      throw new Error(`unknown FAKE_BROWSER_PROVIDER ${process.env.FAKE_BROWSER_PROVIDER}`);
  }
}

const authorizationUrl = authorizationUrlFrom(process.argv[2]);
try {
  if (!authorizationUrl) throw new Error('usage: browser.mjs AUTHORIZATION_URL');
  const callbackUrl = await play(
    authorizationUrl,
    process.env.FAKE_BROWSER_LOGIN || 'alice',
    process.env.FAKE_BROWSER_DENY === '1',
  );
  // The harness greps every log for the secrets a test saw, the authorization code among them.
  const code = new URL(callbackUrl).searchParams.get('code');
  if (code && process.env.FAKE_BROWSER_SECRETS)
    appendFileSync(process.env.FAKE_BROWSER_SECRETS, `${code}\n`);
  const { status } = await deliverCallback(callbackUrl);
  // What the agent's listener answered, and what the provider's redirect said besides code and state.
  const params = new URL(callbackUrl).searchParams;
  const line = { status, iss: params.get('iss'), error: params.get('error') };
  if (process.env.FAKE_BROWSER_LOG)
    appendFileSync(process.env.FAKE_BROWSER_LOG, `${JSON.stringify(line)}\n`);
} catch (error) {
  // Messages from browserPlayer name paths only, never URLs with their codes.
  console.error(`fake browser: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
