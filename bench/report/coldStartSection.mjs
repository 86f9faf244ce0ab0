// "Cold start": from nothing running to the first token, both agents.
import { median, ratio } from '../lib/stats.mjs';
import { ms, x } from './markdown.mjs';

export function coldStartSection(R, line, table) {
  const C = R.cold;
  const cm = (a, k) => median(C[a].map((r) => r[k]));
  line('## Cold start');
  line();
  line(
    `From nothing running to the first token, ${C.kms.length} times each. kms-agent: ` +
      '`kms-agent start` (returns once the daemon listens), then `token.get`: the daemon reads ' +
      `the login from its store (${R.store}) and refreshes at the provider. oidc-agent: ` +
      '`oidc-agent` (daemonises), `oidc-add --pw-env bench` (decrypts the account file, ' +
      'refreshes), `oidc-token bench`.',
  );
  line();
  const firstTokens = ratio(cm('kms', 'firstTokenMs'), cm('oidc', 'firstTokenMs'));
  table(
    ['agent', 'agent listening', 'first token', 'ratio'],
    [
      ['kms-agent', ms(cm('kms', 'startMs')), ms(cm('kms', 'firstTokenMs')), x(firstTokens)],
      [
        'oidc-agent',
        `${ms(cm('oidc', 'startMs'))} (+ oidc-add: ${ms(cm('oidc', 'addMs'))})`,
        ms(cm('oidc', 'firstTokenMs')),
        '1.00×',
      ],
    ],
  );
}
