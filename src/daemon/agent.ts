import { dirname } from 'node:path';
import type { Logger } from './logger.js';
import type { AgentConfig } from './profile.js';
import { AgentError } from '../rpc/reasons.js';
import { noProfileChosen } from './defaultProfile.js';
import { ProfileSession } from './profileSession.js';
import { LoginRegistry } from './login/loginRegistry.js';
import { openStore } from './stores/fallbackStore.js';
import type { StoreKind } from '../rpc/methods.js';
import type { TokenStore } from './stores/tokenStore.js';

/** The daemon's state: one session per profile, the logins in progress, and how to reach each. */
export class Agent {
  readonly startedAt = Math.floor(Date.now() / 1000);
  readonly sessions = new Map<string, ProfileSession>();
  readonly logins: LoginRegistry;

  constructor(readonly config: AgentConfig, readonly socketPath: string, readonly log: Logger) {
    this.logins = new LoginRegistry(dirname(socketPath), log);
    // One store per kind, shared by profiles, so a keychain fallback is decided (and reported) once.
    const stores = new Map<StoreKind, TokenStore>();
    for (const profile of config.profiles.values()) {
      let store = stores.get(profile.store);
      if (!store) {
        store = openStore(profile.store, config.storeDir);
        stores.set(profile.store, store);
      }
      this.sessions.set(profile.name, new ProfileSession(profile, store, log.child({ profile: profile.name })));
    }
  }

  session(name: string | undefined): ProfileSession {
    const wanted = name ?? this.config.defaultProfile;
    const session = wanted === undefined ? undefined : this.sessions.get(wanted);
    if (session) return session;
    const known = [...this.sessions.keys()];
    if (wanted === undefined || known.length === 0) throw new AgentError('UNKNOWN_PROFILE', noProfileChosen(this.config));
    throw new AgentError('UNKNOWN_PROFILE', `no profile named ${wanted}: configured profiles are ${known.join(', ')} (see \`kms-agent profiles\`)`);
  }

  close(): void {
    this.logins.cancelAll();
    for (const session of this.sessions.values()) session.close();
  }
}
