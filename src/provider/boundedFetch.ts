/**
 * Every request to a provider goes through here (openid-client's customFetch): the answer is read
 * with a size bound, so a hostile or broken provider cannot grow the daemon without limit
 * (docs/SECURITY.md), and the body of a failed answer is kept so that errors can quote the
 * provider's own words.
 *
 * The request itself goes over node:http / node:https, not the global fetch: Node's fetch compiles
 * a WebAssembly HTTP parser on first use, which stays in the daemon's memory for good (about
 * 10 MiB of its idle RSS, see bench/RESULTS.md). It fails the way fetch fails (the abort signal's
 * reason, or a TypeError "fetch failed" whose cause is the network error), so callers cannot tell.
 */
import type { IncomingMessage, RequestOptions, ClientRequest } from 'node:http';
import type { Readable } from 'node:stream';

/** No token, discovery document or error a real provider sends comes near this. */
export const MAX_RESPONSE_BYTES = 1024 * 1024;

export class ResponseTooLargeError extends Error {
  constructor(readonly url: string) {
    super(
      `the provider's answer from ${new URL(url).origin} is over ${MAX_RESPONSE_BYTES / 1024 / 1024} MiB and was refused`,
    );
    this.name = 'ResponseTooLargeError';
  }
}

/** The text of failed answers (4xx/5xx), for error messages; weak, so it goes with its Response. */
const failedBodies = new WeakMap<Response, string>();

export function failedBodyOf(response: Response): string | undefined {
  return failedBodies.get(response);
}

const NO_BODY_STATUSES = new Set([101, 204, 205, 304]);

interface Answer {
  status: number;
  statusText: string;
  rawHeaders: string[];
  body: Buffer;
}

type Send = (
  url: URL,
  options: RequestOptions,
  answer: (response: IncomingMessage) => void,
) => ClientRequest;

async function sender(url: URL): Promise<Send> {
  // Loaded on the first request: an agent that has not talked to a provider yet does not pay for TLS.
  return url.protocol === 'https:'
    ? (await import('node:https')).request
    : (await import('node:http')).request;
}

/** The body as the fetch calls of openid-client send it: a form, a string or bytes. */
function bodyBytes(body: RequestInit['body']): Buffer | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string' || body instanceof URLSearchParams)
    return Buffer.from(body.toString());
  if (body instanceof Uint8Array) return Buffer.from(body);
  throw new TypeError('boundedFetch: unsupported request body');
}

/** A compressed answer (which the agent never asks for, but a server may send) is read as fetch would: decoded. */
async function decoded(response: IncomingMessage): Promise<Readable> {
  const coding = response.headers['content-encoding']?.trim().toLowerCase();
  if (!coding || coding === 'identity') return response;
  const zlib = await import('node:zlib');
  const decoder =
    coding === 'br'
      ? zlib.createBrotliDecompress()
      : coding === 'deflate'
        ? zlib.createInflate()
        : /gzip/.test(coding)
          ? zlib.createGunzip()
          : undefined;
  if (!decoder) return response;
  response.on('error', (error) => decoder.destroy(error));
  return response.pipe(decoder);
}

/** Reads the whole body, refusing more than MAX_RESPONSE_BYTES (declared or received). */
async function readBounded(response: IncomingMessage, url: string): Promise<Buffer> {
  if (Number(response.headers['content-length'] ?? 0) > MAX_RESPONSE_BYTES)
    throw new ResponseTooLargeError(url);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of await decoded(response)) {
    size += (chunk as Buffer).byteLength;
    if (size > MAX_RESPONSE_BYTES) throw new ResponseTooLargeError(url);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks, size);
}

/** One request and its whole answer; rejects with the signal's reason, or as fetch does on a network failure. */
async function exchange(url: string, init: RequestInit): Promise<Answer> {
  const target = new URL(url);
  const send = await sender(target);
  const body = bodyBytes(init.body);
  const headers = Object.fromEntries(new Headers(init.headers));
  if (body) headers['content-length'] = String(body.byteLength);
  const signal = init.signal ?? undefined;
  signal?.throwIfAborted();
  return new Promise<Answer>((resolve, reject) => {
    let request: ClientRequest | undefined;
    const fail = (error: unknown): void => {
      signal?.removeEventListener('abort', onAbort);
      request?.destroy();
      reject(
        signal?.aborted
          ? signal.reason
          : error instanceof ResponseTooLargeError
            ? error
            : new TypeError('fetch failed', { cause: error }),
      );
    };
    const onAbort = (): void => fail(signal!.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    request = send(target, { method: init.method ?? 'GET', headers }, (response) => {
      readBounded(response, url).then((bytes) => {
        signal?.removeEventListener('abort', onAbort);
        resolve({
          status: response.statusCode!,
          statusText: response.statusMessage ?? '',
          rawHeaders: response.rawHeaders,
          body: bytes,
        });
      }, fail);
    });
    request.on('error', fail);
    request.end(body);
  });
}

/**
 * Fetches and reads the whole answer within the bound, then hands openid-client an equivalent
 * Response. `transform` may rewrite a successful JSON answer (the id_token is lifted out of token
 * responses: see providerClient.ts).
 */
export async function boundedFetch(
  url: string,
  init: RequestInit,
  transform?: (body: Uint8Array) => Uint8Array,
): Promise<Response> {
  const answer = await exchange(url, init);
  const ok = answer.status >= 200 && answer.status <= 299;
  let body: Uint8Array = answer.body;
  if (ok && transform) body = transform(body);
  const headers = new Headers();
  for (let i = 0; i + 1 < answer.rawHeaders.length; i += 2) {
    const name = answer.rawHeaders[i]!.toLowerCase();
    if (name !== 'content-length' && name !== 'content-encoding')
      headers.append(name, answer.rawHeaders[i + 1]!);
  }
  const copy = new Response(
    NO_BODY_STATUSES.has(answer.status) ? null : (body as unknown as BodyInit),
    {
      status: answer.status,
      statusText: answer.statusText,
      headers,
    },
  );
  if (!ok) failedBodies.set(copy, Buffer.from(body).toString('utf8'));
  return copy;
}
