// Writes bench/RESULTS.md and bench/tokens-per-second.svg from the results of one run: each
// section of RESULTS.md is a module of bench/report/, in the order below.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliSection } from './cliSection.mjs';
import { coldStartSection } from './coldStartSection.mjs';
import { compareSection } from './compareSection.mjs';
import { costOverTimeSection } from './costOverTimeSection.mjs';
import { diagnosesSection } from './diagnosesSection.mjs';
import { floorSection } from './floorSection.mjs';
import { headerSection } from './headerSection.mjs';
import { howToRunSection } from './howToRunSection.mjs';
import { markdownText } from './markdown.mjs';
import { stormSection } from './stormSection.mjs';
import { targetsSection } from './targetsSection.mjs';
import { throughputChart } from './throughputChart.mjs';
import { throughputSection } from './throughputSection.mjs';
import { tokenFilesSection } from './tokenFilesSection.mjs';

export function resultsMarkdown(R) {
  const { line, table, text } = markdownText();
  headerSection(R, line, table);
  targetsSection(R, line, table);
  if (R.compare) compareSection(R, line, table);
  throughputSection(R, line, table);
  cliSection(R, line, table);
  if (R.tokenFiles) tokenFilesSection(R.tokenFiles, line, table);
  stormSection(R, line, table);
  costOverTimeSection(R, line, table);
  floorSection(R, line, table);
  coldStartSection(R, line, table);
  diagnosesSection(R, line, table);
  howToRunSection(line);
  return text();
}

export function writeReport(results, benchDir) {
  writeFileSync(join(benchDir, 'RESULTS.md'), resultsMarkdown(results));
  writeFileSync(join(benchDir, 'tokens-per-second.svg'), throughputChart(results));
}
