import { existsSync, statSync, watch, type FSWatcher } from 'node:fs';
import { dirname, relative, sep } from 'node:path';
import type { WatchedFile } from '../config/profile.js';

/** Editors write a file in several steps (temp file, rename, chmod): wait for them to settle. */
const SETTLE_MS = 150;

/** What a file is now, cheaply: a change in any of these is worth a reload. */
function signature(path: string): string {
  try {
    const s = statSync(path);
    return `${s.ino}:${s.size}:${s.mtimeMs}:${s.mode}:${s.uid}`;
  } catch {
    return 'missing';
  }
}

/** The directory to watch for `path`: its own, or the nearest one that exists (a file may appear later). */
function watchableDir(path: string): string {
  let dir = dirname(path);
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

/**
 * Calls `onChange` when a config file (or the Cosmian file) is written, replaced, created or
 * removed. It watches directories, not files, because editors replace a file by renaming a new one
 * over it, and a file that does not exist yet cannot be watched. inotify on Linux: an idle agent
 * is not woken by polling.
 */
export class ConfigWatcher {
  private watchers: FSWatcher[] = [];
  private signatures = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly onChange: () => void) {}

  /** Watches these files from now on (called again after each reload: the list may change). */
  watch(files: readonly WatchedFile[]): void {
    this.close();
    this.signatures = new Map(files.map((f) => [f.path, signature(f.path)]));
    const dirs = new Map<string, Set<string>>();
    for (const { path } of files) {
      const dir = watchableDir(path);
      // The entry of `dir` on the way to the file: the file itself, or a directory still to be made.
      const name = relative(dir, path).split(sep)[0]!;
      dirs.set(dir, (dirs.get(dir) ?? new Set()).add(name));
    }
    for (const [dir, names] of dirs) {
      try {
        const watcher = watch(dir, { persistent: false }, (_event, name) => {
          if (name === null || names.has(name.toString())) this.soon();
        });
        watcher.on('error', () => undefined);
        this.watchers.push(watcher);
      } catch {
        // A directory that cannot be watched (permissions): SIGHUP and `kms-agent reload` still work.
      }
    }
  }

  private soon(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.check(), SETTLE_MS);
    this.timer.unref();
  }

  /** Reloads only when a file really changed (a watched directory sees unrelated events too). */
  private check(): void {
    for (const [path, before] of this.signatures) {
      if (signature(path) !== before) return this.onChange();
    }
    // A directory on the way may have appeared: watch deeper.
    this.watch(
      [...this.signatures.keys()].map((path) => ({ path, role: 'config', exists: false })),
    );
  }

  close(): void {
    clearTimeout(this.timer);
    for (const watcher of this.watchers) watcher.close();
    this.watchers = [];
  }
}
