/**
 * RFC 6749 §3.3 scope-token: printable ASCII except space, '"' and '\'. A comma is allowed there,
 * but no provider names a scope with one, while "openid,email" is a common slip for a list: it is
 * refused, with the list as it should be written.
 */
const SCOPE_TOKEN = /^[\x21\x23-\x2b\x2d-\x5b\x5d-\x7e]+$/;

/** True when `name` is one scope name a provider can take as is (no space, comma, quote, \\). */
export function isScopeToken(name: string): boolean {
  return SCOPE_TOKEN.test(name);
}

/** For a name with commas in it: how to write it as a list (`"openid email"`); else undefined. */
export function commaListHint(name: string): string | undefined {
  if (!name.includes(',')) return undefined;
  const list = name
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);
  const strings = list.map((s) => `"${s}"`).join(', ');
  const spaced = `separated by spaces ("${list.join(' ')}")`;
  const how = `${spaced} or, in the config, written one per string ([${strings}])`;
  return `"${name}" is not a list of scopes: scopes are ${how}`;
}
