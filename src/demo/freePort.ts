import { createServer, type AddressInfo } from 'node:net';

/** A free TCP port on 127.0.0.1 (bound, read, released): for a private login redirect URL. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
