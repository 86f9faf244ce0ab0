import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
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
      await writeAtomically(this.dir, path, JSON.stringify(grant));
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
      if (name.startsWith(prefix) && name.endsWith('.tmp')) await unlink(join(this.dir, name)).catch(() => undefined);
    }
  }

  /** Keys contain '/', ':' and '@'; a hash makes a safe, fixed-length name of any of them. */
  private pathOf(key: string): string {
    return join(this.dir, `${createHash('sha256').update(key).digest('hex')}.json`);
  }

  /** Creates the directory 0700, and refuses one that another user owns or could plant a login in. */
  private async checkedDir(): Promise<void> {
    let info;
    try {
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      info = await stat(this.dir);
    } catch (error) {
      throw this.unavailable(`cannot create the token directory ${this.dir}`, error);
    }
    if (!info.isDirectory()) throw this.unavailable(`${this.dir} is not a directory`);
    const uid = process.getuid?.();
    if (uid === undefined) return; // Windows: no POSIX owner or mode bits to check.
    if (info.uid !== uid) {
      throw this.unavailable(`refusing the token directory ${this.dir}: it is owned by uid ${info.uid}, not by you (uid ${uid})`);
    }
    if ((info.mode & 0o022) !== 0) {
      const mode = (info.mode & 0o777).toString(8).padStart(4, '0');
      throw this.unavailable(`refusing the token directory ${this.dir}: mode ${mode} lets others write to it; run chmod 700 ${this.dir}`);
    }
  }

  private unavailable(what: string, cause?: unknown): StoreUnavailableError {
    const reason = cause instanceof Error ? `: ${cause.message}` : '';
    return new StoreUnavailableError('file', `token file store unavailable: ${what}${reason}`, { cause });
  }
}

/**
 * Temp file in the same directory, fsync, rename over, fsync the directory: a crash or a full
 * disk leaves either the old file or the new one, never a torn one.
 */
async function writeAtomically(dir: string, path: string, content: string): Promise<void> {
  const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    const file = await open(temp, 'wx', 0o600);
    try {
      await file.writeFile(content);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => {});
    throw error;
  }
  await syncDirectory(dir);
}

/** Makes the rename durable. Windows cannot open a directory, and some filesystems refuse to sync one. */
async function syncDirectory(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } catch (error) {
    if (errorCode(error) !== 'EINVAL') throw error;
  } finally {
    await handle.close();
  }
}

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}
