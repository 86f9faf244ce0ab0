import { realpathSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from './logger.js';
import type { AgentConfig, Profile } from '../config/profile.js';
import { AgentError } from '../rpc/jsonRpc.js';
import type { Result } from '../rpc/methods.js';
import { ConfigError } from '../config/configError.js';
import { ambiguousDefault, noProfileChosen } from '../config/defaultProfile.js';
import { keepsSession, profileChanges } from '../config/profileChanges.js';
import { ProfileSession } from './profileSession.js';
import { LoginRegistry } from './login/loginRegistry.js';
import { openStore } from './stores/storeFactory.js';
import type { TokenStore } from './stores/tokenStore.js';
import { TokenFiles } from './tokenFiles.js';
import { AuditLog } from './control/auditLog.js';
import { Confirmations } from './control/confirmations.js';
import { Delegations } from './control/delegations.js';
import { PassphraseLock, type Sealable } from './control/passphraseLock.js';
import { locked } from './control/refusals.js';
import type { Sealer } from './control/sealing.js';
import { lockSession, unlockSession } from './control/sessionLock.js';
import { MemoryStore } from './stores/memoryStore.js';
import { findPinentry } from '../os/pinentry.js';

/**
 * The daemon's state: one session per profile, the logins in progress, and how to reach each; and
 * who gets which token (docs/SECURITY.md): the lock, confirmations, delegations and the audit.
 */
export class Agent implements Sealable {
  readonly startedAt = Math.floor(Date.now() / 1000);
  readonly sessions = new Map<string, ProfileSession>();
  readonly logins: LoginRegistry;
  readonly passphraseLock = new PassphraseLock();
  readonly audit: AuditLog;
  readonly confirmations: Confirmations;
  readonly delegations: Delegations;
  /** A config change while locked waits for the unlock. */
  private reloadPending = false;
  /** The last reload's error: the agent keeps the config it had, and says so where users look. */
  configError: ConfigError | undefined;
  /** The config file with its links resolved: what a client's --config is compared with. */
  private configFile: string;
  private readonly tokenFiles: TokenFiles;
  private serving = false;
  /** One store per kind and directory, shared by profiles and kept across reloads (a memory store holds logins). */
  private readonly stores = new Map<string, TokenStore>();

  constructor(
    public config: AgentConfig,
    readonly socketPath: string,
    readonly log: Logger,
    private readonly loadConfig: () => AgentConfig,
  ) {
    this.configFile = resolvedPath(config.configPath);
    this.logins = new LoginRegistry(dirname(socketPath), log);
    this.tokenFiles = new TokenFiles(dirname(socketPath), log);
    this.audit = new AuditLog(log.child({ audit: true }), (name) => this.sessions.has(name));
    this.confirmations = new Confirmations(log, () => findPinentry(this.config.pinentryProgram));
    this.delegations = new Delegations(this, log);
    for (const profile of config.profiles.values())
      this.sessions.set(profile.name, this.newSession(profile));
  }

  private newSession(profile: Profile): ProfileSession {
    const where = `${profile.store}:${this.config.storeDir}`;
    let store = this.stores.get(where);
    if (!store) {
      store = openStore(profile.store, this.config.storeDir);
      this.stores.set(where, store);
    }
    const session = new ProfileSession(
      profile,
      store,
      this.log.child({ profile: profile.name }),
      this.tokenFiles,
    );
    if (this.serving) session.warmUp();
    return session;
  }

  /**
   * Called once the socket is ours: only then may the agent use refresh tokens on its own (an agent
   * that lost the race to another must not rotate a refresh token the winner holds).
   */
  startServing(): void {
    this.serving = true;
    for (const session of this.sessions.values()) session.warmUp();
  }

  session(name: string | undefined): ProfileSession {
    const wanted = name ?? this.config.defaultProfile;
    const session = wanted === undefined ? undefined : this.sessions.get(wanted);
    if (session) return session;
    const known = [...this.sessions.keys()];
    const broken = this.configError
      ? ` (the config has an error, so the agent still uses the previous one: ${this.configError.message})`
      : '';
    if (wanted === undefined || known.length === 0)
      throw new AgentError('UNKNOWN_PROFILE', `${noProfileChosen(this.config)}${broken}`);
    throw new AgentError(
      'UNKNOWN_PROFILE',
      `no profile named ${wanted}: configured profiles are ${known.join(', ')} (see \`kms-agent profiles\`)${broken}`,
    );
  }

  /**
   * Reads the config again. A broken file keeps the config that runs and says why. A profile whose
   * endpoints, client or scopes changed starts afresh (its cached tokens were for the old ones),
   * and keeps its login only if its store key is unchanged. Returns the profiles, and what the user
   * should know about the new config (the warnings `start` gives, an ambiguous default).
   */
  reload(): Result<'agent.reload'> {
    if (this.passphraseLock.locked) {
      this.reloadPending = true;
      throw locked();
    }
    let next: AgentConfig;
    try {
      next = this.loadConfig();
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      this.configError = err;
      this.log.error({ err: err.message }, 'config reload failed; the previous config stays');
      throw new AgentError(
        'CONFIG_ERROR',
        `${err.message} (the agent keeps the config it had; fix the file, then run \`kms-agent reload\`)`,
      );
    }
    const previous = this.config;
    this.config = next;
    this.configFile = resolvedPath(next.configPath);
    this.configError = undefined;
    this.applyProfiles(previous, next);
    this.log.level = next.logLevel;
    const ambiguous = ambiguousDefault(next);
    const warnings = ambiguous === undefined ? next.warnings : [...next.warnings, ambiguous];
    for (const warning of warnings) this.log.warn(warning);
    const profiles = [...next.profiles.keys()];
    return warnings.length > 0 ? { profiles, warnings } : { profiles };
  }

  /**
   * Why a client that names `named` (its --config or KMS_AGENT_CONFIG, links resolved) must not be
   * served as if this agent read it, or undefined when it does.
   */
  configMismatch(named: string | undefined): string | undefined {
    const ours = this.config.configPath;
    if (named === undefined || named === this.configFile || named === ours) return undefined;
    return (
      `the running agent (pid ${process.pid}) reads ${ours}, not ${named}: ` +
      `to use ${named}, run \`kms-agent stop\` first; ` +
      "to use the agent's, leave out --config and KMS_AGENT_CONFIG"
    );
  }

  /** While the last reload failed: what every command that talks to the agent says once. */
  configWarning(): string | undefined {
    if (this.configError === undefined) return undefined;
    const keeps = 'the agent still uses the config it had';
    return `${this.configError.message} (${keeps}: fix the file, then run \`kms-agent reload\`)`;
  }

  private applyProfiles(previous: AgentConfig, next: AgentConfig): void {
    for (const [name, session] of this.sessions) {
      if (next.profiles.has(name)) continue;
      this.logins.cancelFor(session);
      session.close();
      this.sessions.delete(name);
      this.log.info({ profile: name }, 'profile removed by a reload');
    }
    for (const profile of next.profiles.values()) {
      const session = this.sessions.get(profile.name);
      const changes = session ? profileChanges(session.profile, profile) : undefined;
      if (session && changes!.changed.length === 0) continue;
      if (session && keepsSession(changes!) && previous.storeDir === next.storeDir) {
        session.adoptProfile(profile);
      } else {
        if (session) {
          this.logins.cancelFor(session);
          session.close();
        }
        this.sessions.set(profile.name, this.newSession(profile));
      }
      this.log.info(
        {
          profile: profile.name,
          changed: changes?.changed ?? 'added',
          login_kept: !changes?.dropsLogin,
        },
        'profile loaded by a reload',
      );
    }
  }

  /**
   * The lock (passphraseLock.ts): logins in progress end, every session drops its tokens and its
   * refresh token leaves memory, the memory stores seal theirs.
   */
  async seal(sealer: Sealer): Promise<void> {
    this.logins.cancelAll();
    this.delegations.dropTokens();
    const sessions = [...this.sessions.values()];
    for (const session of sessions) session.locked = true;
    await Promise.all(sessions.map((session) => lockSession(session, sealer)));
    for (const store of this.stores.values()) if (store instanceof MemoryStore) store.seal(sealer);
  }

  async unseal(sealer: Sealer): Promise<void> {
    for (const store of this.stores.values())
      if (store instanceof MemoryStore) store.unseal(sealer);
    await Promise.all([...this.sessions.values()].map((session) => unlockSession(session, sealer)));
  }

  /** `kms-agent lock`: LOCKED when it already is. */
  async lock(passphrase: string): Promise<void> {
    await this.passphraseLock.lock(passphrase, this);
    this.log.info('agent locked');
  }

  /** `kms-agent unlock`: false when it was not locked; a config change made meanwhile loads now. */
  async unlock(passphrase: string): Promise<boolean> {
    const wasLocked = await this.passphraseLock.unlock(passphrase, this);
    if (!wasLocked) return false;
    this.log.info('agent unlocked');
    if (this.reloadPending) {
      this.reloadPending = false;
      try {
        this.reload();
      } catch {
        // Logged by reload; status shows it.
      }
    }
    return true;
  }

  close(): void {
    this.logins.cancelAll();
    this.delegations.closeAll();
    for (const session of this.sessions.values()) session.close();
  }
}

/** The path with its links resolved; a file that does not exist (yet) is compared as named. */
function resolvedPath(path: string): string {
  try {
    return realpathSync.native(path);
  } catch {
    return path;
  }
}
