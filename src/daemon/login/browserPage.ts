import { randomBytes } from 'node:crypto';
import { open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { escapeMarkup } from '../../text/markupText.js';

export interface BrowserPage {
  /** file://… of a page that forwards to the authorization URL. */
  readonly url: string;
  remove(): Promise<void>;
}

/**
 * The browser is started with a command line every local user can read in /proc, so it never gets
 * the authorization URL (its state and code_challenge let another user race the login). It gets
 * this page instead: a 0600 file in the agent's 0700 socket directory that forwards to the URL.
 */
export async function writeBrowserPage(
  dir: string,
  authorizationUrl: string,
): Promise<BrowserPage> {
  const path = join(dir, `login-${randomBytes(12).toString('hex')}.html`);
  const target = escapeMarkup(authorizationUrl);
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="referrer" content="no-referrer">
<meta http-equiv="refresh" content="0;url=${target}"><title>kms-agent login</title></head>
<body><p>Taking you to your identity provider… <a href="${target}">Continue</a></p></body></html>
`;
  const file = await open(path, 'wx', 0o600);
  try {
    await file.writeFile(html);
  } finally {
    await file.close();
  }
  return { url: pathToFileURL(path).href, remove: () => unlink(path).catch(() => undefined) };
}
