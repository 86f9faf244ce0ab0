import { resolve } from 'node:path';
import { DURATION_FORMAT, parseDuration } from '../../../config/durations.js';
import type { Params } from '../../../rpc/methods.js';
import { usage } from '../../fast/commandLine.js';

export interface DelegateOptions {
  profile?: string | undefined;
  audience?: string;
  scope?: string;
  kind?: string;
  ttl?: string;
  uses?: string;
  confirm?: boolean;
  exchange?: boolean;
  list?: boolean;
  revoke?: string;
  json?: boolean;
}

/**
 * `--socket` means the agent's socket before `delegate` (a global option) and the delegation's own
 * after it; commander knows only one, so the command line is read here: both, in that order.
 */
export function socketFlags(argv: readonly string[]): { agent?: string; delegation?: string } {
  const found: { agent?: string; delegation?: string } = {};
  let after = false;
  for (let i = 0; i < argv.length && argv[i] !== '--'; i++) {
    const arg = argv[i]!;
    if (arg === 'delegate' && !after) after = true;
    const value =
      arg === '--socket' ? argv[++i] : arg.startsWith('--socket=') ? arg.slice(9) : undefined;
    if (value === undefined) continue;
    if (after) found.delegation = value;
    else found.agent = value;
  }
  return found;
}

/** The params of delegation.create from the flags; a USAGE error says what is wrong. */
export function createParams(
  opts: DelegateOptions,
  socket: string | undefined,
  command: readonly string[],
): Params<'delegation.create'> {
  if (opts.list || opts.revoke !== undefined)
    throw usage('--list and --revoke take no other delegate flags and no command');
  if (socket === undefined && command.length === 0)
    throw usage(
      'delegate to a command (`kms-agent delegate … -- CMD`) ' +
        'or to a socket (`--socket PATH --ttl D`)',
    );
  if (socket !== undefined && command.length > 0)
    throw usage(
      '--socket and a command cannot be used together: the command gets a socket of its own',
    );
  if (socket !== undefined && opts.ttl === undefined)
    throw usage('--socket needs --ttl: the delegation outlives this command, so say when it ends');
  if (opts.kind !== undefined && opts.kind !== 'access' && opts.kind !== 'id')
    throw usage('--kind must be access or id');
  const params: Params<'delegation.create'> = {};
  if (opts.profile) params.profile = opts.profile;
  if (opts.audience) params.audience = opts.audience;
  if (opts.scope) params.scope = opts.scope;
  if (opts.kind) params.kind = opts.kind;
  if (opts.ttl !== undefined) {
    const ttl = parseDuration(opts.ttl);
    if (ttl === undefined) throw usage(`--ttl: expected ${DURATION_FORMAT}, from 1 s to a year`);
    params.ttl = ttl;
  }
  if (opts.uses !== undefined) {
    const uses = Number(opts.uses);
    if (!Number.isInteger(uses) || uses < 1) throw usage('--uses: expected a whole number from 1');
    params.uses = uses;
  }
  if (opts.confirm) params.confirm = true;
  if (opts.exchange) params.exchange = true;
  if (socket !== undefined) params.socket = resolve(socket);
  return params;
}
