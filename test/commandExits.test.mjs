// The exit codes of each command (issue 20): stated once in src/client/commandExits.ts, and listed
// exactly so in the "exits" column of docs/cli.md and of the README's command table, for every
// command the CLI has. (test/support/harness.mjs checks the other side: every command line the
// tests run ends with a code its command states.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { COMMAND_EXITS } from '../dist/client/commandExits.js';
import { CLI, ROOT } from './support/harness.mjs';

/** The rows of the Markdown table that follows `heading`: { command, codes, child } by command. */
function exitsTable(file, heading) {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const section = text.slice(text.indexOf(heading)).split('\n').slice(1);
  const rows = new Map();
  for (const line of section.slice(section.findIndex((l) => l.startsWith('|')))) {
    if (!line.startsWith('|')) break;
    const cells = line.split(/(?<!\\)\|/).map((cell) => cell.trim());
    const words = /^`([^`]+)`/.exec(cells[1])?.[1].split(' ');
    if (!words) continue; // the header and its rule
    const command = words[0] === 'exec' && words[1] === '--ckms' ? 'exec --ckms' : words[0];
    assert.ok(!rows.has(command), `${file}: one row for ${command}`);
    const exits = cells[3];
    rows.set(command, {
      codes: [...new Set([...exits.matchAll(/\b\d+\b/g)].map(([n]) => Number(n)))].sort(
        (a, b) => a - b,
      ),
      child: /CMD's|ckms's/.test(exits),
    });
  }
  return rows;
}

const stated = Object.fromEntries(
  Object.entries(COMMAND_EXITS).map(([command, { codes, child }]) => [
    command,
    { codes: [...codes].sort((a, b) => a - b), child: Boolean(child) },
  ]),
);

test('every command the CLI has states its exit codes', () => {
  const help = execFileSync(process.execPath, [CLI, '--help'], { encoding: 'utf8' });
  const list = help.slice(help.indexOf('Commands:')).split('\n\n')[0];
  const commands = [...list.matchAll(/^ {2}([a-z][a-z-]*)\b/gm)]
    .map(([, name]) => name)
    .filter((name) => name !== 'help');
  assert.ok(commands.length >= 15, `commands read from --help: ${commands}`);
  for (const command of commands)
    assert.ok(
      COMMAND_EXITS[command],
      `src/client/commandExits.ts states the exit codes of ${command}`,
    );
  assert.deepEqual(
    Object.keys(COMMAND_EXITS)
      .filter((c) => c !== 'exec --ckms')
      .sort(),
    [...commands].sort(),
    'and of no command the CLI lacks',
  );
});

for (const [file, heading] of [
  ['docs/cli.md', '## Commands and exit codes'],
  ['README.md', '## Commands\n'],
]) {
  test(`${file} lists every exit code of every command, and no other`, () => {
    const documented = exitsTable(file, heading);
    assert.deepEqual(
      [...documented.keys()].sort(),
      Object.keys(stated).sort(),
      `${file}: a row per command`,
    );
    for (const [command, exits] of Object.entries(stated)) {
      assert.deepEqual(
        documented.get(command),
        exits,
        `${file}, ${command}: the codes of src/client/commandExits.ts`,
      );
    }
  });
}
