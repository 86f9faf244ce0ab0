// hyperfine, as every CLI measurement of the bench runs it: no shell around the commands, times
// exported as JSON, several rounds whose command order is reversed every other round so that a
// drift in the machine's speed touches every command alike, then the times pooled.
import { readFileSync } from 'node:fs';
import { run } from './childCommands.mjs';

/**
 * One hyperfine run of `commands` ({ name, cmd }: cmd split on spaces) in `env`; resolves with
 * its --export-json document, written to `file`.
 */
export async function hyperfine({ commands, runs, warmup, env, file }) {
  const options = ['--shell=none', '--warmup', String(warmup), '--runs', String(runs)];
  const output = ['--export-json', file, '--style', 'none'];
  const named = commands.flatMap((c) => ['--command-name', c.name, c.cmd]);
  await run('hyperfine', [...options, ...output, ...named], { env, timeout: 300_000 });
  return JSON.parse(readFileSync(file, 'utf8'));
}

/** The list in the order of round `round`: as given, reversed every other round. */
export const inRoundOrder = (list, round) => (round % 2 ? [...list].reverse() : list);

/** The times (ms) of the command named `name`, pooled over hyperfine documents. */
export const pooledTimes = (documents, name) =>
  documents
    .flatMap((d) => d.results.find((r) => r.command === name)?.times ?? [])
    .map((t) => t * 1000);
