/**
 * `kms-agent exec --ckms -- ckms …` (docs/tools.md): the Cosmian CLI run with a fresh token
 * from the agent, given the way this ckms takes one, and never written where ckms keeps its config.
 */
import { basename, dirname } from 'node:path';
import { AgentError } from '../../../rpc/jsonRpc.js';
import type { CosmianLayout, ProfileSourceKind, Result, TokenReply } from '../../../rpc/methods.js';
import {
  ckmsSubcommand,
  hasHeaderOption,
  probeVersion,
  takesHeader,
  writesConfig,
  type CkmsVersion,
} from './ckmsInvocation.js';
import { loginCommand } from '../../../text/loginCommand.js';
import { runChild } from './childProcess.js';
import type { FlagValues } from '../../fast/commandLine.js';
import { tokenOptions } from '../../fast/tokenRequest.js';
import type { CliContext } from '../../cliContext.js';
import { CONFIG_PATH_VARIABLES, writeConfigCopy, type ConfigCopy } from './cosmianConfigCopy.js';
import { TOKEN_TIMEOUT_MS } from '../../fast/askAgent.js';

/** The profile made from the Cosmian CLI's own config (docs/configuration.md, "The Cosmian CLI's file"). */
const CKMS_PROFILE = 'ckms';

type ProfileList = Result<'profiles.list'>;

const isCosmian = (kind: ProfileSourceKind | undefined): kind is CosmianLayout =>
  kind !== undefined && kind !== 'config';

/** --profile, else `ckms` when the agent has it (the token ckms's own config is for), else the usual default. */
function ckmsProfile(flag: unknown, profiles: ProfileList): string | undefined {
  if (typeof flag === 'string') return flag;
  return profiles.some((p) => p.name === CKMS_PROFILE) ? CKMS_PROFILE : undefined;
}

/** The Cosmian config to copy: the served profile's file when it is one, else profile ckms's. */
function cosmianSource(
  served: string,
  profiles: ProfileList,
  version: CkmsVersion | undefined,
): { path: string; layout: CosmianLayout } {
  const profile =
    profiles.find((p) => p.name === served && isCosmian(p.source_kind)) ??
    profiles.find((p) => p.name === CKMS_PROFILE && isCosmian(p.source_kind));
  if (profile === undefined || !isCosmian(profile.source_kind)) {
    throw new AgentError(
      'USAGE',
      `this ckms (${version ? `version ${version.text}` : 'its version unknown'}) reads its token from its config file, and the agent knows no Cosmian CLI config to copy: put an [http_config] section with oauth2_conf in ~/.cosmian/ckms.toml, or use ckms 5.17 or later`,
    );
  }
  return { path: profile.source, layout: profile.source_kind };
}

function configEnvironment(copy: ConfigCopy): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of CONFIG_PATH_VARIABLES) env[name] = copy.path;
  return env;
}

export async function execCkms(cli: CliContext, argv: string[], opts: FlagValues): Promise<number> {
  const args = argv.slice(1);
  if (writesConfig(args)) {
    process.stderr.write(
      `kms-agent: \`${basename(argv[0]!)} ${ckmsSubcommand(args)}\` saves its config file, so it runs as is, without the agent's token (the agent logs in with \`${loginCommand(CKMS_PROFILE)}\`)\n`,
    );
    return runChild(argv, () => process.env);
  }
  const probe = probeVersion(argv[0]!, process.env);
  if ('missing' in probe) {
    process.stderr.write(
      `kms-agent: cannot run ${argv[0]}: ${probe.missing.code === 'ENOENT' ? 'command not found' : probe.missing.message}\n`,
    );
    return probe.missing.code === 'ENOENT' ? 127 : 126;
  }
  // A header of the user's own (on the command line, or in CLI_HEADER) stays theirs: the config route then.
  const header =
    takesHeader(probe.version) && !hasHeaderOption(args) && process.env.CLI_HEADER === undefined;
  const { reply, profiles } = await cli.withAgent(async (client) => {
    const profiles = await client.call('profiles.list', {});
    const { params } = tokenOptions({ ...opts, profile: ckmsProfile(opts.profile, profiles) });
    return { reply: await client.call('token.get', params, TOKEN_TIMEOUT_MS), profiles };
  });
  if (header)
    return runChild(argv, () => ({
      ...process.env,
      CLI_HEADER: `Authorization: Bearer ${reply.token}`,
    }));
  return runWithConfigCopy(cli, argv, reply, cosmianSource(reply.profile, profiles, probe.version));
}

function runWithConfigCopy(
  cli: CliContext,
  argv: string[],
  reply: TokenReply,
  source: { path: string; layout: CosmianLayout },
): Promise<number> {
  let copy: ConfigCopy | undefined;
  return runChild(
    argv,
    () => {
      copy = writeConfigCopy(dirname(cli.socketPath()), source, reply.token);
      return configEnvironment(copy);
    },
    () => copy?.remove(),
  );
}
