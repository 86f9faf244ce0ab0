/**
 * The detached daemon process started by `kms-agent start` (and by autostart): `runMain` reports
 * readiness, or the reason it could not start, on file descriptor 3, then the process lives on its
 * own. It takes the user's agent lock (agentLock.ts) before it runs the rest of the agent: when
 * many clients autostart at once, the daemons that lose the race report `running` (the winner
 * listens on their socket) or `elsewhere PID SOCKET` (on another one), and exit, having logged
 * nothing.
 * The launcher runs it from the daemon's bundle, dist/daemon/daemon.cjs (daemonProgram.ts).
 */
import { writeSync, closeSync } from 'node:fs';
import { resolveConfigPath } from '../config/configPaths.js';
import { agentLockPath } from '../os/agentLockFile.js';
import { AgentRunningElsewhereError, takeAgentLock } from './agentLock.js';
import { AgentAlreadyRunningError } from './socketDirectory.js';

const READY_FD = 3;
function report(line: string): void {
  try {
    writeSync(READY_FD, line + '\n');
    closeSync(READY_FD);
  } catch {
    // The starter is gone; nobody to tell.
  }
}

function fail(err: unknown): never {
  if (err instanceof AgentAlreadyRunningError) {
    report('running');
    process.exit(0);
  }
  if (err instanceof AgentRunningElsewhereError) {
    report(`elsewhere ${err.holder.pid} ${err.holder.socket}`);
    process.exit(0);
  }
  report(`error ${(err as Error).message}`);
  process.exit(1);
}

/** `--socket PATH [--config PATH] [--log-file PATH]`, as daemonLauncher.ts passes them; never returns. */
export async function runMain(argv: readonly string[] = process.argv): Promise<never> {
  const arg = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i === -1 ? undefined : argv[i + 1];
  };
  const socketPath = arg('--socket');
  if (!socketPath) {
    process.stderr.write('kms-agent daemon: --socket is required\n');
    process.exit(1);
  }
  try {
    const configPath = arg('--config');
    const mine = { socket: socketPath, config: resolveConfigPath(configPath) };
    const lock = await takeAgentLock(agentLockPath(process.env), mine);
    const { runDaemon } = await import('./run.js');
    await runDaemon({
      socketPath,
      configPath,
      logFile: arg('--log-file'),
      lock,
      // Warnings (e.g. a client_secret in a file others can read) go first, so `start` can show them.
      onReady: ({ pid, warnings }) =>
        report([...warnings.map((w) => `warning ${w}`), `ready ${pid}`].join('\n')),
    });
    process.exit(0);
  } catch (err) {
    fail(err);
  }
}
