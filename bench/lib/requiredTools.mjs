// The tools a bench run needs beyond Node: the peer (oidc-agent's commands), hyperfine and a C
// compiler. bench/setup.sh installs what is missing.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './buildEntries.mjs';
import { commandExists } from './childCommands.mjs';

const NEEDED = ['oidc-agent', 'oidc-gen', 'oidc-add', 'oidc-token', 'hyperfine', 'cc'];

export async function ensureTools(say) {
  const missing = [];
  for (const cmd of NEEDED) if (!(await commandExists(cmd))) missing.push(cmd);
  if (missing.length === 0) return;
  say(`missing ${missing.join(', ')}: running bench/setup.sh`);
  const setup = spawn('bash', [join(ROOT, 'bench', 'setup.sh')], { stdio: 'inherit' });
  const code = await new Promise((r) => setup.on('exit', r));
  if (code !== 0) throw new Error('bench/setup.sh failed');
}
