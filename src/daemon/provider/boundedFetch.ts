/**
 * Every request to a provider goes through here (openid-client's customFetch): the answer is read
 * with a size bound, so a hostile or broken provider cannot grow the daemon without limit
 * (docs/SECURITY.md), and the body of a failed answer is kept so that errors can quote the
 * provider's own words.
 */

/** No token, discovery document or error a real provider sends comes near this. */
export const MAX_RESPONSE_BYTES = 1024 * 1024;

export class ResponseTooLargeError extends Error {
  constructor(readonly url: string) {
    super(`the provider's answer from ${new URL(url).origin} is over ${MAX_RESPONSE_BYTES / 1024 / 1024} MiB and was refused`);
    this.name = 'ResponseTooLargeError';
  }
}

/** The text of failed answers (4xx/5xx), for error messages; weak, so it goes with its Response. */
const failedBodies = new WeakMap<Response, string>();

export function failedBodyOf(response: Response): string | undefined {
  return failedBodies.get(response);
}

const NO_BODY_STATUSES = new Set([101, 204, 205, 304]);

async function readBounded(response: Response, url: string): Promise<Uint8Array> {
  const declared = Number(response.headers.get('content-length') ?? 0);
  if (declared > MAX_RESPONSE_BYTES) {
    await response.body?.cancel();
    throw new ResponseTooLargeError(url);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (response.body) {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      size += chunk.byteLength;
      if (size > MAX_RESPONSE_BYTES) {
        await response.body.cancel().catch(() => undefined);
        throw new ResponseTooLargeError(url);
      }
      chunks.push(chunk);
    }
  }
  return Buffer.concat(chunks, size);
}

/**
 * Fetches and reads the whole answer within the bound, then hands openid-client an equivalent
 * Response. `transform` may rewrite a successful JSON answer (the id_token is lifted out of token
 * responses: see providerClient.ts).
 */
export async function boundedFetch(url: string, init: RequestInit, transform?: (body: Uint8Array) => Uint8Array): Promise<Response> {
  const response = await fetch(url, init);
  let body = await readBounded(response, url);
  if (response.ok && transform) body = transform(body);
  const headers = new Headers(response.headers);
  headers.delete('content-length');
  headers.delete('content-encoding');
  const copy = new Response(NO_BODY_STATUSES.has(response.status) ? null : (body as unknown as BodyInit), {
    status: response.status,
    statusText: response.statusText,
    headers,
  });
  if (!response.ok) failedBodies.set(copy, Buffer.from(body).toString('utf8'));
  return copy;
}
