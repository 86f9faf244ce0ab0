import type { ProfileSession } from '../profileSession.js';
import type { Sealer } from './sealing.js';

/**
 * A profile's session as the agent locks (agent.ts, seal): nothing refreshes, every cached token
 * goes (token files too), and the stored login leaves memory (grantKeeper.ts), once any refresh in
 * flight has stored what it got.
 */
export function lockSession(session: ProfileSession, sealer: Sealer): Promise<void> {
  session.locked = true;
  return session.grants.serialised(async () => {
    session.refresh.background.cancel();
    session.lifetime.cancel();
    session.tokens.clear();
    session.grants.seal(sealer);
  });
}

/** The lock ends: the login back in memory, its lifetime's timer again, its token file anew. */
export function unlockSession(session: ProfileSession, sealer: Sealer): Promise<void> {
  return session.grants.serialised(async () => {
    session.grants.unseal(sealer);
    session.locked = false;
    const { endsAt } = session.lifetime;
    session.lifetime.follow(endsAt === Infinity ? undefined : endsAt);
    session.warmUp();
  });
}
