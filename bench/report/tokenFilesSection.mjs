// "Token files: the cheapest token for a script", from bench/phases/tokenFiles.mjs's result.
const fixed = (v, digits) => (Number.isFinite(v) ? v.toFixed(digits) : 'n/a');

export function tokenFilesSection(T, line, table) {
  const C = T.commands;
  line('## Token files: the cheapest token for a script');
  line();
  const load = T.loadAverage.map((l) => fixed(l, 2)).join(' → ');
  line(
    `Measured ${T.date.slice(0, 10)} by bench/tokenFiles.mjs (load average ${load}): each row ` +
      'is a small `sh` script that gets one token into a variable and checks it is not empty, ' +
      'run by `hyperfine --shell=none` in alternating rounds, against a kms-agent of its own ' +
      'whose profile has `token_file = true` and an oidc-agent, on the same provider. ' +
      'Reading the file starts no process at all: the shell builtin `read` opens it.',
  );
  line();
  const row = (key) => [
    C[key].label,
    `${fixed(C[key].medianMs, 2)} ms`,
    `${fixed(C[key].medianMs - C.empty.medianMs, 2)} ms`,
    String(C[key].runs),
  ];
  const keys = ['empty', 'file', 'cat', 'oidc', 'kms', 'kubectl'];
  table(['script', 'median', 'above the empty script', 'runs'], keys.map(row));
  const R = T.ratios;
  line(
    `A script reading the token file takes ${fixed(R.fileVsOidc, 2)}× the time of one running ` +
      `\`oidc-token\` and ${fixed(R.fileVsKms, 3)}× the time of one running \`kms-agent token\` ` +
      `(\`kms-agent token\` is ${fixed(R.kmsVsOidc, 1)}× \`oidc-token\`). Counting only what ` +
      'getting the token adds to the script, `oidc-token` costs ' +
      `${fixed(R.oidcCostVsFile, 1)}× and \`kms-agent token\` ` +
      `${fixed(R.kmsCostVsFile, 0)}× the file's read. ` +
      `\`kms-agent kubectl-credential\` takes ${fixed(R.kubectlVsKms, 2)}× ` +
      '`kms-agent token`: the same fast path.',
  );
  line();
}
