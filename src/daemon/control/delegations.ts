import { randomBytes } from 'node:crypto';
import { dirname, isAbsolute, join } from 'node:path';
import type { Logger } from '../logger.js';
import { AgentError } from '../../rpc/jsonRpc.js';
import { DELEGATED_KINDS, type DelegationInfo } from '../../rpc/controlRecords.js';
import {
  asParams,
  optionalBoolean,
  optionalChoice,
  optionalNumber,
  optionalString,
  requiredString,
} from '../../rpc/paramChecks.js';
import { MAX_DURATION_SECONDS } from '../../config/durations.js';
import { tokenTarget } from '../../provider/tokenTarget.js';
import type { ConnectionContext } from '../connection.js';
import { RefreshTimer } from '../refreshSchedule.js';
import { AgentAlreadyRunningError } from '../socketDirectory.js';
import { SocketServer } from '../socketServer.js';
import { delegateMethods, type DelegationHost } from './delegateMethods.js';
import { Delegation, type DelegationSpec } from './delegation.js';
import { ExchangedTokens } from './exchangedTokens.js';

const CREATE_PARAMS = [
  'profile',
  'audience',
  'scope',
  'kind',
  'ttl',
  'uses',
  'confirm',
  'exchange',
  'socket',
];

interface Running {
  delegation: Delegation;
  server: SocketServer;
  timer: RefreshTimer;
}

/**
 * The agent's delegations (docs/SECURITY.md): each a socket of its own, 0600 in a 0700 directory
 * of the user's, served by a SocketServer with the restricted table of delegateMethods.ts, until
 * its TTL, its revocation, or (without `socket`) the close of the connection that made it. Kept in
 * memory only: a restart ends them all.
 */
export class Delegations {
  private readonly running = new Map<string, Running>();

  constructor(
    private readonly agent: DelegationHost,
    private readonly log: Logger,
  ) {}

  async create(params: unknown, connection: ConnectionContext): Promise<DelegationInfo> {
    const spec = this.spec(params);
    const id = randomBytes(6).toString('hex');
    spec.socket ||= join(dirname(this.agent.socketPath), 'delegations', `${id}.sock`);
    const delegation = new Delegation(id, spec);
    const session = this.agent.session(spec.profile);
    if (spec.exchange) {
      // One exchange now: a provider that refuses it makes the delegation fail at once.
      delegation.exchanged = new ExchangedTokens(session, id);
      await delegation.exchanged.exchange(tokenTarget(spec.scope, spec.audience));
    }
    const server = new SocketServer(
      spec.socket,
      delegateMethods(this.agent, delegation),
      this.log.child({ delegation: id }),
      { via: delegation.via, onClose: (c) => this.agent.audit.closed(c) },
    );
    await listen(server, spec.socket);
    const timer = new RefreshTimer();
    this.running.set(id, { delegation, server, timer });
    if (spec.expiresAt !== undefined) this.endAt(id, spec.expiresAt);
    if (spec.bound) connection.onClose(() => this.end(id, 'the command it was made for ended'));
    const info = delegation.info();
    this.log.info({ ...info, peer_pid: connection.peer.pid }, 'delegation created');
    return info;
  }

  list(): DelegationInfo[] {
    return [...this.running.values()].map(({ delegation }) => delegation.info());
  }

  revoke(params: unknown): { revoked: boolean } {
    const p = asParams('delegation.revoke', params, ['id']);
    return { revoked: this.end(requiredString('delegation.revoke', p, 'id'), 'revoked') };
  }

  /** The agent locks: exchanged tokens are dropped like every other. */
  dropTokens(): void {
    for (const { delegation } of this.running.values()) delegation.exchanged?.clear();
  }

  /** The agent stops: every delegation ends, its socket removed. */
  closeAll(): void {
    for (const id of [...this.running.keys()]) this.end(id, 'the agent stopped');
  }

  private end(id: string, why: string): boolean {
    const running = this.running.get(id);
    if (running === undefined) return false;
    this.running.delete(id);
    running.delegation.ended = true;
    running.timer.cancel();
    running.delegation.exchanged?.clear();
    void running.server.close(1000);
    this.log.info({ delegation: id, why }, 'delegation ended');
    return true;
  }

  private endAt(id: string, expiresAt: number): void {
    const timer = this.running.get(id)?.timer;
    const delayMs = Math.max(0, expiresAt * 1000 - Date.now());
    timer?.arm(delayMs, () =>
      Date.now() / 1000 >= expiresAt ? this.end(id, 'its ttl ran out') : this.endAt(id, expiresAt),
    );
  }

  /** The params, checked, as the delegation's restrictions. */
  private spec(params: unknown): DelegationSpec {
    const p = asParams('delegation.create', params, CREATE_PARAMS);
    const m = 'delegation.create';
    const session = this.agent.session(optionalString(m, p, 'profile'));
    const audience = optionalString(m, p, 'audience');
    const scope = tokenTarget(optionalString(m, p, 'scope'), undefined).scope;
    const exchange = optionalBoolean(m, p, 'exchange') ?? session.profile.tokenExchange;
    const narrowed = audience !== undefined || scope !== undefined;
    const kind =
      optionalChoice(m, p, 'kind', DELEGATED_KINDS) ??
      (exchange || narrowed ? 'access' : session.profile.servedKind);
    if (exchange && kind === 'id') {
      throw new AgentError(
        'INVALID_PARAMS',
        `${m}: an exchange (RFC 8693) gives access tokens, not id_tokens`,
      );
    }
    const ttl = optionalNumber(m, p, 'ttl', 1, MAX_DURATION_SECONDS);
    const socket = optionalString(m, p, 'socket');
    if (socket !== undefined && !isAbsolute(socket))
      throw new AgentError('INVALID_PARAMS', `${m}: "socket" must be an absolute path`);
    if (socket !== undefined && ttl === undefined) {
      throw new AgentError(
        'INVALID_PARAMS',
        `${m}: a delegation with its own socket needs a ttl: it outlives the command that made it`,
      );
    }
    const uses = optionalNumber(m, p, 'uses', 1, 1_000_000);
    if (uses !== undefined && !Number.isInteger(uses))
      throw new AgentError('INVALID_PARAMS', `${m}: "uses" must be a whole number`);
    return {
      profile: session.name,
      audience,
      scope,
      kind,
      allowedScopes: scope?.split(' ') ?? session.profile.scopes,
      uses,
      expiresAt: ttl === undefined ? undefined : Math.floor(Date.now() / 1000) + ttl,
      confirm: optionalBoolean(m, p, 'confirm') ?? false,
      exchange,
      socket: socket ?? '',
      bound: socket === undefined,
    };
  }
}

/** Binds the delegation's socket; a path already in use is said plainly. */
async function listen(server: SocketServer, path: string): Promise<void> {
  try {
    await server.listen({});
  } catch (err) {
    if (err instanceof AgentError) throw err;
    const why =
      err instanceof AgentAlreadyRunningError
        ? 'something already answers there'
        : (err as Error).message;
    throw new AgentError('INVALID_PARAMS', `cannot make the delegated socket ${path}: ${why}`);
  }
}
