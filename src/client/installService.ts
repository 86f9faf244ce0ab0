import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = fileURLToPath(new URL('./bin.cjs', import.meta.url));
const LAUNCHD_LABEL = 'org.kms-agent';

interface ServiceFile {
  path: string;
  content: string;
}

export interface ServicePlan {
  files: ServiceFile[];
  commands: string[][];
  notes: string[];
}

/** systemd's ExecStart quoting: arguments with spaces or quotes are double-quoted. */
function systemdQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `"${arg.replace(/(["\\])/g, '\\$1')}"`;
}

/** The per-user systemd units, with ExecStart pointing at this installation's node and CLI. */
export function systemdPlan(env: NodeJS.ProcessEnv = process.env): ServicePlan {
  const unitDir = join(env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config'), 'systemd', 'user');
  const execStart = `ExecStart=${[process.execPath, CLI, 'start', '--foreground'].map(systemdQuote).join(' ')}`;
  const service = readFileSync(join(PACKAGE_ROOT, 'systemd', 'kms-agent.service'), 'utf8').replace(/^ExecStart=.*$/m, execStart);
  const socket = readFileSync(join(PACKAGE_ROOT, 'systemd', 'kms-agent.socket'), 'utf8');
  return {
    files: [
      { path: join(unitDir, 'kms-agent.socket'), content: socket },
      { path: join(unitDir, 'kms-agent.service'), content: service },
    ],
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
  const escapeXml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const content = readFileSync(join(PACKAGE_ROOT, 'launchd', `${LAUNCHD_LABEL}.plist`), 'utf8')
    .replaceAll('@NODE@', escapeXml(process.execPath))
    .replaceAll('@CLI@', escapeXml(CLI))
    .replaceAll('@HOME@', escapeXml(home));
  const uid = process.getuid?.() ?? 0;
  return {
    files: [{ path, content }],
    commands: [['launchctl', 'bootstrap', `gui/${uid}`, path]],
    notes: [
      `Add to your shell profile: export KMS_AGENT_SOCK="${home}/Library/Application Support/kms-agent/agent.sock"`,
    ],
  };
}

/** `kms-agent install-service`: writes the unit files and enables them, saying what it does. */
export function installService(options: { dryRun: boolean }, env: NodeJS.ProcessEnv = process.env): number {
  const plan = process.platform === 'darwin' ? launchdPlan(env) : systemdPlan(env);
  const say = (line: string): void => void process.stdout.write(line + '\n');
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
  for (const command of plan.commands) {
    if (options.dryRun) {
      say(`would run: ${command.join(' ')}`);
      continue;
    }
    try {
      execFileSync(command[0]!, command.slice(1), { stdio: ['ignore', 'inherit', 'inherit'] });
      say(`ran: ${command.join(' ')}`);
    } catch (err) {
      process.stderr.write(`kms-agent: \`${command.join(' ')}\` failed (${(err as Error).message.split('\n')[0]}); the files are written, run it yourself\n`);
      return 1;
    }
  }
  for (const note of plan.notes) say(note);
  return 0;
}
