// A real sandbox for the tests: bubblewrap (Debian's `bwrap`) running a command that sees the host
// read-only, a private /tmp and /run, and exactly one host Unix socket, bound at a chosen path.
// Measured on this project's machines (bubblewrap 0.8.0, as root in a container and as nobody
// through setpriv; the kernel lets both make user namespaces):
// - connect() on a socket is not a write to its file system: a socket under the read-only root
//   stays reachable. Every host directory holding another socket must be hidden (`hide`: an empty
//   tmpfs over it); /tmp and /run are.
// - Without a private pid namespace, /proc/PID/root of a host process leads back to the host's
//   whole tree, hidden directories included: --unshare-all (pid, user, net, ipc, uts, cgroup).
// - A bound socket file is that inode: a socket removed and made again at the host path is not
//   seen inside (connect says ECONNREFUSED). Bind the socket after it exists, for its lifetime.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { hasCommand } from './processes.mjs';
import { run } from './tools/processRun.mjs';

/** Where the bound socket is, inside, unless a test says otherwise. */
export const SANDBOX_SOCKET = '/run/kms-agent/agent.sock';

const NOBODY = 65534;

/** This clone: its dist/ and node_modules/ are what runs inside. */
const REPO = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');
/** A clone under /tmp or /run (CI's may be) is seen again through the private ones, read-only. */
const REPO_AGAIN = /^\/(tmp|run)\//.test(REPO) ? ['--ro-bind', REPO, REPO] : [];

/** bwrap's arguments for that view, before the command. */
export function sandboxArgs({ socket, at = SANDBOX_SOCKET, hide = [] }) {
  return [
    '--unshare-all',
    '--die-with-parent',
    '--ro-bind',
    '/',
    '/',
    '--dev',
    '/dev',
    '--proc',
    '/proc',
    '--tmpfs',
    '/tmp',
    '--tmpfs',
    '/run',
    ...REPO_AGAIN,
    ...hide.flatMap((dir) => ['--tmpfs', dir]),
    // Last: the socket's parent directories are made on the tmpfs above.
    ...(socket ? ['--bind', socket, at] : []),
  ];
}

/** Why sandboxed tests cannot run here (no bwrap, or it cannot make its namespaces), or false. */
export function sandboxSkip() {
  if (!hasCommand('bwrap')) return 'needs bwrap (Debian package bubblewrap)';
  const probe = spawnSync('bwrap', [...sandboxArgs({}), 'true'], { encoding: 'utf8' });
  return probe.status === 0 ? false : `bwrap cannot make a sandbox here: ${probe.stderr.trim()}`;
}

/** True when this process may run the sandbox as another uid (root, with setpriv). */
export const canSandboxAsNobody = () => process.getuid?.() === 0 && hasCommand('setpriv');

/**
 * Runs `argv` in the sandbox with `socket` bound at `at` and `hide` directories emptied.
 * With `asNobody`, the sandbox runs as uid/gid 65534 (setpriv; needs root). Resolves with
 * { code, stdout, stderr }.
 */
export function runInSandbox(argv, options = {}) {
  const { socket, at, hide, asNobody = false, env, input, timeout = 30_000 } = options;
  const bwrap = ['bwrap', ...sandboxArgs({ socket, at, hide }), '--', ...argv];
  const nobody = ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups'];
  const user = asNobody ? nobody : [];
  const [file, ...args] = [...user, ...bwrap];
  return run(file, args, { env, input, timeout });
}
