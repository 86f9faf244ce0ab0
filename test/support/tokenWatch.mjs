// Where a token must not end up while a tool uses it (README "Use it from your tools"): any process's
// command line (what `ps` shows every user) or environment, and any file. A watch samples every
// process in /proc while an integration runs, then reads every file created or changed under the
// given roots since it began. Only the token itself is looked for, so other tests' files never match.
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Files larger than this are not another program's copy of a token. */
const MAX_FILE_BYTES = 16 * 1024 * 1024;

/** The default places to look: the system temp dir (every sandbox, HOME and fixture lives there) and /dev/shm. */
export const WATCHED_ROOTS = [tmpdir(), '/dev/shm'];

function readProc(pid, file) {
  try {
    return readFileSync(`/proc/${pid}/${file}`);
  } catch {
    return undefined; // exited while we looked, or not ours to read
  }
}

/** Regular files under `dir` changed at or after `since` (ms), not following symbolic links. */
function changedFiles(dir, since, found = []) {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return found;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) changedFiles(path, since, found);
    else if (entry.isFile()) {
      try {
        const st = lstatSync(path);
        if (st.mtimeMs >= since && st.size <= MAX_FILE_BYTES) found.push(path);
      } catch {
        // Removed meanwhile.
      }
    }
  }
  return found;
}

/**
 * Starts watching for `secret`. `environAllowed(args)` names the processes whose environment may
 * hold it (the tool's own child, given the token that way); `fileAllowed(path)` the files that may
 * (token files the user asked for). stop() resolves with what was seen where it must not be:
 * { commandLines, environments, files } (each a list), and how many processes and files were looked at.
 */
export function watchForToken(
  secret,
  {
    roots = WATCHED_ROOTS,
    environAllowed = () => false,
    fileAllowed = () => false,
    intervalMs = 5,
  } = {},
) {
  if (typeof secret !== 'string' || secret.length < 16)
    throw new Error('watchForToken needs the token to look for');
  const since = Date.now() - 1000; // file times are not finer than the clock tick
  const found = { commandLines: [], environments: [], files: [] };
  const processes = new Set();
  const sample = () => {
    for (const pid of readdirSync('/proc')) {
      if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
      const cmdline = readProc(pid, 'cmdline');
      if (cmdline === undefined) continue;
      const args = cmdline.toString('utf8').split('\0').filter(Boolean);
      processes.add(`${pid} ${args.join(' ')}`);
      if (cmdline.includes(secret))
        found.commandLines.push(args.join(' ').replaceAll(secret, '<TOKEN>'));
      if (environAllowed(args)) continue;
      const environ = readProc(pid, 'environ');
      if (!environ?.includes(secret)) continue;
      // A process caught in execve shows its new environment before its new command line (empty
      // in between): name it by the command line read after the environment.
      const after = readProc(pid, 'cmdline')?.toString('utf8').split('\0').filter(Boolean) ?? args;
      if (!environAllowed(after)) found.environments.push(after.join(' '));
    }
  };
  let running = true;
  const loop = (async () => {
    while (running) {
      sample();
      await sleep(intervalMs);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      sample();
      const files = roots.flatMap((root) => changedFiles(root, since));
      for (const path of files) {
        if (fileAllowed(path)) continue;
        try {
          if (readFileSync(path).includes(secret)) found.files.push(path);
        } catch {
          // Removed meanwhile, or unreadable.
        }
      }
      return {
        ...found,
        commandLines: [...new Set(found.commandLines)],
        environments: [...new Set(found.environments)],
        processesSeen: processes.size,
        filesRead: files.length,
      };
    },
  };
}

/** Asserts that a watch saw the token nowhere it must not be, and that it looked at something. */
export function assertNoLeak(assert, seen, what) {
  assert.deepEqual(seen.commandLines, [], `${what}: no command line holds the token`);
  assert.deepEqual(
    seen.environments,
    [],
    `${what}: no other process's environment holds the token`,
  );
  assert.deepEqual(seen.files, [], `${what}: no file holds the token`);
  assert.ok(seen.processesSeen > 0, `${what}: processes were sampled`);
}
