import type { Profile } from '../config/profile.js';
import { AgentError } from '../rpc/jsonRpc.js';
import type { DpopRequest, TokenReply } from '../rpc/methods.js';
import type { ServedToken } from './tokenCache.js';

/**
 * Whether a token request fits the profile's DPoP setting (RFC 9449): a DPoP profile's access
 * token is useless without a proof, so it is served only with one (`token --dpop METHOD URL`);
 * a proof is made only for a DPoP profile's access token. An id_token is never bound.
 */
export function checkDpopRequest(
  profile: Profile,
  kind: 'id' | 'access',
  dpop: DpopRequest | undefined,
): void {
  const name = profile.name;
  if (dpop === undefined) {
    if (kind === 'access') throw dpopRequired(name);
    return;
  }
  if (!profile.dpop) {
    throw new AgentError(
      'INVALID_PARAMS',
      `profile ${name} does not use DPoP: its tokens are Bearer tokens; leave out --dpop, or set dpop = true in the profile and log in again`,
    );
  }
  if (kind === 'id') {
    throw new AgentError(
      'INVALID_PARAMS',
      'an id_token is never bound to the DPoP key: a proof is made for the access token only',
    );
  }
}

function dpopRequired(profile: string): AgentError {
  return new AgentError(
    'DPOP_REQUIRED',
    `profile ${profile} uses DPoP (dpop = true): its access token is bound to the agent's key and useless without a proof made for each request, so it is not handed out alone (not to token files, exec, kubectl or git); use \`kms-agent token --profile ${profile} --dpop METHOD URL\`, which prints the Authorization and DPoP headers for curl -H @-`,
  );
}

export function replyOf(token: ServedToken): TokenReply {
  return token.reply;
}

/** The token's reply with a proof for the one request `dpop` names, signed by the token's key. */
export function withProof(token: ServedToken, dpop: DpopRequest): TokenReply {
  const key = token.boundTo;
  if (key === undefined) {
    throw new AgentError(
      'PROVIDER_ERROR',
      'this token is not bound to a DPoP key: run `kms-agent token --force` for a bound one',
    );
  }
  const proof = key.proof(dpop.htm, dpop.htu, token.reply.token, dpop.nonce);
  return { ...token.reply, dpop_proof: proof };
}
