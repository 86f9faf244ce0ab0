// The pieces of `exec --ckms` that read text (README "Cosmian CLI"): which subcommand a ckms command
// line runs, which version `ckms --version` names, and the copy of a Cosmian config with only its
// token changed, for every layout and for files laid out in ways the in-place edit does not follow.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'smol-toml';
import {
  ckmsSubcommand,
  hasHeaderOption,
  parseCkmsVersion,
  takesHeader,
  writesConfig,
} from '../dist/client/commands/exec/ckmsInvocation.js';
import { configWithToken } from '../dist/client/commands/exec/cosmianConfigCopy.js';

const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl';
const plain = (document) => JSON.parse(JSON.stringify(document));

test('the subcommand a ckms command line runs: options and their values skipped, `cosmian kms …` looked into', () => {
  const cases = [
    [['login'], 'login'],
    [['--url', 'https://kms', 'logout'], 'logout'],
    [['-c', 'login', 'sym', 'keys', 'create'], 'sym'],
    [['--conf-path=/x', '--accept-invalid-certs', 'configure'], 'configure'],
    [['-H', 'Authorization: x', 'locate'], 'locate'],
    [['kms', '--print-json', 'login'], 'login'],
    [['sym', 'keys', 'create', '--tag', 'login'], 'sym'],
    [['--', 'login'], 'login'],
    [['--version'], undefined],
  ];
  for (const [args, command] of cases) assert.equal(ckmsSubcommand(args), command, args.join(' '));
  assert.equal(writesConfig(['kms', 'logout']), true);
  assert.equal(writesConfig(['sym', 'keys', 'create', '--tag', 'login']), false);
  assert.equal(hasHeaderOption(['-H', 'X: 1', 'locate']), true);
  assert.equal(hasHeaderOption(['--header=X: 1', 'locate']), true);
  assert.equal(hasHeaderOption(['-HX: 1', 'locate']), true);
  assert.equal(hasHeaderOption(['locate', '--tag', 'h']), false);
});

test('`ckms --version`: 5.17 and later take the header; other programs and no version take the config copy', () => {
  for (const [output, header] of [
    ['ckms 5.17.0\n', true],
    ['ckms 5.20.1', true],
    ['ckms 6.0.0', true],
    ['ckms 5.16.9', false],
    ['ckms 4.20.1', false],
    ['cosmian 1.2.0', false],
    ['', false],
    ['ckms (dev build)', false],
  ]) {
    assert.equal(takesHeader(parseCkmsVersion(output)), header, output);
  }
});

/** What a copy must mean: the original with the token set, every other value the same. */
function assertOnlyTokenChanged(original, copy, place) {
  const expected = plain(parse(original));
  let table = expected;
  for (const name of place.slice(0, -1)) table = table[name] ??= {};
  table[place.at(-1)] = TOKEN;
  assert.deepEqual(plain(parse(copy)), expected);
}

test('a TOML config: only the token line changes, comments, floats and layout kept', () => {
  const ckms =
    '# my KMS\nprint_json = false\n\n[http_config]\nserver_url = "https://kms.example.com"  # prod\naccess_token = "stale"\ntimeout = 1.0\n\n[http_config.oauth2_conf]\nclient_id = "x"\nscopes = ["openid","email"]\n';
  const copy = configWithToken(ckms, 'ckms.toml', TOKEN);
  assert.equal(copy, ckms.replace('access_token = "stale"', `access_token = "${TOKEN}"`));

  const missing =
    '[http_config]\nserver_url = "https://kms.example.com"\n\n[http_config.oauth2_conf]\nclient_id = "x"\n';
  assert.equal(
    configWithToken(missing, 'ckms.toml', TOKEN),
    missing.replace('[http_config]\n', `[http_config]\naccess_token = "${TOKEN}"\n`),
    'added under its table',
  );

  for (const layout of ['cosmian.toml', 'kms.toml']) {
    const nested =
      '[kms_config.http_config]\nserver_url = "https://kms.example.com"\naccess_token = "stale"\n\n[kms_config.http_config.oauth2_conf]\nclient_id = "x"\n\n[findex_config.http_config]\nserver_url = "http://0.0.0.0:6668"\naccess_token = "findex-own"\n';
    assert.equal(
      configWithToken(nested, layout, TOKEN),
      nested.replace('access_token = "stale"', `access_token = "${TOKEN}"`),
      `${layout}: the KMS's token only`,
    );
  }
});

test('a TOML config laid out otherwise (inline table, dotted keys, a multi-line value): rewritten, same meaning', () => {
  const cases = [
    [
      'inline',
      'http_config = { server_url = "https://kms.example.com", access_token = "stale" }\n',
    ],
    [
      'dotted',
      'http_config.server_url = "https://kms.example.com"\nhttp_config.access_token = "stale"\n',
    ],
    [
      'multi-line',
      '[http_config]\nserver_url = "https://kms.example.com"\naccess_token = """\nstale\n"""\n',
    ],
    [
      'quoted key',
      '[http_config]\nserver_url = "https://kms.example.com"\n"access_token" = "stale"\n',
    ],
  ];
  for (const [why, text] of cases) {
    const copy = configWithToken(text, 'ckms.toml', TOKEN);
    assertOnlyTokenChanged(text, copy, ['http_config', 'access_token']);
    assert.ok(copy.includes(TOKEN), why);
  }
});

test('a token with characters TOML must escape stays one string', () => {
  const odd = 'a"b\\c';
  const copy = configWithToken('[http_config]\nserver_url = "x"\n', 'ckms.toml', odd);
  assert.equal(parse(copy).http_config.access_token, odd);
});

test('the legacy kms.json: kms_access_token set, every other member kept', () => {
  const json = JSON.stringify(
    {
      kms_server_url: 'https://kms.example.com',
      kms_access_token: null,
      accept_invalid_certs: false,
      oauth2_conf: { client_id: 'x' },
    },
    null,
    4,
  );
  const copy = JSON.parse(configWithToken(json, 'kms.json', TOKEN));
  assert.deepEqual(copy, { ...JSON.parse(json), kms_access_token: TOKEN });
});
