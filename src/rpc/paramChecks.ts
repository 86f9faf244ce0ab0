import { AgentError } from './jsonRpc.js';

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
