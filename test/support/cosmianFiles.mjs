// The Cosmian CLI's config files, in each layout, as that CLI writes them: for the tests that read
// them as profile `ckms` and the ones that hand ckms a token.
import { LOCAL_PUBLIC_CLIENT_ID } from '../../dist/demo/localProvider.js';

/** The OAuth settings of the Cosmian CLI for the local provider: explicit URLs, no issuer, an empty secret. */
export function oauth2Conf(issuer) {
  return {
    client_id: LOCAL_PUBLIC_CLIENT_ID,
    client_secret: '',
    authorize_url: `${issuer}/auth`,
    token_url: `${issuer}/token`,
    scopes: ['openid', 'email', 'offline_access'],
  };
}

const tomlSection = (header, conf) =>
  `[${header}]\n${Object.entries(conf)
    .map(([k, v]) => `${k} = ${JSON.stringify(v)}`)
    .join('\n')}\n`;

/** Each layout as the Cosmian CLI writes it, with its other settings around the OAuth section. */
export function cosmianConfig(layout, issuer) {
  const conf = oauth2Conf(issuer);
  switch (layout) {
    case 'ckms.toml':
      return `print_json = false\n\n[http_config]\nserver_url = "https://kms.example.com"\naccess_token = "do-not-touch"\n\n${tomlSection('http_config.oauth2_conf', conf)}`;
    case 'cosmian.toml':
      return `[kms_config.http_config]\nserver_url = "https://kms.example.com"\n\n${tomlSection('kms_config.http_config.oauth2_conf', conf)}\n[findex_config.http_config]\nserver_url = "http://0.0.0.0:6668"\n`;
    case 'kms.toml':
      return `[kms_config.http_config]\nserver_url = "https://kms.example.com"\n\n${tomlSection('kms_config.http_config.oauth2_conf', conf)}`;
    case 'kms.json':
      return JSON.stringify(
        { kms_server_url: 'https://kms.example.com', kms_access_token: null, oauth2_conf: conf },
        null,
        4,
      );
  }
  throw new Error(`unknown layout ${layout}`);
}
