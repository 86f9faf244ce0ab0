import { join } from 'node:path';
import { ConfigError, type Location } from './configError.js';
import type { ProfileFields } from './configSchema.js';
import { PrivateKeyFileError, readClientKey } from './privateKeyFile.js';
import type { TokenEndpointAuthMethod } from './profile.js';

/** How the client authenticates: the method, and the secret or key file it uses. */
export interface ClientAuthentication {
  method: TokenEndpointAuthMethod;
  clientSecret?: string | undefined;
  privateKeyFile?: string | undefined;
}

/**
 * The method, from the keys that say it: a private_key_file means private_key_jwt and a secret
 * client_secret_basic, unless token_endpoint_auth_method says otherwise; each method needs its
 * credential. The key file is read here (its modes, its key), so that a bad one is a config error
 * naming it, not a failure at the first token request.
 */
export function clientAuthentication(
  fields: ProfileFields,
  at: (key: string) => Location,
  home: string,
): ClientAuthentication {
  const clientSecret = fields.client_secret || undefined;
  const keyFile = fields.private_key_file;
  const privateKeyFile = keyFile?.startsWith('~/') ? join(home, keyFile.slice(2)) : keyFile;
  const where = at('token_endpoint_auth_method');
  const method =
    fields.token_endpoint_auth_method ??
    (privateKeyFile ? 'private_key_jwt' : clientSecret ? 'client_secret_basic' : 'none');
  if (method === 'private_key_jwt') {
    if (!privateKeyFile)
      throw new ConfigError('"private_key_jwt" needs private_key_file, the PEM key', where);
    try {
      readClientKey(privateKeyFile);
    } catch (err) {
      if (err instanceof PrivateKeyFileError)
        throw new ConfigError(err.message, at('private_key_file'));
      throw err;
    }
    return { method, clientSecret, privateKeyFile };
  }
  if (privateKeyFile) {
    const why = `private_key_file is used only by "private_key_jwt", not "${method}"`;
    throw new ConfigError(`${why}: remove one of them`, at('private_key_file'));
  }
  if (method !== 'none' && !clientSecret)
    throw new ConfigError(`"${method}" needs a client_secret; set one or use "none"`, where);
  return { method, clientSecret };
}

/**
 * The rules of docs/configuration.md that span keys: a client credentials profile authenticates its
 * client and has no id_token; a DPoP profile's token is useless without a proof, so it has no token
 * file, and its id_token (never bound) is not what `token` prints.
 */
export function checkGrantRules(
  fields: ProfileFields,
  method: TokenEndpointAuthMethod,
  at: (key: string) => Location,
): void {
  const clientCredentials = fields.grant === 'client_credentials';
  if (clientCredentials && method === 'none') {
    throw new ConfigError(
      'the client credentials grant needs the client to authenticate: set client_secret, or ' +
        'private_key_file (private_key_jwt)',
      at('grant'),
    );
  }
  if (fields.token === 'id' && (clientCredentials || fields.dpop)) {
    const why = clientCredentials
      ? 'the client credentials grant brings no id_token'
      : 'an id_token is never bound to the DPoP key: a DPoP profile serves its access token';
    throw new ConfigError(`"id" cannot be used here: ${why}`, at('token'));
  }
  if (fields.dpop && fields.token_file) {
    throw new ConfigError(
      'a DPoP token is useless without a proof made for each request, so it is not written to a ' +
        'file: remove token_file, or set dpop = false',
      at('token_file'),
    );
  }
}
