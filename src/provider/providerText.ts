import { terminalLine } from '../text/terminalText.js';

/**
 * Text a provider sent (error descriptions, user codes, URLs, claim values), as one line without
 * control characters (src/text/terminalText.ts), cut at `maxLength`.
 */
export function providerText(value: unknown, maxLength = 500): string {
  const text = terminalLine(typeof value === 'string' ? value : String(value));
  return text.length > maxLength ? `${text.slice(0, maxLength - 1)}…` : text;
}

/** A Unix time for a message; a provider's absurd value must not throw (Date has a range). */
export function timeText(seconds: number): string {
  const date = new Date(seconds * 1000);
  return Number.isNaN(date.getTime()) ? String(seconds) : date.toISOString();
}
