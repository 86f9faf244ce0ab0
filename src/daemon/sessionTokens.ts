import type { Profile } from '../config/profile.js';
import { MAIN_TARGET, type TokenTarget } from '../provider/tokenTarget.js';
import { TargetCache } from './targetCache.js';
import { servable, type CachedTokens } from './tokenCache.js';
import type { TokenFiles } from './tokenFiles.js';

/**
 * A session's tokens in memory: the main ones (the profile's own scope and audience), those of the
 * other targets clients asked for (never replacing the main ones), and the token file
 * (`token_file = true`, tokenFiles.ts) that follows the main ones.
 */
export class SessionTokens {
  private mainEntry: CachedTokens | undefined;
  private readonly targets = new TargetCache();

  constructor(
    private readonly name: string,
    private profile: Profile,
    private readonly files: TokenFiles | undefined,
  ) {}

  get main(): CachedTokens | undefined {
    return this.mainEntry;
  }

  of(target: TokenTarget): CachedTokens | undefined {
    return target === MAIN_TARGET ? this.mainEntry : this.targets.get(target.key);
  }

  set(target: TokenTarget, entry: CachedTokens): void {
    if (target === MAIN_TARGET) this.setMain(entry);
    else this.targets.set(target.key, entry);
  }

  /** The main tokens changed (or are gone): the token file follows them. */
  setMain(entry: CachedTokens | undefined): void {
    this.mainEntry = entry;
    if (!this.files || !this.profile.tokenFile) return;
    const token = entry && servable(entry, this.profile.servedKind);
    if (token) this.files.write(this.name, token.reply.token, token.reply.token_type);
    else this.files.remove(this.name);
  }

  /** Every token goes (a new login, a logout, a login ended), the token file too. */
  clear(): void {
    this.setMain(undefined);
    this.targets.clear();
  }

  /** A reload's profile: its token file appears, or goes, with its setting. */
  adoptProfile(profile: Profile): void {
    if (this.profile.tokenFile && !profile.tokenFile) this.files?.remove(this.name);
    this.profile = profile;
    this.setMain(this.mainEntry);
  }

  /** The session ends (the agent stops, the profile is gone): nothing stays on disk. */
  close(): void {
    this.targets.clear();
    if (this.profile.tokenFile) this.files?.remove(this.name);
  }
}
