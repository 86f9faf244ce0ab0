// A private Secret Service for a bench run: its own D-Bus session with gnome-keyring, under the
// run's directory, when the tools exist (scripts/setup-debian.sh installs them). Null without them.
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { commandExists, run } from './childCommands.mjs';
import { stopPid, waitUntil } from './processControl.mjs';

function startBus(address) {
  const args = ['--session', '--nofork', `--address=${address}`, '--print-address=1'];
  const bus = spawn('dbus-daemon', args, { stdio: ['ignore', 'pipe', 'ignore'] });
  const printed = new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error('dbus-daemon did not start')), 5000);
    bus.stdout.on('data', (d) => {
      text += d;
      if (text.includes('\n')) {
        clearTimeout(timer);
        resolve(text.trim());
      }
    });
    bus.once('exit', () => reject(new Error('dbus-daemon exited')));
  });
  return { bus, printed };
}

/** Ready once the Secret Service name is owned on the bus. */
async function secretServiceOn(env) {
  const bus = ['--dest=org.freedesktop.DBus', '/org/freedesktop/DBus'];
  const args = ['--session', '--print-reply', ...bus, 'org.freedesktop.DBus.ListNames'];
  try {
    const { stdout } = await run('dbus-send', args, { env });
    return stdout.includes('org.freedesktop.secrets');
  } catch {
    return false;
  }
}

export async function startPrivateKeyring(dir) {
  const tools = ['dbus-daemon', 'gnome-keyring-daemon'];
  if (!(await commandExists(tools[0])) || !(await commandExists(tools[1]))) return null;
  const keyringDir = join(dir, 'keyring');
  mkdirSync(join(keyringDir, 'run'), { recursive: true, mode: 0o700 });
  const { bus, printed } = startBus(`unix:path=${join(keyringDir, 'bus')}`);
  const address = await printed;
  const env = {
    PATH: process.env.PATH,
    DBUS_SESSION_BUS_ADDRESS: address,
    XDG_DATA_HOME: join(keyringDir, 'data'),
    XDG_RUNTIME_DIR: join(keyringDir, 'run'),
    HOME: keyringDir,
  };
  const keyringArgs = ['--foreground', '--unlock', '--components=secrets'];
  const keyring = spawn('gnome-keyring-daemon', keyringArgs, {
    env,
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  keyring.stdin.end('bench-keyring-password');
  await waitUntil('gnome-keyring on the private bus', () => secretServiceOn(env), 10_000, 50);
  return {
    address,
    pids: [bus.pid, keyring.pid],
    async stop() {
      await stopPid(keyring.pid);
      await stopPid(bus.pid);
    },
  };
}
