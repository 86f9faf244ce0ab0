import { Invalid, type Check, type Table } from './configValues.js';

/** Where a problem is: the file, and within it the profile and the key (or the environment variable). */
export interface Location {
  file: string;
  profile?: string | undefined;
  key?: string | undefined;
  fromEnv?: boolean | undefined;
}

/** One line naming the file, the profile and the key, and what was expected: the agent refuses to start on it. */
export class ConfigError extends Error {
  readonly file: string;
  readonly profile?: string | undefined;
  readonly key?: string | undefined;

  constructor(problem: string, at: Location) {
    const profile = at.profile === undefined ? '' : `: profile "${at.profile}"`;
    const key =
      at.key === undefined
        ? ''
        : at.fromEnv
          ? `: environment variable ${at.key}`
          : `: key "${at.key}"`;
    super(`config ${at.file}${profile}${key}: ${problem}`);
    this.name = 'ConfigError';
    this.file = at.file;
    this.profile = at.profile;
    this.key = at.key;
  }
}

export type Shape = Record<string, Check<unknown>>;
export type Fields<S extends Shape> = { [K in keyof S]?: ReturnType<S[K]> };

/** Runs one validator, placing its complaint at `where` (and at the entry it names, for a table value). */
export function checked<T>(check: Check<T>, value: unknown, where: Location): T {
  try {
    return check(value);
  } catch (err) {
    if (!(err instanceof Invalid)) throw err;
    const key = err.subKey === undefined ? where.key : `${where.key}.${err.subKey}`;
    throw new ConfigError(err.message, { ...where, key });
  }
}

/**
 * Checks every key of `source` against `shape`. `keyPrefix` names the section in messages
 * (Cosmian files nest it deep); unknown keys are errors unless the file is someone else's.
 */
export function readFields<S extends Shape>(
  source: Table,
  shape: S,
  at: Location,
  { keyPrefix = '', ignoreUnknown = false } = {},
): Fields<S> {
  const fields: Fields<S> = {};
  for (const [key, value] of Object.entries(source)) {
    const where = { ...at, key: keyPrefix + key };
    if (!Object.hasOwn(shape, key)) {
      if (ignoreUnknown) continue;
      throw new ConfigError(`unknown key (known keys: ${Object.keys(shape).join(', ')})`, where);
    }
    if (value === null) continue; // serde writes an absent Option as null in kms.json
    fields[key as keyof S] = checked(shape[key]!, value, where) as ReturnType<S[keyof S]>;
  }
  return fields;
}
