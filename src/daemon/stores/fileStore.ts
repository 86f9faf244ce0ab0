import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { replaceFileAsync } from '../../os/atomicFile.js';
import { distrustOf, modeText } from '../../os/fileSafety.js';
import { parseGrant } from './grantJson.js';
import { StoreUnavailableError, type StoredGrant, type TokenStore } from './tokenStore.js';

/** One 0600 JSON file per key in a 0700 directory, for machines without a usable OS keychain. */
export class FileStore implements TokenStore {
  readonly kind = 'file' as const;

  constructor(readonly dir: string) {}

  async load(key: string): Promise<StoredGrant | null> {
    await this.checkedDir();
    const path = this.pathOf(key);
    try {
      return parseGrant(await readFile(path, 'utf8'));
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return null;
      throw this.unavailable(`cannot read ${path}`, error);
    }
  }

  async save(key: string, grant: StoredGrant): Promise<void> {
    await this.checkedDir();
    const path = this.pathOf(key);
    try {
      await replaceFileAsync(path, JSON.stringify(grant), { mode: 0o600, durable: true });
    } catch (error) {
      throw this.unavailable(`cannot write ${path}`, error);
    }
  }

  async remove(key: string): Promise<void> {
    await this.checkedDir();
    const path = this.pathOf(key);
    await this.removeLeftovers(path);
    try {
      await unlink(path);
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return;
      throw this.unavailable(`cannot delete ${path}`, error);
    }
  }

  /**
   * A crash between creating a temp file and renaming it leaves `<name>.json.<random>.tmp` behind,
   * holding a refresh token that may still be valid. Logging out must not leave it on disk.
   */
  private async removeLeftovers(path: string): Promise<void> {
    const prefix = `${path.slice(this.dir.length + 1)}.`;
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return;
    }
    for (const name of names) {
      if (name.startsWith(prefix) && name.endsWith('.tmp'))
        await unlink(join(this.dir, name)).catch(() => undefined);
    }
  }

  /** Keys contain '/', ':' and '@'; a hash makes a safe, fixed-length name of any of them. */
  private pathOf(key: string): string {
    return join(this.dir, `${createHash('sha256').update(key).digest('hex')}.json`);
  }

  /**
   * Creates the directory 0700, and refuses one that another user owns or could plant a login in.
   * A link to such a directory is fine (store_dir may name one).
   */
  private async checkedDir(): Promise<void> {
    let info;
    try {
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      info = await stat(this.dir);
    } catch (error) {
      throw this.unavailable(`cannot create the token directory ${this.dir}`, error);
    }
    const problem = distrustOf(info, { type: 'directory', followLinks: true });
    const refusing = `refusing the token directory ${this.dir}`;
    if (problem?.kind === 'type') throw this.unavailable(`${this.dir} is not a directory`);
    if (problem?.kind === 'owner') {
      const whose = `it is owned by uid ${problem.owner}, not by you (uid ${problem.me})`;
      throw this.unavailable(`${refusing}: ${whose}`);
    }
    if (problem?.kind === 'mode') {
      const why = `mode ${modeText(problem.mode)} lets others write to it`;
      throw this.unavailable(`${refusing}: ${why}; run chmod 700 ${this.dir}`);
    }
  }

  private unavailable(what: string, cause?: unknown): StoreUnavailableError {
    const reason = cause instanceof Error ? `: ${cause.message}` : '';
    return new StoreUnavailableError('file', `token file store unavailable: ${what}${reason}`, {
      cause,
    });
  }
}

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}
