import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { replaceFile } from '../os/atomicFile.js';
import { privateDirectory } from '../os/fileSafety.js';
import type { Logger } from './logger.js';

/**
 * Token files (docs/tools.md), like Vault Agent's file sink: a profile with `token_file = true`
 * keeps its current token in `<socket dir>/tokens/<profile>` and `<profile>.header`, for tools
 * that read a token from a file (`curl -H @file`, kubeconfig `tokenFile`, gcloud
 * `--access-token-file`). Each is 0600 in a 0700 directory, replaced by rename so a reader never
 * sees half a file, and removed at logout and when the agent stops.
 */
/** Read by the user's tools, and again on each use: a crash may lose it, the next refresh writes it. */
const TOKEN_FILE = { mode: 0o600, durable: false };

export class TokenFiles {
  readonly dir: string;

  constructor(
    socketDir: string,
    private readonly log: Logger,
  ) {
    this.dir = join(socketDir, 'tokens');
  }

  paths(profile: string): { token: string; header: string } {
    return { token: join(this.dir, profile), header: join(this.dir, `${profile}.header`) };
  }

  write(profile: string, token: string, tokenType: string): void {
    try {
      privateDirectory(this.dir);
      const { token: tokenPath, header } = this.paths(profile);
      replaceFile(tokenPath, token, TOKEN_FILE);
      replaceFile(header, `Authorization: ${tokenType} ${token}\n`, TOKEN_FILE);
    } catch (err) {
      this.log.error({ profile, err: (err as Error).message }, 'could not write the token file');
    }
  }

  remove(profile: string): void {
    const { token, header } = this.paths(profile);
    rmSync(token, { force: true });
    rmSync(header, { force: true });
  }
}
