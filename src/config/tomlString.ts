/**
 * A TOML basic string holding `text` exactly: TOML takes JSON's escapes (JSON.stringify never writes
 * the one TOML lacks, \/), and also refuses a raw DEL, which JSON leaves as it is.
 */
export function tomlString(text: string): string {
  return JSON.stringify(text).replace(/\u007f/g, '\\u007f');
}
