#!/usr/bin/env node
// A stand-in git credential helper for the fixture tests: appends each call (its arguments, the
// action git gave last, what git sent on stdin) as one JSON line to $STAND_IN_LOG; `get` answers
// $STAND_IN_USERNAME and $STAND_IN_PASSWORD (and $STAND_IN_EXPIRY as password_expiry_utc when set).
import { appendFileSync, readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const action = args.at(-1);
const input = readFileSync(0, 'utf8');
appendFileSync(process.env.STAND_IN_LOG, JSON.stringify({ args, action, input }) + '\n');
if (action === 'get') {
  const lines = [
    `username=${process.env.STAND_IN_USERNAME}`,
    `password=${process.env.STAND_IN_PASSWORD}`,
  ];
  if (process.env.STAND_IN_EXPIRY) lines.push(`password_expiry_utc=${process.env.STAND_IN_EXPIRY}`);
  process.stdout.write(lines.join('\n') + '\n');
}
