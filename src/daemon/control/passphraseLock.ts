import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { AgentError } from '../../rpc/jsonRpc.js';
import { locked } from './refusals.js';
import { Sealer, type Sealed } from './sealing.js';
import { OneAtATime } from '../oneAtATime.js';

/** What the agent seals when it locks, and opens again when it unlocks (agent.ts). */
export interface Sealable {
  seal(sealer: Sealer): Promise<void>;
  unseal(sealer: Sealer): Promise<void>;
}

const CHECK_TEXT = 'kms-agent lock';
const FIRST_DELAY_MS = 1000;
const MAX_DELAY_MS = 30_000;

/**
 * `kms-agent lock` / `unlock` (docs/SECURITY.md): the passphrase's key (scrypt, a random salt per
 * lock) seals what the agent holds only in memory, and a check text sealed with it tells a right
 * passphrase from a wrong one; the key itself is forgotten. Attempts to unlock run one at a time,
 * and a wrong passphrase is answered only after a delay that doubles with each (1 s … 30 s).
 */
export class PassphraseLock {
  private state: { salt: Buffer; check: Sealed } | undefined;
  private failures = 0;
  private readonly attempts = new OneAtATime();

  get locked(): boolean {
    return this.state !== undefined;
  }

  lock(passphrase: string, what: Sealable): Promise<void> {
    return this.attempts.run(async () => {
      if (this.state) throw locked();
      const salt = randomBytes(16);
      const sealer = await Sealer.derive(passphrase, salt);
      this.state = { salt, check: sealer.seal(CHECK_TEXT) };
      try {
        await what.seal(sealer);
      } finally {
        sealer.forget();
      }
    });
  }

  /** Resolves true when it was locked and now is not, false when it was not locked. */
  unlock(passphrase: string, what: Sealable): Promise<boolean> {
    return this.attempts.run(async () => {
      if (!this.state) return false;
      const sealer = await Sealer.derive(passphrase, this.state.salt);
      try {
        if (sealer.open(this.state.check) !== CHECK_TEXT) {
          const wait = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** this.failures++);
          await delay(wait);
          throw new AgentError(
            'WRONG_PASSPHRASE',
            'wrong passphrase: the agent stays locked ' +
              `(each wrong one waits longer; this one ${wait / 1000} s)`,
          );
        }
        await what.unseal(sealer);
      } finally {
        sealer.forget();
      }
      this.state = undefined;
      this.failures = 0;
      return true;
    });
  }
}
