/**
 * Text from outside (a provider's words, git's host, a name someone typed) is shown to people on
 * terminals. Control characters would let it drive the terminal (OSC 52 clipboard writes, screen
 * clears, a forged line after a CR), and bidi overrides would make it lie about what it says: both
 * are removed. The fast path's error line (src/client/fast/exitCodes.ts) uses it too.
 */
const LINE_BREAKS = /[\t\n\r\v\f]+/g;
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** One line: line breaks become a space, other controls go. */
export function terminalLine(text: string): string {
  return text.replace(LINE_BREAKS, ' ').replace(CONTROLS, '');
}

/** Several lines of ours: each line cleaned, the newlines between them kept. */
export function terminalLines(text: string): string {
  return text.split('\n').map(terminalLine).join('\n');
}
