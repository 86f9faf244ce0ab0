// "Where targets are missed: causes, with evidence" (or "Diagnostics" when every target is met):
// the profiles the run took, and what they say.
import { cliCauses } from './cliCauses.mjs';
import { memoryCauses } from './memoryCauses.mjs';
import { throughputCauses } from './throughputCauses.mjs';

export function diagnosesSection(R, line, table) {
  const { met, parameters: P, targets: T } = R;
  const anyMissed = !(met.throughputConn && met.cli && met.storm && met.rss);
  if (anyMissed || R.profiles.daemon || R.profiles.client || R.profiles.memory) {
    line(anyMissed ? '## Where targets are missed: causes, with evidence' : '## Diagnostics');
    line();
  }
  if (R.profiles.daemon) throughputCauses(R, line, table);
  if (R.profiles.client) cliCauses(R, line, table);
  if (!met.storm) {
    const firstError = R.stormRuns.kms.find((r) => r.firstError)?.firstError ?? 'none';
    const answered = R.stormRuns.kms.map((r) => r.requests).join(', ');
    line('### Refresh storm');
    line();
    line(
      `Provider refreshes per storm: ${T.stormRefreshes.join(', ')}; answered: ${answered} of ` +
        `${P.stormClients}; first error: ${firstError}.`,
    );
    line();
  }
  if (!met.rss || R.profiles.memory) memoryCauses(R, line, table);
}
