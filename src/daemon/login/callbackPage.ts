import { escapeMarkup } from '../../text/markupText.js';

/** The small page the browser lands on after the provider redirects back to the agent. */
export function callbackPage(ok: boolean, title: string, detail: string): string {
  const colour = ok ? '#1a7f37' : '#cf222e';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>kms-agent: ${escapeMarkup(title)}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:34em;margin:4em auto;padding:0 1em;color:#24292f}
h1{font-size:1.4em;color:${colour}}p{margin:.6em 0}code{background:#f6f8fa;padding:.1em .3em}</style></head>
<body><h1>${escapeMarkup(title)}</h1><p>${escapeMarkup(detail)}</p></body></html>
`;
}

/** Headers that keep the page (and the code in its URL) out of caches, referrers and frames. */
export const CALLBACK_PAGE_HEADERS = {
  'Content-Type': 'text/html; charset=utf-8',
  'Cache-Control': 'no-store',
  'Referrer-Policy': 'no-referrer',
  'Content-Security-Policy':
    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  Connection: 'close',
};
