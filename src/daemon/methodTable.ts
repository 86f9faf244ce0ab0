import type { Agent } from './agent.js';
import { LOGIN_FLOWS, METHOD_NAMES, type MethodName, type Result } from '../rpc/methods.js';
import {
  asParams,
  optionalBoolean,
  optionalChoice,
  optionalNumber,
  optionalString,
  requiredString,
} from '../rpc/paramChecks.js';
import { VERSION } from '../version.js';
import { AgentError } from '../rpc/jsonRpc.js';
import { DEFAULT_GIT_USERNAME } from '../config/gitHosts.js';
import { acrValues } from '../config/configValues.js';
import type { StepUp } from '../provider/stepUp.js';
import { MAX_DURATION_SECONDS } from '../config/durations.js';
import { locked } from './control/refusals.js';
import { getToken, refuseOtherConfig, serveAudited } from './tokenMethod.js';
import type { ConnectionContext } from './connection.js';

export type { ConnectionContext };

type Handler<M extends MethodName> = (
  params: unknown,
  connection: ConnectionContext,
) => Result<M> | Promise<Result<M>>;
export type MethodTable = { [M in MethodName]: Handler<M> };

const ONE_DAY = 86_400;
const ONE_YEAR = 365 * ONE_DAY;

type Reload = () => Result<'agent.reload'>;

/**
 * What a locked agent still answers (docs/SECURITY.md): its status, unlock and shutdown, and
 * agent.config, the check every command makes first, which holds nothing secret (its pid and
 * config file, as status shows). token.get says LOCKED itself, through its audit.
 */
const WHILE_LOCKED: ReadonlySet<MethodName> = new Set([
  'agent.status',
  'agent.config',
  'agent.unlock',
  'agent.shutdown',
  'token.get',
]);

/**
 * The dispatch table: method name → handler, like ssh-agent's. Params are checked here, at the
 * edge. While the agent is locked, every method but those above answers LOCKED.
 */
export function methodTable(agent: Agent, shutdown: () => void, onReload: Reload): MethodTable {
  const table = methods(agent, shutdown, onReload);
  for (const name of METHOD_NAMES) {
    if (WHILE_LOCKED.has(name)) continue;
    const handler = table[name] as Handler<MethodName>;
    (table as Record<MethodName, Handler<MethodName>>)[name] = (params, connection) => {
      if (agent.passphraseLock.locked) throw locked();
      return handler(params, connection);
    };
  }
  return table;
}

function methods(agent: Agent, shutdown: () => void, onReload: Reload): MethodTable {
  return {
    'agent.status': (params) => agentStatus(agent, params),

    // A client's config check: the file it names, the pid for `start`, a reload that failed.
    'agent.config': (params) => {
      const p = asParams('agent.config', params, ['config']);
      const result: Result<'agent.config'> = { pid: process.pid, config: agent.config.configPath };
      const mismatch = agent.configMismatch(optionalString('agent.config', p, 'config'));
      if (mismatch) result.mismatch = mismatch;
      const warning = agent.configWarning();
      if (warning) result.warning = warning;
      return result;
    },

    'token.get': (params, connection) => getToken(agent, params, connection),

    // git's credential helper (docs/tools.md): the [git] table names the profile and username per host.
    'git.credential': (params, connection) => gitCredential(agent, params, connection),

    'login.start': (params) => startLogin(agent, params),

    'login.wait': async (params, connection) => {
      const p = asParams('login.wait', params, ['login_id', 'timeout']);
      const loginId = requiredString('login.wait', p, 'login_id');
      const timeout = optionalNumber('login.wait', p, 'timeout', 1, ONE_DAY);
      // A client that hangs up while waiting (Ctrl-C) cancels its login and frees the port.
      connection.onClose(() => agent.logins.cancel(loginId));
      return agent.logins.wait(loginId, timeout);
    },

    'login.cancel': (params) => {
      const p = asParams('login.cancel', params, ['login_id']);
      return { cancelled: agent.logins.cancel(requiredString('login.cancel', p, 'login_id')) };
    },

    logout: async (params) => {
      const p = asParams('logout', params, ['profile', 'all']);
      const all = optionalBoolean('logout', p, 'all') ?? false;
      const sessions = all
        ? [...agent.sessions.values()]
        : [agent.session(optionalString('logout', p, 'profile'))];
      const outcomes = await Promise.all(sessions.map((session) => session.logout()));
      return {
        revoked: outcomes.some((o) => o.revocation === 'revoked'),
        profiles: sessions.map((s) => s.name),
        outcomes,
      };
    },

    'profiles.list': (params) => {
      asParams('profiles.list', params, []);
      return [...agent.config.profiles.values()].map((profile) => ({
        name: profile.name,
        source: profile.source,
        source_kind: profile.sourceKind,
        default: profile.name === agent.config.defaultProfile,
      }));
    },

    'agent.reload': (params) => {
      asParams('agent.reload', params, []);
      return onReload();
    },

    'agent.shutdown': (params) => {
      asParams('agent.shutdown', params, []);
      // Answer first, then stop: the caller learns the request was accepted.
      setImmediate(shutdown);
      return {};
    },

    'agent.lock': async (params) => {
      await agent.lock(passphraseOf('agent.lock', params));
      return { locked: true };
    },

    'agent.unlock': async (params) => {
      const wasLocked = await agent.unlock(passphraseOf('agent.unlock', params));
      return { locked: false, was_locked: wasLocked };
    },

    'delegation.create': (params, connection) => agent.delegations.create(params, connection),

    'delegation.list': (params) => {
      asParams('delegation.list', params, []);
      return agent.delegations.list();
    },

    'delegation.revoke': (params) => agent.delegations.revoke(params),

    'audit.list': (params) => {
      const p = asParams('audit.list', params, ['profile', 'last']);
      const last = optionalNumber('audit.list', p, 'last', 1, 1000);
      return agent.audit.list(optionalString('audit.list', p, 'profile'), last);
    },
  };
}

/** login.start's `acr_values`, held to the config's rule for them. */
function loginAcrValues(text: string): string[] {
  try {
    return acrValues(text);
  } catch (err) {
    throw new AgentError('INVALID_PARAMS', `login.start: "acr_values": ${(err as Error).message}`);
  }
}

/** The passphrase of agent.lock and agent.unlock: never empty, never logged. */
function passphraseOf(method: string, params: unknown): string {
  const p = asParams(method, params, ['passphrase']);
  return requiredString(method, p, 'passphrase');
}

async function agentStatus(agent: Agent, params: unknown): Promise<Result<'agent.status'>> {
  asParams('agent.status', params, []);
  const profiles = await Promise.all(
    [...agent.sessions.values()].map(async (session) => {
      const status = await session.status();
      if (agent.logins.pendingFor(session)) status.login_pending = true;
      return status;
    }),
  );
  for (const profile of profiles) profile.counters = agent.audit.countersOf(profile.name);
  const status: Result<'agent.status'> = {
    version: VERSION,
    pid: process.pid,
    started_at: agent.startedAt,
    socket: agent.socketPath,
    config: agent.config.configPath,
    profiles,
  };
  if (agent.configError) status.config_error = agent.configError.message;
  if (agent.passphraseLock.locked) status.locked = true;
  return status;
}

async function gitCredential(
  agent: Agent,
  params: unknown,
  connection: ConnectionContext,
): Promise<Result<'git.credential'>> {
  const p = asParams('git.credential', params, ['host', 'profile', 'config']);
  refuseOtherConfig(agent, optionalString('git.credential', p, 'config'));
  const host = requiredString('git.credential', p, 'host').toLowerCase();
  const named = optionalString('git.credential', p, 'profile');
  const mapped = agent.config.git.get(host);
  if (named === undefined && mapped === undefined) {
    throw new AgentError(
      'UNKNOWN_PROFILE',
      `no [git."${host}"] entry in ${agent.config.configPath} names a profile for this host: add one, or use \`kms-agent git-credential --profile NAME\``,
    );
  }
  const session = agent.session(named ?? mapped!.profile);
  const confirm = session.profile.confirm
    ? `a token of profile ${session.name} for git`
    : undefined;
  const reply = await serveAudited(agent, connection, session, {}, confirm);
  const result: Result<'git.credential'> = {
    profile: session.name,
    username: mapped?.username ?? DEFAULT_GIT_USERNAME,
    token: reply.token,
    expires_at: reply.expires_at,
  };
  const warning = agent.configWarning();
  if (warning) result.warning = warning;
  return result;
}

async function startLogin(agent: Agent, params: unknown): Promise<Result<'login.start'>> {
  const p = asParams('login.start', params, [
    'profile',
    'flow',
    'acr_values',
    'max_age',
    'lifetime',
  ]);
  const session = agent.session(optionalString('login.start', p, 'profile'));
  const flow = optionalChoice('login.start', p, 'flow', LOGIN_FLOWS) ?? 'pkce';
  const acr = optionalString('login.start', p, 'acr_values', 2000);
  const stepUp: StepUp = {
    acrValues: acr === undefined ? session.profile.acrValues : loginAcrValues(acr),
    maxAge:
      optionalNumber('login.start', p, 'max_age', 0, ONE_YEAR, true) ?? session.profile.maxAge,
  };
  const lifetime = optionalNumber('login.start', p, 'lifetime', 1, MAX_DURATION_SECONDS);
  const login = await agent.logins.start(session, flow, stepUp, lifetime);
  const result: Result<'login.start'> = {
    login_id: login.id,
    profile: login.profile,
    url: login.url,
    expires_at: login.expiresAt,
  };
  if (login.browserUrl) result.browser_url = login.browserUrl;
  if (login.userCode) result.user_code = login.userCode;
  if (login.verificationUrl) result.verification_url = login.verificationUrl;
  return result;
}
