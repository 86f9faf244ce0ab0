/**
 * Lifts the id_token out of a token response, so that the agent's own rules (idTokenRules.ts) check
 * it in both modes.
 */
export function liftIdToken(stash: { idToken?: string }): (body: Uint8Array) => Uint8Array {
  return (body) => {
    let json: unknown;
    try {
      json = JSON.parse(Buffer.from(body).toString('utf8'));
    } catch {
      return body; // openid-client reports the bad answer
    }
    if (
      typeof json !== 'object' ||
      json === null ||
      typeof (json as { id_token?: unknown }).id_token !== 'string'
    )
      return body;
    const { id_token: idToken, ...rest } = json as { id_token: string };
    stash.idToken = idToken;
    return Buffer.from(JSON.stringify(rest));
  };
}
