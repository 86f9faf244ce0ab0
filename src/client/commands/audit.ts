import { InvalidArgumentError, Option, type Command } from 'commander';
import type { AuditEntry } from '../../rpc/controlRecords.js';
import { terminalLine } from '../../text/terminalText.js';
import { Exit } from '../fast/exitCodes.js';
import { SELECTION_FLAGS } from '../fast/tokenRequest.js';
import type { CliContext } from '../cliContext.js';

function count(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 1000)
    throw new InvalidArgumentError('expected a number from 1 to 1000');
  return n;
}

export function registerAudit(program: Command, cli: CliContext): void {
  program
    .command('audit')
    .description(
      'who got which token: each token request the agent answered, refused or failed ' +
        '(the last 1,000), never a token',
    )
    .addOption(new Option(SELECTION_FLAGS.profile.flags, 'only this profile'))
    .option('--last <n>', 'only the last N (default: all the agent keeps)', count)
    .option('--json', 'print JSON')
    .action(
      cli.run(async (opts: { profile?: string; last?: number; json?: boolean }) => {
        const params = {
          ...(opts.profile ? { profile: opts.profile } : {}),
          ...(opts.last ? { last: opts.last } : {}),
        };
        const entries = await cli.withAgent((c) => c.call('audit.list', params), {
          autostart: false,
        });
        if (opts.json) process.stdout.write(JSON.stringify(entries, null, 2) + '\n');
        else process.stdout.write(entries.map(auditLine).join(''));
        return Exit.OK;
      }),
    );
}

/** One line a person reads: when, what happened, to whom, for what, through which socket. */
export function auditLine(e: AuditEntry): string {
  const when = new Date(e.time * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
  const outcome = e.reason ? `${e.outcome} (${e.reason})` : e.outcome;
  const target = [e.kind, e.audience && `audience ${e.audience}`, e.scope && `scope "${e.scope}"`];
  const times = e.count > 1 ? ` ×${e.count}` : '';
  const who = `pid ${e.pid} uid ${e.uid} ${e.exe}`;
  const what = `${e.profile} ${target.filter(Boolean).join(' ')}`;
  const line = `${when}  ${outcome}${times}  ${what}  ${who}  via ${e.via}`;
  // Names a client chose (a profile, a scope) reach the terminal without their control characters.
  return `${terminalLine(line)}\n`;
}
