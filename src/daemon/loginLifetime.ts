import { RefreshTimer } from './refreshSchedule.js';

/**
 * When the agent forgets a login (`max_lifetime`, `login --lifetime`; docs/configuration.md): the
 * end time is stored with the login, so it survives restarts. The session reads `endsAt` on its
 * hot path (a number, Infinity when the login has no end) and this timer ends the login on time.
 */
export class LoginLifetime {
  /** Unix seconds. */
  endsAt = Infinity;
  private readonly timer = new RefreshTimer();

  constructor(private readonly onEnd: () => void) {}

  /** The login now known ends at `endsAt` (undefined: never). */
  follow(endsAt: number | undefined): void {
    this.endsAt = endsAt ?? Infinity;
    if (endsAt === undefined) this.timer.cancel();
    else this.arm();
  }

  ended(nowSeconds = Date.now() / 1000): boolean {
    return nowSeconds >= this.endsAt;
  }

  cancel(): void {
    this.timer.cancel();
  }

  private arm(): void {
    const delayMs = Math.max(0, this.endsAt * 1000 - Date.now());
    // A clamped timer fires early: aim again.
    this.timer.arm(delayMs, () => (this.ended() ? this.onEnd() : this.arm()));
  }
}

/** When a login made now ends: the lifetime asked for at login, never beyond the profile's. */
export function loginEndsAt(
  keepFor: number | undefined,
  maxLifetime: number | undefined,
): number | undefined {
  const seconds = Math.min(keepFor ?? Infinity, maxLifetime ?? Infinity);
  return seconds === Infinity ? undefined : Math.floor(Date.now() / 1000) + seconds;
}
