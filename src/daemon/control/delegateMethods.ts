import { METHOD_NAMES, type Result, type TokenReply } from '../../rpc/methods.js';
import { asParams, optionalString } from '../../rpc/paramChecks.js';
import type { TokenTarget } from '../../provider/tokenTarget.js';
import { VERSION } from '../../version.js';
import { AgentError } from '../../rpc/jsonRpc.js';
import type { ConnectionContext } from '../connection.js';
import type { TokenRequest } from '../tokenServing.js';
import type { Handlers } from '../socketServer.js';
import {
  refuseOtherConfig,
  requestOf,
  serveAudited,
  tokenParams,
  type TokenServer,
} from '../tokenMethod.js';
import type { Delegation } from './delegation.js';
import { forbidden, locked } from './refusals.js';

/** What a delegation's socket needs of the agent: serving tokens, and when it started. */
export interface DelegationHost extends TokenServer {
  readonly startedAt: number;
  readonly socketPath: string;
}

/**
 * A delegation's socket (docs/protocol.md, "Delegated sockets"): `token.get` within the
 * delegation, an `agent.status` that shows only the delegation, and FORBIDDEN for every other
 * method of the agent.
 */
export function delegateMethods(agent: DelegationHost, delegation: Delegation): Handlers {
  const table: Handlers = {};
  for (const name of METHOD_NAMES) {
    table[name] = () => {
      throw forbidden(name, 'only token.get');
    };
  }
  table['token.get'] = (params, connection) =>
    delegatedToken(agent, delegation, params, connection);
  table['agent.status'] = (params): Result<'agent.status'> => {
    asParams('agent.status', params, []);
    return {
      version: VERSION,
      pid: process.pid,
      started_at: agent.startedAt,
      socket: delegation.spec.socket,
      profiles: [],
      delegation: delegation.info(),
      ...(agent.passphraseLock.locked ? { locked: true } : {}),
    };
  };
  return table;
}

function delegatedToken(
  agent: DelegationHost,
  delegation: Delegation,
  params: unknown,
  connection: ConnectionContext,
): TokenReply | Promise<TokenReply> {
  const { profile } = delegation.spec;
  let asked: TokenRequest | undefined;
  try {
    const p = tokenParams(params);
    asked = requestOf(p);
    refuseOtherConfig(agent, optionalString('token.get', p, 'config'));
    if (agent.passphraseLock.locked) throw locked();
    const named = optionalString('token.get', p, 'profile');
    const target = delegation.narrow({ profile: named, ...asked });
    const request = {
      min_valid: asked.min_valid,
      kind: delegation.spec.kind,
      scope: target.scope,
      audience: target.audience,
      force: asked.force,
      dpop: asked.dpop,
    };
    if (delegation.exchanged && (request.force || request.dpop))
      throw new AgentError(
        'INVALID_PARAMS',
        `${delegation.via} serves tokens minted by exchange: "force" and "dpop" do not apply to them`,
      );
    const session = agent.session(profile);
    delegation.takeUse();
    const confirm = delegation.spec.confirm || session.profile.confirm;
    const what = confirm ? `a token of profile ${profile} (${delegation.via})` : undefined;
    const served = delegation.exchanged
      ? exchangedAudited(agent, connection, delegation, target, request.min_valid, what)
      : serveAudited(agent, connection, session, request, what);
    if (served instanceof Promise) served.catch(() => delegation.giveBackUse());
    return served;
  } catch (err) {
    const { kind = 'auto', audience, scope } = asked ?? {};
    agent.audit.recordError(connection, profile, kind, audience, scope, err);
    throw err;
  }
}

/** An exchanged token (exchangedTokens.ts), confirmed and audited like any other. */
async function exchangedAudited(
  agent: DelegationHost,
  connection: ConnectionContext,
  delegation: Delegation,
  target: TokenTarget,
  minValid: number | undefined,
  confirm: string | undefined,
): Promise<TokenReply> {
  const { profile } = delegation.spec;
  const { audience, scope } = target;
  try {
    if (confirm !== undefined) await agent.confirmations.confirm(connection, confirm);
    const got = delegation.exchanged!.get(target, minValid);
    const outcome = got instanceof Promise ? 'refreshed' : 'served';
    const reply = await got;
    agent.audit.record(connection, profile, 'access', audience, scope, outcome);
    return reply;
  } catch (err) {
    agent.audit.recordError(connection, profile, 'access', audience, scope, err);
    throw err;
  }
}
