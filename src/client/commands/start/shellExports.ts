/** The lines `eval "$(kms-agent start)"` runs, in sh or csh syntax, as ssh-agent prints them. */
export type ShellSyntax = 'sh' | 'csh';

/** Which syntax: `start` and `stop` take the same flags, as ssh-agent does. */
export const SHELL_FLAGS = {
  csh: { flags: '-c, --csh', description: 'print csh syntax' },
  sh: { flags: '-s, --sh', description: 'print sh syntax (the default unless $SHELL is a csh)' },
};

function shQuote(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

export function detectShell(
  flags: { csh?: unknown; sh?: unknown },
  env: NodeJS.ProcessEnv = process.env,
): ShellSyntax {
  if (flags.csh) return 'csh';
  if (flags.sh) return 'sh';
  return /csh$/.test(env.SHELL ?? '') ? 'csh' : 'sh';
}

export function shellExports(
  syntax: ShellSyntax,
  socketPath: string,
  pid: number | undefined,
): string {
  const sock = shQuote(socketPath);
  const lines =
    syntax === 'csh'
      ? [`setenv KMS_AGENT_SOCK ${sock};`, ...(pid ? [`setenv KMS_AGENT_PID ${pid};`] : [])]
      : [
          `KMS_AGENT_SOCK=${sock}; export KMS_AGENT_SOCK;`,
          ...(pid ? [`KMS_AGENT_PID=${pid}; export KMS_AGENT_PID;`] : []),
        ];
  if (pid) lines.push(`echo Agent pid ${pid};`);
  return lines.join('\n') + '\n';
}

/** What `eval "$(kms-agent stop)"` runs, as `ssh-agent -k` prints it: the variables go, and it says which agent. */
export function shellUnsets(syntax: ShellSyntax, pid: number): string {
  const unset = syntax === 'csh' ? 'unsetenv' : 'unset';
  return `${unset} KMS_AGENT_SOCK;\n${unset} KMS_AGENT_PID;\necho Agent pid ${pid} killed;\n`;
}
