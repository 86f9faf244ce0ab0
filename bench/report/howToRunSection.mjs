// "How to run": the commands, the switches, and which file does what.
export function howToRunSection(line) {
  line('## How to run');
  line();
  line(
    '`npm run bench` (builds, then `node bench/run.mjs`; never part of `npm test`). ' +
      '`bench/setup.sh` installs oidc-agent, hyperfine and a C compiler when missing (run.mjs ' +
      'calls it). `BENCH_QUICK=1` for a short smoke run, `BENCH_DIAGNOSE=1` profiles even the ' +
      'targets that are met, `BENCH_KEEP=1` keeps the temporary directory (agent logs, CPU ' +
      'profiles, heap snapshots). `BENCH_BASELINE=1` (or `=REV`, a git revision; 1 means ' +
      '3efa9f9) also measures this build against a build of that revision in the same run: ' +
      'built once in a git worktree under the OS temp directory and kept there, keyed by ' +
      'commit; `node bench/compareBaseline.mjs` runs only that comparison and prints it. ' +
      'Files: bench/run.mjs (the order of the phases), bench/phases/ (one module per ' +
      'measurement), bench/compare/ (the rows measured on each build), bench/report/ (one ' +
      'module per section of this file, and the chart), bench/lib/ (the agents under test, ' +
      'the load generators connload.c and loadgen.mjs, /proc readers; buildEntries.mjs is the ' +
      'one place that knows where a build keeps its CLI and daemon), bench/probes/ (the CLI ' +
      'probes). `node bench/tokenFiles.mjs` re-runs the token-file section alone (after ' +
      '`npm run build`) and rewrites this file with it; `node bench/floor.mjs` re-runs only ' +
      'the floor comparison (about a minute); `node bench/flags.mjs` compares sets of Node/V8 ' +
      'flags for the daemon (throughput, RSS growth, idle RSS, threads; `BENCH_FLAG_SETS` to ' +
      'choose them).',
  );
  line();
}
