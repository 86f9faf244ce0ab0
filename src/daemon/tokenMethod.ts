import { TOKEN_KINDS, type TokenReply } from '../rpc/methods.js';
import { AgentError } from '../rpc/jsonRpc.js';
import {
  asParams,
  optionalBoolean,
  optionalChoice,
  optionalDpop,
  optionalNumber,
  optionalString,
  type Obj,
} from '../rpc/paramChecks.js';
import { locked } from './control/refusals.js';
import type { ConnectionContext } from './connection.js';
import type { AgentConfig } from '../config/profile.js';
import type { AuditLog } from './control/auditLog.js';
import type { Confirmations } from './control/confirmations.js';
import type { PassphraseLock } from './control/passphraseLock.js';
import type { ProfileSession } from './profileSession.js';
import type { TokenRequest } from './tokenServing.js';

const ONE_DAY = 86_400;

/** What serving a token needs of the agent (agent.ts): its sessions, and who decides. */
export interface TokenServer {
  readonly config: AgentConfig;
  readonly audit: AuditLog;
  readonly confirmations: Confirmations;
  readonly passphraseLock: PassphraseLock;
  session(name: string | undefined): ProfileSession;
  configMismatch(named: string | undefined): string | undefined;
  configWarning(): string | undefined;
}
export const TOKEN_PARAMS = [
  'profile',
  'min_valid',
  'kind',
  'scope',
  'audience',
  'config',
  'force',
  'dpop',
];

/** token.get's params, checked: the request for a session (profile and config are read apart). */
export function tokenParams(params: unknown): Obj {
  return asParams('token.get', params, TOKEN_PARAMS);
}

export function requestOf(p: Obj): TokenRequest {
  return {
    min_valid: optionalNumber('token.get', p, 'min_valid', 0, ONE_DAY),
    kind: optionalChoice('token.get', p, 'kind', TOKEN_KINDS),
    scope: optionalString('token.get', p, 'scope'),
    audience: optionalString('token.get', p, 'audience'),
    force: optionalBoolean('token.get', p, 'force'),
    dpop: optionalDpop('token.get', p),
  };
}

/** A client naming another config than the agent's gets no token (docs/configuration.md). */
export function refuseOtherConfig(agent: TokenServer, named: string | undefined): void {
  const mismatch = agent.configMismatch(named);
  if (mismatch !== undefined) throw new AgentError('CONFIG_ERROR', mismatch);
}

/**
 * token.get on the agent's socket: the hot path. A cached token is answered at once, without a
 * promise; the lock, a confirmation (`confirm = true`) and the audit stand around it.
 */
export function getToken(
  agent: TokenServer,
  params: unknown,
  connection: ConnectionContext,
): TokenReply | Promise<TokenReply> {
  let profile = agent.config.defaultProfile ?? '';
  let request: TokenRequest | undefined;
  try {
    const p = tokenParams(params);
    const named = optionalString('token.get', p, 'profile');
    profile = named ?? profile;
    request = requestOf(p);
    refuseOtherConfig(agent, optionalString('token.get', p, 'config'));
    if (agent.passphraseLock.locked) throw locked();
    const session = agent.session(named);
    const confirm = session.profile.confirm ? `a token of profile ${session.name}` : undefined;
    return serveAudited(agent, connection, session, request, confirm);
  } catch (err) {
    const { kind = 'auto', audience, scope } = request ?? {};
    agent.audit.recordError(connection, profile, kind, audience, scope, err);
    throw err;
  }
}

/**
 * Serves `request` from `session` (after the user confirmed `confirm`, when set) and records the
 * outcome: `served` from the cache, `refreshed` when the provider was asked, or the error.
 */
export function serveAudited(
  agent: TokenServer,
  connection: ConnectionContext,
  session: ProfileSession,
  request: TokenRequest,
  confirm: string | undefined,
): TokenReply | Promise<TokenReply> {
  const kind = session.kindOf(request);
  const { audience, scope } = request;
  if (confirm !== undefined) {
    return agent.confirmations
      .confirm(connection, confirm)
      .then(
        () => serveAudited(agent, connection, session, request, undefined),
        failure(agent, connection, session, kind, request),
      );
  }
  const reply = session.getToken(request);
  if (!(reply instanceof Promise)) {
    agent.audit.record(connection, session.name, kind, audience, scope, 'served');
    return withWarning(agent, reply);
  }
  return reply.then(
    (served) => {
      agent.audit.record(connection, session.name, kind, audience, scope, 'refreshed');
      return withWarning(agent, served);
    },
    failure(agent, connection, session, kind, request),
  );
}

/** Records a request that failed after waiting, and fails it. */
function failure(
  agent: TokenServer,
  connection: ConnectionContext,
  session: ProfileSession,
  kind: string,
  { audience, scope }: TokenRequest,
): (err: unknown) => never {
  return (err) => {
    agent.audit.recordError(connection, session.name, kind, audience, scope, err);
    throw err;
  };
}

/** Only while a reload failed: the client hears that its edit did not take. */
function withWarning(agent: TokenServer, reply: TokenReply): TokenReply {
  const warning = agent.configWarning();
  return warning === undefined ? reply : { ...reply, warning };
}
