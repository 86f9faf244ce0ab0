import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { CLI_BIN as CLI, PACKAGE_ROOT } from '../../../os/packageFiles.js';
import { escapeMarkup } from '../../../text/markupText.js';
import { resolveStateDir } from '../../../os/xdgPaths.js';

const LAUNCHD_LABEL = 'org.kms-agent';

interface ServiceFile {
  path: string;
  content: string;
}

export interface ServicePlan {
  files: ServiceFile[];
  /** Directories the service needs before its first start (created 0700). */
  directories: string[];
  /** Whether the service manager answers here; without one, the files are written and the commands said. */
  probe?: string[];
  commands: string[][];
  notes: string[];
}

/** systemd's ExecStart quoting: arguments with spaces or quotes are double-quoted. */
function systemdQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `"${arg.replace(/(["\\])/g, '\\$1')}"`;
}

/** The per-user systemd units, with ExecStart pointing at this installation's node and CLI. */
export function systemdPlan(env: NodeJS.ProcessEnv = process.env): ServicePlan {
  const unitDir = join(
    env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config'),
    'systemd',
    'user',
  );
  const execStart = `ExecStart=${[process.execPath, '--v8-pool-size=1', CLI, 'start', '--foreground'].map(systemdQuote).join(' ')}`;
  const service = readFileSync(join(PACKAGE_ROOT, 'systemd', 'kms-agent.service'), 'utf8').replace(
    /^ExecStart=.*$/m,
    execStart,
  );
  const socket = readFileSync(join(PACKAGE_ROOT, 'systemd', 'kms-agent.socket'), 'utf8');
  return {
    files: [
      { path: join(unitDir, 'kms-agent.socket'), content: socket },
      { path: join(unitDir, 'kms-agent.service'), content: service },
    ],
    // The unit's ReadWritePaths=-%S/kms-agent: under ProtectSystem=strict a directory that does not
    // exist yet cannot be made by the agent, and its file store and log would have nowhere to go.
    directories: [resolveStateDir(env)],
    probe: ['systemctl', '--user', 'show-environment'],
    commands: [
      ['systemctl', '--user', 'daemon-reload'],
      ['systemctl', '--user', 'enable', '--now', 'kms-agent.socket'],
    ],
    notes: [
      'The agent now starts on the first connection to $XDG_RUNTIME_DIR/kms-agent/agent.sock, the default socket: nothing to export.',
      'If an agent started by hand is still running, stop it first: kms-agent stop',
    ],
  };
}

/** The per-user LaunchAgent, with this installation's paths filled in. */
export function launchdPlan(env: NodeJS.ProcessEnv = process.env): ServicePlan {
  const home = env.HOME || homedir();
  const path = join(home, 'Library', 'LaunchAgents', `${LAUNCHD_LABEL}.plist`);
  const content = readFileSync(join(PACKAGE_ROOT, 'launchd', `${LAUNCHD_LABEL}.plist`), 'utf8')
    .replaceAll('@NODE@', escapeMarkup(process.execPath))
    .replaceAll('@CLI@', escapeMarkup(CLI))
    .replaceAll('@HOME@', escapeMarkup(home));
  const uid = process.getuid?.() ?? 0;
  return {
    files: [{ path, content }],
    directories: [],
    commands: [['launchctl', 'bootstrap', `gui/${uid}`, path]],
    notes: [
      `Add to your shell profile: export KMS_AGENT_SOCK="${home}/Library/Application Support/kms-agent/agent.sock"`,
    ],
  };
}

/** `kms-agent install-service`: writes the unit files and enables them, saying what it does. */
export function installService(
  options: { dryRun: boolean },
  env: NodeJS.ProcessEnv = process.env,
): number {
  const plan = process.platform === 'darwin' ? launchdPlan(env) : systemdPlan(env);
  const say = (line: string): void => void process.stdout.write(line + '\n');
  for (const dir of plan.directories) {
    if (options.dryRun) say(`would create ${dir} (0700)`);
    else mkdirSync(dir, { recursive: true, mode: 0o700 });
  }
  for (const file of plan.files) {
    if (options.dryRun) {
      say(`would write ${file.path}:`);
      say(file.content.replace(/^/gm, '  '));
    } else {
      mkdirSync(join(file.path, '..'), { recursive: true });
      writeFileSync(file.path, file.content, { mode: 0o644 });
      say(`wrote ${file.path}`);
    }
  }
  if (options.dryRun) {
    for (const command of plan.commands) say(`would run: ${command.join(' ')}`);
  } else {
    const absent = plan.probe && managerAbsent(plan.probe);
    if (absent) return noServiceManager(plan, absent, say);
    for (const command of plan.commands) {
      try {
        execFileSync(command[0]!, command.slice(1), { stdio: ['ignore', 'inherit', 'inherit'] });
        say(`ran: ${command.join(' ')}`);
      } catch (err) {
        process.stderr.write(
          `kms-agent: \`${command.join(' ')}\` failed (${firstLine(err)}); the files are written, run it yourself\n`,
        );
        return 1;
      }
    }
  }
  for (const note of plan.notes) say(note);
  return 0;
}

function firstLine(err: unknown): string {
  const stderr = (err as { stderr?: Buffer | string }).stderr?.toString().trim();
  return (stderr || (err as Error).message).split('\n')[0]!;
}

/** Why the service manager does not answer (no user systemd: a container, an SSH session without lingering), or undefined. */
function managerAbsent(probe: string[]): string | undefined {
  try {
    execFileSync(probe[0]!, probe.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
    return undefined;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT'
      ? `${probe[0]} is not installed`
      : firstLine(err);
  }
}

/** The files are in place; what to run once a user systemd runs, and how to use the agent until then. Exit 0, as --dry-run would. */
function noServiceManager(plan: ServicePlan, why: string, say: (line: string) => void): number {
  say(
    `No systemd user instance answers here (\`${plan.probe!.join(' ')}\`: ${why}), so nothing was enabled.`,
  );
  say(
    'Once one runs (a desktop session, or `loginctl enable-linger` for SSH logins), enable the agent with:',
  );
  for (const command of plan.commands) say(`  ${command.join(' ')}`);
  say('Until then, start it from your shell: eval "$(kms-agent start)"');
  return 0;
}
