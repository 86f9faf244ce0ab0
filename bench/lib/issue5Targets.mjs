// The targets of issue 5, from the figures of one run: throughput against oidc-agent, the CLI
// against Node's own start, one refresh per storm, RSS growth per million requests.
import { cellMedian, median, ratio } from './stats.mjs';

export function issue5Targets({ P, throughput, cli, stormRuns, memory }) {
  const vsOidc = (key) =>
    [8, 50].map((c) => ({
      c,
      ratio: ratio(cellMedian(throughput, key, c), cellMedian(throughput, 'oidc-conn', c)),
    }));
  const growth = memory.kmsPipe.map((m) => ((m.after - m.before) * 1_000_000) / m.requests);
  const targets = {
    throughputConn: vsOidc('kms-conn'),
    throughputPipe: vsOidc('kms-pipe'),
    cliRatio: ratio(cli.kms.medianMs, cli.node.medianMs),
    stormRefreshes: stormRuns.kms.map((r) => r.refreshes),
    rssGrowthPerMillionBySegment: growth,
    rssGrowthPerMillion: median(growth),
  };
  const stormsClean = stormRuns.kms.every((r) => r.errors === 0 && r.requests === P.stormClients);
  const met = {
    throughputConn: targets.throughputConn.every((t) => t.ratio >= 3),
    throughputPipe: targets.throughputPipe.every((t) => t.ratio >= 3),
    cli: targets.cliRatio <= 1.15,
    storm: targets.stormRefreshes.every((n) => n === 1) && stormsClean,
    rss: targets.rssGrowthPerMillion < 5,
  };
  return { targets, met };
}
