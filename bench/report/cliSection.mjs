// "CLI: one token per process": `kms-agent token` and the probes against Node's own start and
// oidc-agent's C client, from hyperfine's times.
import { ratio } from '../lib/stats.mjs';
import { fmt, ms, x } from './markdown.mjs';

export function cliSection(R, line, table) {
  const { parameters: P, cli } = R;
  const bin = R.entries?.cli ?? 'dist/client/bin.cjs';
  const perRound = Math.ceil(P.hyperfineRuns / P.hyperfineRounds);
  line('## CLI: one token per process (hyperfine)');
  line();
  line(
    `\`hyperfine --shell=none --warmup ${P.hyperfineWarmup} --export-json\`, ` +
      `${P.hyperfineRounds} rounds of ${perRound} runs per command (order reversed every other ` +
      `round, times pooled: ${cli.node.runs} runs each); \`kms-agent token\` is ` +
      `\`node ${bin} token\` (the \`kms-agent\` bin), printing the profile's default token; ` +
      "`oidc-token bench` is oidc-agent's C client. The probes split the client's cost " +
      '(they are not products).',
  );
  line();
  const row = (k) => [
    cli[k].label,
    ms(cli[k].medianMs),
    `${ms(cli[k].meanMs)} ± ${fmt(cli[k].stddevMs, 1)}`,
    ms(cli[k].minMs),
    `${fmt(cli[k].userMs, 1)} / ${fmt(cli[k].systemMs, 1)}`,
    x(ratio(cli[k].medianMs, cli.node.medianMs)),
  ];
  const keys = ['node', 'kms', 'oidc', 'net', 'imports', 'raw'].filter((k) => cli[k]);
  const head = ['command', 'median', 'mean ± σ', 'min', 'user / sys (ms)', "vs `node -e ''`"];
  table(head, keys.map(row));
  if (cli.nodeCa && cli.kmsCa) {
    line(
      'This machine sets `NODE_EXTRA_CA_CERTS` in the environment; every Node process then ' +
        'reads and parses that bundle at start-up. ' +
        `With it, \`node -e ''\` takes ${ms(cli.nodeCa.medianMs)} and \`kms-agent token\` ` +
        `${ms(cli.kmsCa.medianMs)}: ${x(ratio(cli.kmsCa.medianMs, cli.nodeCa.medianMs))}. ` +
        'The same absolute overhead looks smaller next to a slower start, which is why a ratio ' +
        'near 1.4× was seen before; the table above and the target use a clean environment ' +
        "(Node's own start).",
    );
    line();
  }
  line(
    `\`kms-agent token\` is ${x(ratio(cli.kms.medianMs, cli.oidc.medianMs), 0)} ` +
      `\`oidc-token\`'s time: Node's own start (${ms(cli.node.medianMs)}) is ` +
      `${x(ratio(cli.node.medianMs, cli.oidc.medianMs), 0)} a whole oidc-token call.`,
  );
  line();
}
