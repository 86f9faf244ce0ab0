/**
 * The one rule for a path the agent trusts with a login (docs/SECURITY.md): it is what it should be
 * (a directory, a file, a socket), it is this user's, and nobody else can change it. Callers differ
 * only in the named variations of TrustRule, and word what is wrong in their own context. Where
 * the system has no POSIX owners (Windows), only the type is judged.
 */
import { lstatSync, mkdirSync, statSync, type Stats } from 'node:fs';

export interface TrustRule {
  /** What the path must be; any kind of file when unset (a config may come from a pipe). */
  type?: 'directory' | 'file' | 'socket';
  /** Judge what a symbolic link leads to; by default a link is refused. */
  followLinks?: boolean;
  /** Nobody else may even read it or look inside (mode & 077 clear), not only not write (022). */
  ownerOnly?: boolean;
  /** The mode is not judged: a socket, whose directory decides who can reach it. */
  anyMode?: boolean;
  /** Root's is fine too: a system directory above the user's own file. */
  allowRoot?: boolean;
  /** A sticky directory others can write to is fine (/tmp): none can replace what is not theirs. */
  allowSticky?: boolean;
}

/** What is wrong with a path, for the caller to say. */
export type Distrust =
  | { kind: 'missing' }
  | { kind: 'link' }
  | { kind: 'type' }
  | { kind: 'owner'; owner: number; me: number }
  | { kind: 'mode'; mode: number };

/** What is wrong with `path` under `rule` (stat'ed here, links followed or not), or undefined. */
export function distrust(path: string, rule: TrustRule): Distrust | undefined {
  const stat = (rule.followLinks ? statSync : lstatSync)(path, { throwIfNoEntry: false });
  return stat === undefined ? { kind: 'missing' } : distrustOf(stat, rule);
}

/** The same, for what the caller already stat'ed (an open file's fstat). */
export function distrustOf(stat: Stats, rule: TrustRule): Distrust | undefined {
  if (stat.isSymbolicLink()) return { kind: 'link' };
  if (rule.type !== undefined && !isOfType(stat, rule.type)) return { kind: 'type' };
  const me = process.getuid?.();
  if (me === undefined) return undefined;
  if (stat.uid !== me && !(rule.allowRoot && stat.uid === 0)) {
    return { kind: 'owner', owner: stat.uid, me };
  }
  const others = rule.ownerOnly ? 0o077 : 0o022;
  const sticky = rule.allowSticky === true && stat.isDirectory() && (stat.mode & 0o1000) !== 0;
  if (!rule.anyMode && (stat.mode & others) !== 0 && !sticky) {
    return { kind: 'mode', mode: stat.mode & 0o777 };
  }
  return undefined;
}

function isOfType(stat: Stats, type: NonNullable<TrustRule['type']>): boolean {
  if (type === 'directory') return stat.isDirectory();
  return type === 'file' ? stat.isFile() : stat.isSocket();
}

/** A mode as chmod takes it: 0750. */
export const modeText = (mode: number): string => mode.toString(8).padStart(4, '0');

/**
 * Creates `dir` 0700 if missing and checks it is a real directory of the user's that nobody else
 * can even read: for files holding tokens (token files, the ckms config copy). Returns `dir`.
 */
export function privateDirectory(dir: string): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (distrust(dir, { type: 'directory', ownerOnly: true })) {
    throw new Error(`refusing ${dir}: it must be a directory of yours with mode 0700`);
  }
  return dir;
}
