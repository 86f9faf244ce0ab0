import { AgentError } from './jsonRpc.js';
import type { DpopRequest } from './methods.js';

/**
 * Small checks for JSON-RPC params: the daemon trusts nothing a client sends, and says exactly
 * which field was wrong.
 */
export type Obj = Record<string, unknown>;

export function asParams(method: string, params: unknown, allowed: readonly string[]): Obj {
  if (params === undefined || params === null) return {};
  if (typeof params !== 'object' || Array.isArray(params)) {
    throw new AgentError('INVALID_PARAMS', `${method}: params must be an object`);
  }
  // for…in rather than Object.keys: token.get is the hot path and should not allocate.
  for (const key in params) {
    if (!allowed.includes(key)) {
      throw new AgentError(
        'INVALID_PARAMS',
        `${method}: unknown param "${key}" (expected ${allowed.join(', ') || 'none'})`,
      );
    }
  }
  return params as Obj;
}

export function optionalString(
  method: string,
  params: Obj,
  key: string,
  maxLength = 4096,
): string | undefined {
  const value = params[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value.length === 0 || value.length > maxLength) {
    throw new AgentError('INVALID_PARAMS', `${method}: "${key}" must be a non-empty string`);
  }
  return value;
}

export function requiredString(method: string, params: Obj, key: string): string {
  const value = optionalString(method, params, key);
  if (value === undefined)
    throw new AgentError('INVALID_PARAMS', `${method}: "${key}" is required`);
  return value;
}

export function optionalNumber(
  method: string,
  params: Obj,
  key: string,
  min: number,
  max: number,
  whole = false,
): number | undefined {
  const value = params[key];
  if (value === undefined || value === null) return undefined;
  const valid = typeof value === 'number' && (whole ? Number.isInteger(value) : isFinite(value));
  if (!valid || value < min || value > max) {
    const what = whole ? 'a whole number' : 'a number';
    throw new AgentError(
      'INVALID_PARAMS',
      `${method}: "${key}" must be ${what} from ${min} to ${max}`,
    );
  }
  return value;
}

export function optionalBoolean(method: string, params: Obj, key: string): boolean | undefined {
  const value = params[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean')
    throw new AgentError('INVALID_PARAMS', `${method}: "${key}" must be true or false`);
  return value;
}

export function optionalChoice<T extends string>(
  method: string,
  params: Obj,
  key: string,
  choices: readonly T[],
): T | undefined {
  const value = params[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || !(choices as readonly string[]).includes(value)) {
    throw new AgentError(
      'INVALID_PARAMS',
      `${method}: "${key}" must be one of ${choices.join(', ')}`,
    );
  }
  return value as T;
}

/** RFC 9110's method token, as DPoP proofs carry it (`htm`): GET, POST, … */
const HTTP_METHOD = /^[A-Z][A-Z-]{0,31}$/;

/**
 * token.get's `dpop`: {htm, htu, nonce?}. `htu` is an absolute http(s) URL, returned without its
 * query and fragment (RFC 9449 §4.2); a resource server's `nonce` is printable ASCII.
 */
export function optionalDpop(method: string, params: Obj): DpopRequest | undefined {
  const value = params.dpop;
  if (value === undefined || value === null) return undefined;
  const bad = (why: string): AgentError =>
    new AgentError('INVALID_PARAMS', `${method}: "dpop" ${why}`);
  if (typeof value !== 'object' || Array.isArray(value)) throw bad('must be {htm, htu, nonce?}');
  const dpop = asParams(`${method}: "dpop"`, value, ['htm', 'htu', 'nonce']);
  const htm = requiredString(method, dpop, 'htm');
  if (!HTTP_METHOD.test(htm))
    throw bad(`htm must be an HTTP method in capitals (GET, POST), got "${htm.slice(0, 40)}"`);
  const htu = requiredString(method, dpop, 'htu');
  const url = URL.canParse(htu) ? new URL(htu) : undefined;
  if (url?.protocol !== 'https:' && url?.protocol !== 'http:')
    throw bad('htu must be the absolute http(s) URL of the request');
  url.search = '';
  url.hash = '';
  const nonce = optionalString(method, dpop, 'nonce', 1024);
  if (nonce !== undefined && !/^[\x21-\x7e]+$/.test(nonce))
    throw bad('nonce must be printable ASCII');
  return nonce === undefined ? { htm, htu: url.href } : { htm, htu: url.href, nonce };
}
