// "Refresh storm": a thousand concurrent requests at expiry, how many provider refreshes each
// agent made, and how long until every client had its token.
import { median, ratio } from '../lib/stats.mjs';
import { fmt, ms, x } from './markdown.mjs';

export function stormSection(R, line, table) {
  const P = R.parameters;
  line('## Refresh storm');
  line();
  line(
    `A second provider issues tokens that live ${P.stormTtl} s. Once the agent's token has ` +
      `expired (no request in between), ${fmt(P.stormClients)} client threads connect at once ` +
      'and each asks for a token (one request per connection). ' +
      "Provider refreshes are counted at the provider's token endpoint, per client, between the " +
      'first connect and the last answer. ' +
      'kms-agent writes a rotated refresh token to its store before it answers anyone.',
  );
  line();
  const rows = [];
  for (const agent of ['kms', 'oidc']) {
    R.stormRuns[agent].forEach((r, i) =>
      rows.push([
        `${agent === 'kms' ? 'kms-agent' : 'oidc-agent'} #${i + 1}`,
        `${r.requests} / ${P.stormClients}`,
        String(r.errors),
        String(r.refreshes),
        ms(r.elapsedMs, 0),
        `${fmt(r.p50Ms, 1)} / ${fmt(r.p99Ms, 1)}`,
      ]),
    );
  }
  const head = ['storm', 'answered', 'errors', 'provider refreshes', 'until all answered'];
  table([...head, 'latency p50 / p99 (ms)'], rows);
  const med = (a) => median(R.stormRuns[a].map((r) => r.elapsedMs));
  line(
    `Median time until all ${fmt(P.stormClients)} are answered: kms-agent ${ms(med('kms'), 0)}, ` +
      `oidc-agent ${ms(med('oidc'), 0)} (${x(ratio(med('kms'), med('oidc')))}).`,
  );
  line();
}
