/**
 * Durations as people write them (docs/cli.md): `90s`, `30m`, `8h`, `7d`, or a bare number of
 * seconds; one rule for the config (`max_lifetime`) and the command line (`--ttl`, `--lifetime`).
 */
const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** Durations are bounded like lifetimes (docs/protocol.md): a year at most. */
export const MAX_DURATION_SECONDS = 365 * 86_400;

export const DURATION_FORMAT =
  'a duration like "90s", "30m", "8h" or "7d" (a bare number is seconds)';

/** Seconds, or undefined when `text` is not a duration from one second to a year. */
export function parseDuration(text: string | number): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$/.exec(String(text));
  if (!match) return undefined;
  const seconds = Math.round(Number(match[1]) * UNITS[match[2] || 's']!);
  return seconds >= 1 && seconds <= MAX_DURATION_SECONDS ? seconds : undefined;
}
