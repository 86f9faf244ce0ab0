/**
 * Which token a command line asks for, as the params of `token.get`: the flags `token`,
 * `kubectl-credential` and `exec` share, and their checks, on every route (docs/cli.md).
 */
import type { DpopRequest, Params, TokenKind } from '../../rpc/methods.js';
import {
  agentRoute,
  chosenProfile,
  configToCheck,
  textValue,
  usage,
  type AgentRoute,
  type FlagSpec,
  type FlagValues,
} from './commandLine.js';

/** Which token: shared by `token`, `kubectl-credential` and `exec`. */
export const SELECTION_FLAGS = {
  profile: {
    flags: '-p, --profile <name>',
    description: 'profile (default: $KMS_AGENT_PROFILE, else the default profile)',
  },
  id: { flags: '--id', description: 'the id_token' },
  access: { flags: '--access', description: 'the access token' },
} satisfies Record<string, FlagSpec>;

export const TOKEN_FLAGS = {
  ...SELECTION_FLAGS,
  minValid: {
    flags: '--min-valid <seconds>',
    description:
      'refresh first unless the token is valid this long (default: 60 s or half its lifetime)',
  },
  scope: {
    flags: '--scope <scopes>',
    description:
      'a token for these scopes (space-separated), obtained with the stored refresh token',
  },
  audience: {
    flags: '--audience <resource>',
    description: 'a token for this audience / resource (RFC 8707)',
  },
  force: {
    flags: '--force',
    description: 'a new token now, whatever the cache holds (at most one refresh a second)',
  },
  json: { flags: '--json', description: 'print {token, token_type, expires_at, profile}' },
  header: {
    flags: '--header',
    description: 'print "Authorization: Bearer <token>" for curl -H @-',
  },
  dpop: {
    flags: '--dpop <method> <url>',
    description:
      'a DPoP profile: print "Authorization: DPoP <token>" and "DPoP: <proof>" for that request',
  },
  dpopNonce: {
    flags: '--dpop-nonce <nonce>',
    description: "with --dpop: the resource server's DPoP-Nonce, put into the proof",
  },
} satisfies Record<string, FlagSpec>;

/** Flags that contradict each other (docs/cli.md): refused on every route. */
const CONFLICTS: ReadonlyArray<readonly [keyof typeof TOKEN_FLAGS, keyof typeof TOKEN_FLAGS]> = [
  ['id', 'access'],
  ['json', 'header'],
  ['id', 'dpop'],
];

export interface TokenOptions extends AgentRoute {
  params: Params<'token.get'>;
  output: 'plain' | 'json' | 'header' | 'dpop';
}

/** The options given as flag values (parsed on the fast path, or by commander for `exec`), checked. */
export function tokenOptions(values: FlagValues): TokenOptions {
  for (const [a, b] of CONFLICTS) {
    if (values[a] && values[b]) {
      throw usage(`${longName(a)} and ${longName(b)} cannot be used together`);
    }
  }
  const text = (key: string): string | undefined => textValue(values, key);
  const params: Params<'token.get'> = {};
  const profile = chosenProfile(text('profile'));
  if (profile) params.profile = profile;
  const minValid = text('minValid');
  if (minValid !== undefined) params.min_valid = seconds('--min-valid', minValid);
  const kind: TokenKind | undefined = values.id ? 'id' : values.access ? 'access' : undefined;
  if (kind) params.kind = kind;
  const scope = text('scope');
  if (scope) params.scope = scope;
  const audience = text('audience');
  if (audience) params.audience = audience;
  if (values.force) params.force = true;
  const dpop = dpopRequest(text('dpop'), text('dpopNonce'));
  if (dpop) params.dpop = dpop;
  const route = agentRoute(values);
  const config = configToCheck(route);
  if (config) params.config = config;
  const output = values.json ? 'json' : dpop ? 'dpop' : values.header ? 'header' : 'plain';
  return { params, output, ...route };
}

/** `--dpop METHOD URL [--dpop-nonce N]`: the request the proof is for (the agent checks it). */
function dpopRequest(
  methodAndUrl: string | undefined,
  nonce: string | undefined,
): DpopRequest | undefined {
  if (methodAndUrl === undefined) {
    if (nonce !== undefined) throw usage('--dpop-nonce goes with --dpop METHOD URL');
    return undefined;
  }
  const [htm = '', htu = ''] = methodAndUrl.split(' ');
  return nonce === undefined ? { htm, htu } : { htm, htu, nonce };
}

function longName(key: keyof typeof TOKEN_FLAGS): string {
  return TOKEN_FLAGS[key].flags.replace(/^-\w, /, '').replace(/ <.*$/, '');
}

function seconds(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0)
    throw usage(`${flag} takes a number of seconds, got "${value}"`);
  return n;
}
