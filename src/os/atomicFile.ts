/**
 * The one way a file is replaced: the new text goes to a temporary file beside it (created, never
 * reused: `wx`), gets its mode whatever the umask, is written whole, and is renamed over the file,
 * so a reader sees the old file or the new one, never half of either. `durable` also syncs the
 * file before the rename and its directory after it, so a crash or a power cut keeps one of the
 * two: for a refresh token that cannot be had again. A failure removes the temporary file.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface WriteOptions {
  /** The file's mode (0600 for anything that holds a token). */
  mode: number;
  /** Synced to the disk before it counts as written. */
  durable: boolean;
}

/** The new text beside the file, not yet in its place: `commit` renames it over the file. */
export interface StagedFile {
  temp: string;
  commit(): void;
  discard(): void;
}

/** `<file>.<random>.tmp`: what a crash between the write and the rename leaves (fileStore.ts removes it). */
const tempName = (file: string): string => `${file}.${randomBytes(6).toString('hex')}.tmp`;

/** Writes the new text beside `file`; what must happen before it replaces the file (a check) comes next. */
export function stageFile(file: string, text: string, options: WriteOptions): StagedFile {
  const temp = tempName(file);
  const fd = openSync(temp, 'wx', options.mode);
  try {
    chmodSync(temp, options.mode);
    const bytes = Buffer.from(text);
    for (let written = 0; written < bytes.length;) written += writeSync(fd, bytes, written);
    if (options.durable) fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(temp, { force: true });
    throw err;
  }
  closeSync(fd);
  const commit = (): void => {
    renameSync(temp, file);
    if (options.durable) syncDirectorySync(dirname(file));
  };
  return { temp, commit, discard: () => rmSync(temp, { force: true }) };
}

export function replaceFile(file: string, text: string, options: WriteOptions): void {
  const staged = stageFile(file, text, options);
  try {
    staged.commit();
  } catch (err) {
    staged.discard();
    throw err;
  }
}

/** The same, without blocking the daemon's event loop on the disk (the file store). */
export async function replaceFileAsync(
  file: string,
  text: string,
  options: WriteOptions,
): Promise<void> {
  const temp = tempName(file);
  try {
    const handle = await open(temp, 'wx', options.mode);
    try {
      await handle.chmod(options.mode);
      await handle.writeFile(text);
      if (options.durable) await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
  if (options.durable) await syncDirectory(dirname(file));
}

/** Makes a rename durable. Windows cannot open a directory, and some filesystems refuse to sync one. */
async function syncDirectory(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EINVAL') throw error;
  } finally {
    await handle.close();
  }
}

function syncDirectorySync(dir: string): void {
  if (process.platform === 'win32') return;
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EINVAL') throw error;
  } finally {
    closeSync(fd);
  }
}
