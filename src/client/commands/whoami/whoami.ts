import { Option, type Command } from 'commander';
import { AgentError } from '../../../rpc/jsonRpc.js';
import type { DpopRequest, TokenReply } from '../../../rpc/methods.js';
import { timeText } from '../../../provider/providerText.js';
import type { AgentClient } from '../../fast/agentClient.js';
import { chosenProfile } from '../../fast/commandLine.js';
import { SELECTION_FLAGS } from '../../fast/tokenRequest.js';
import { Exit } from '../../fast/exitCodes.js';
import { tokenFacts, type TokenFacts } from './tokenClaims.js';
import { TOKEN_TIMEOUT_MS } from '../../fast/askAgent.js';
import type { CliContext } from '../../cliContext.js';

/** The request of the proof whoami asks for and never uses (`.invalid` names no host). */
const WHOAMI_PROOF: DpopRequest = { htm: 'GET', htu: 'https://whoami.kms-agent.invalid/' };

/** One token as whoami reports it: its facts, or why the profile has none of that kind. */
type Described = { facts: TokenFacts } | { missing: string };

interface WhoAmI {
  profile: string;
  id_token: TokenFacts | null;
  access_token: TokenFacts | null;
  /** Why a token is missing (a profile without `openid` has no id_token). */
  notes: string[];
}

export function registerWhoami(program: Command, cli: CliContext): void {
  program
    .command('whoami')
    .description(
      'who the tokens say you are: subject, email, issuer, audience, scopes and expiry of each (never the token)',
    )
    .addOption(new Option(SELECTION_FLAGS.profile.flags, SELECTION_FLAGS.profile.description))
    .option('--json', 'print JSON')
    .action(
      cli.run(async (opts: { profile?: string; json?: boolean }) => {
        const profile = chosenProfile(opts.profile);
        const who = await cli.withAgent((c) => describeProfile(c, profile), {
          whenRefused: 'continue',
        });
        process.stdout.write(opts.json ? JSON.stringify(who, null, 2) + '\n' : formatWhoAmI(who));
        return Exit.OK;
      }),
    );
}

/**
 * The access token first: its errors (login required, provider unreachable) are the profile's, and
 * end the command with token's exit codes. An id_token may be missing for reasons of its own.
 */
async function describeProfile(client: AgentClient, profile: string | undefined): Promise<WhoAmI> {
  const ask = (kind: 'access' | 'id', dpop?: DpopRequest): Promise<TokenReply> =>
    client.call(
      'token.get',
      { ...(profile ? { profile } : {}), kind, ...(dpop ? { dpop } : {}) },
      TOKEN_TIMEOUT_MS,
    );
  // A DPoP profile's access token comes only with a proof: one for no request, thrown away.
  const access = await ask('access').catch((err: unknown) => {
    if (!(err instanceof AgentError && err.reason === 'DPOP_REQUIRED')) throw err;
    return ask('access', WHOAMI_PROOF);
  });
  const id = await describe(() => ask('id'));
  const who: WhoAmI = {
    profile: access.profile,
    id_token: null,
    access_token: tokenFacts(access),
    notes: [],
  };
  if ('facts' in id) who.id_token = id.facts;
  else who.notes.push(`no id_token: ${id.missing}`);
  return who;
}

async function describe(get: () => Promise<TokenReply>): Promise<Described> {
  try {
    return { facts: tokenFacts(await get()) };
  } catch (err) {
    if (err instanceof AgentError && err.reason === 'PROVIDER_ERROR')
      return { missing: err.message };
    throw err;
  }
}

function when(seconds: number): string {
  const left = Math.round(seconds - Date.now() / 1000);
  const span =
    Math.abs(left) < 120
      ? `${Math.abs(left)} s`
      : Math.abs(left) < 7200
        ? `${Math.round(Math.abs(left) / 60)} min`
        : `${Math.round(Math.abs(left) / 3600)} h`;
  return `${timeText(seconds)} (${left >= 0 ? `in ${span}` : `${span} ago`})`;
}

function factLines(name: string, facts: TokenFacts): string[] {
  const format = {
    jwt: `a JWT signed ${facts.algorithm ?? '(no alg)'}`,
    encrypted: 'encrypted (a JWE for the API: its claims are not readable here)',
    opaque: 'opaque (not a JWT: only the provider can read it)',
  }[facts.format];
  const lines = [`${name}: ${format}`];
  const row = (label: string, value: string | undefined): void =>
    void (value !== undefined && lines.push(`  ${label.padEnd(9)} ${value}`));
  row('subject', facts.subject);
  row('email', facts.email);
  row('issuer', facts.issuer);
  row('audience', facts.audience?.join(', '));
  row('scopes', facts.scopes?.join(' '));
  row('issued', facts.issued_at === undefined ? undefined : when(facts.issued_at));
  row('expires', when(facts.expires_at));
  row('acr', facts.acr);
  row('amr', facts.amr?.join(' '));
  row('auth_time', facts.auth_time === undefined ? undefined : when(facts.auth_time));
  row('bound to', facts.bound_to && `DPoP key ${facts.bound_to}`);
  return lines;
}

export function formatWhoAmI(who: WhoAmI): string {
  const lines = [`profile ${who.profile}`];
  if (who.id_token) lines.push(...factLines('id_token', who.id_token));
  if (who.access_token) lines.push(...factLines('access token', who.access_token));
  lines.push(...who.notes);
  return lines.join('\n') + '\n';
}
