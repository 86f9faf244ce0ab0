/**
 * `kms-agent token`, the command scripts run over and over: one token on stdout, or one line on
 * stderr and the exit code of docs/cli.md. A fast command (src/client/fastCommands.ts): commander
 * only shows its help.
 */
import type { TokenReply } from '../../../rpc/methods.js';
import { askForToken } from '../../fast/askAgent.js';
import type { FastCommand } from '../../fast/commandLine.js';
import { print } from '../../fast/output.js';
import { TOKEN_FLAGS, type TokenOptions } from '../../fast/tokenRequest.js';

const TOKEN_HELP = `
Which token: the profile's "token" setting (default auto: the id_token when the provider
issued one, else the access token — what the Cosmian KMS verifies); --id / --access override it.

Examples:
  curl -H "Authorization: Bearer $(kms-agent token)" https://kms.example.com/kmip/2_1
  kms-agent token --header | curl -H @- https://kms.example.com/kmip/2_1   # token not in ps
  kms-agent token --profile entra --json
  kms-agent token --dpop GET https://api.example.com/v1/keys | curl -H @- https://api.example.com/v1/keys`;

export const tokenCommand: FastCommand = {
  name: 'token',
  description: 'print one fresh token and a newline on stdout, nothing else',
  flags: TOKEN_FLAGS,
  help: TOKEN_HELP,
  run: runToken,
};

/** Prints one token (or one line saying why not) and calls `done` with the exit code of docs/cli.md. */
function runToken(args: readonly string[], done: (exitCode: number) => void): void {
  askForToken(args, tokenCommand, done, (reply, options) => {
    print(formatToken(reply, options.output));
    sayNotices(options, reply);
  });
}

function formatToken(reply: TokenReply, output: TokenOptions['output']): string {
  if (output === 'json') return JSON.stringify(reply) + '\n';
  if (output === 'header') return `Authorization: ${reply.token_type} ${reply.token}\n`;
  // RFC 9449 §7.1: the DPoP scheme, and the proof for this one request.
  if (output === 'dpop') return `Authorization: DPoP ${reply.token}\nDPoP: ${reply.dpop_proof}\n`;
  return reply.token + '\n';
}

/**
 * What the user should know although a token was printed, one line each on stderr: a config edit
 * the agent could not load, a scope the provider changed (some ignore a narrower one), a
 * --min-valid the provider's tokens cannot meet.
 */
function sayNotices(options: TokenOptions, reply: TokenReply): void {
  const { scope, min_valid: minValid } = options.params;
  const say = (line: string): void => void process.stderr.write(`kms-agent: ${line}\n`);
  if (reply.warning) say(`warning: ${reply.warning}`);
  if (scope !== undefined && reply.scope !== undefined && !sameScopes(scope, reply.scope)) {
    say(`the provider granted the scope "${reply.scope}", not the "${scope}" asked for`);
  }
  const left = Math.floor(reply.expires_at - Date.now() / 1000);
  if (minValid !== undefined && left < minValid) {
    say(
      `this token is valid for ${left} s, less than the ${minValid} s --min-valid asked for: ` +
        'the provider issues shorter-lived tokens, or could not be reached for a fresh one',
    );
  }
}

function sameScopes(a: string, b: string): boolean {
  const asked = new Set(a.split(' ').filter(Boolean));
  const granted = new Set(b.split(' ').filter(Boolean));
  return asked.size === granted.size && [...asked].every((name) => granted.has(name));
}
