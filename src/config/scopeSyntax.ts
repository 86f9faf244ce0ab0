/** RFC 6749 §3.3 scope-token: printable ASCII except space, '"' and '\'. */
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

/** True when `name` is one scope name the provider can receive as is (no space, quote or backslash). */
export function isScopeToken(name: string): boolean {
  return SCOPE_TOKEN.test(name);
}
