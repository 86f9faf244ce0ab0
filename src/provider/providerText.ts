/**
 * Text a provider sent (error descriptions, user codes, URLs, claim values) is shown to people on
 * terminals. Control characters would let a hostile provider drive the terminal (OSC 52 clipboard
 * writes, screen clears), and bidi overrides would make it lie about what it says: both are removed.
 */
const LINE_BREAKS = /[\t\n\r\v\f]+/g;
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

export function providerText(value: unknown, maxLength = 500): string {
  const text = (typeof value === 'string' ? value : String(value)).replace(LINE_BREAKS, ' ').replace(CONTROLS, '');
  return text.length > maxLength ? `${text.slice(0, maxLength - 1)}…` : text;
}

/** A Unix time for a message; a provider's absurd value must not throw (Date has a range). */
export function timeText(seconds: number): string {
  const date = new Date(seconds * 1000);
  return Number.isNaN(date.getTime()) ? String(seconds) : date.toISOString();
}
