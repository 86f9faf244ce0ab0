/**
 * What `kms-agent exec --ckms -- ckms …` needs to know about the Cosmian CLI it runs (docs/tools.md):
 * which subcommand the arguments name, and how this ckms takes a token from outside.
 */
import { spawnSync } from 'node:child_process';

/** Options of the Cosmian CLIs (`ckms`, and `cosmian`) that take a value: the word after them is no subcommand. */
const VALUE_OPTIONS = new Set([
  '-c',
  '--conf-path',
  '--url',
  '--kms-url',
  '--findex-url',
  '-H',
  '--header',
  '--proxy-url',
  '--proxy-basic-auth-username',
  '--proxy-basic-auth-password',
  '--proxy-custom-auth-header',
  '--proxy-exclusion-list',
]);

/** `cosmian` has the KMS commands under `kms` (`cosmian kms login`). */
const COMMAND_GROUPS = new Set(['kms']);

/** Subcommands after which the Cosmian CLI writes its config file back (with any header it was given). */
const WRITES_CONFIG = new Set(['login', 'logout', 'configure']);

/** The subcommand the arguments (after the program) name, or undefined. */
export function ckmsSubcommand(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') return args[i + 1];
    if (arg.startsWith('-')) {
      if (VALUE_OPTIONS.has(arg)) i++;
      continue;
    }
    if (!COMMAND_GROUPS.has(arg)) return arg;
  }
  return undefined;
}

/** True for `login`, `logout` and `configure`: they save ckms's config, so they must run untouched. */
export function writesConfig(args: readonly string[]): boolean {
  const command = ckmsSubcommand(args);
  return command !== undefined && WRITES_CONFIG.has(command);
}

/** A header given on the command line: ckms then ignores CLI_HEADER (the option wins over its variable). */
export function hasHeaderOption(args: readonly string[]): boolean {
  return args.some(
    (arg) => arg === '-H' || arg === '--header' || arg.startsWith('--header=') || /^-H./.test(arg),
  );
}

/** ckms 5.17 added `-H` and CLI_HEADER; an `Authorization` header given so replaces the stored access_token. */
const HEADER_SINCE = [5, 17] as const;

export type CkmsVersion = { major: number; minor: number; text: string };

/** The version `ckms --version` printed ("ckms 5.17.0"), or undefined: another program, or no version. */
export function parseCkmsVersion(output: string): CkmsVersion | undefined {
  const match = /^ckms v?(\d+)\.(\d+)\.\d+/m.exec(output.trim());
  return match
    ? { major: Number(match[1]), minor: Number(match[2]), text: `${match[1]}.${match[2]}` }
    : undefined;
}

export function takesHeader(version: CkmsVersion | undefined): boolean {
  if (version === undefined) return false;
  const [major, minor] = HEADER_SINCE;
  return version.major > major || (version.major === major && version.minor >= minor);
}

export type VersionProbe =
  { version: CkmsVersion | undefined } | { missing: NodeJS.ErrnoException };

/**
 * Runs `PROGRAM --version` once. A program that cannot tell (no version, another tool, an error)
 * gets the config-file route, which every ckms version reads; one that cannot be run is `missing`.
 */
export function probeVersion(program: string, env: NodeJS.ProcessEnv): VersionProbe {
  const probe = spawnSync(program, ['--version'], {
    env,
    encoding: 'utf8',
    timeout: 10_000,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const error = probe.error as NodeJS.ErrnoException | undefined;
  if (error && (error.code === 'ENOENT' || error.code === 'EACCES')) return { missing: error };
  return { version: probe.status === 0 ? parseCkmsVersion(probe.stdout ?? '') : undefined };
}
