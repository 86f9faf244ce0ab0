import { realpathSync, statSync, type Stats } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, resolve } from 'node:path';
import { distrustOf, modeText, type TrustRule } from '../os/fileSafety.js';

/**
 * StrictModes, as ssh applies it to authorized_keys: a file that tells the agent where to send the
 * refresh token must be one only its user (or root) can change. So the file, and every directory
 * above it, must be owned by the user or root and not writable by group or others; a sticky
 * directory (/tmp) is fine, since others cannot rename or delete what is not theirs in it.
 * Returns what is wrong and the command that fixes it, or undefined when the file can be trusted.
 */
export function untrustedBecause(file: string, fileStat: Stats): string | undefined {
  const uid = process.getuid?.();
  if (uid === undefined) return undefined; // Windows: no POSIX owner or mode bits to judge by
  const fileProblem = problemOf(file, fileStat, uid, 'it');
  if (fileProblem) return fileProblem;
  for (const dir of directoriesAbove(file)) {
    const problem = problemOf(dir, statSync(dir), uid, `its directory ${dir}`);
    if (problem) return problem;
  }
  return undefined;
}

/** The directories of the path as given and of the real file it leads to, nearest first. */
function directoriesAbove(file: string): string[] {
  const dirs = new Set<string>();
  for (const start of [resolve(file), realpathSync(file)]) {
    for (let dir = dirname(start); !dirs.has(dir); dir = dirname(dir)) {
      dirs.add(dir);
      if (dirname(dir) === dir) break;
    }
  }
  return [...dirs];
}

/** The user's or root's, links followed, and a sticky directory others write to is fine. */
const STRICT_MODES: TrustRule = { followLinks: true, allowRoot: true, allowSticky: true };

function problemOf(path: string, stat: Stats, uid: number, what: string): string | undefined {
  const problem = distrustOf(stat, STRICT_MODES);
  if (problem?.kind === 'owner') {
    const you = userName(uid);
    const others = uid === 0 ? '' : ' or root';
    const whose = `${what} is owned by uid ${problem.owner}, not by you (${you})${others}`;
    return `${whose}, so that user could change it: run chown ${you} ${path}`;
  }
  if (problem?.kind === 'mode') {
    const changed = `${what} can be changed by group or others (mode ${modeText(problem.mode)})`;
    return `${changed}, who could send your login to a server of theirs: run chmod go-w ${path}`;
  }
  return undefined;
}

function userName(uid: number): string {
  try {
    return userInfo().username;
  } catch {
    return String(uid); // no passwd entry (containers): chown takes the number too
  }
}
