/**
 * The two prompts kms-agent shows through pinentry (pinentry.ts): the daemon's confirmation of a
 * client (CONFIRM, on the client's terminal or display) and the CLI's passphrase for lock and
 * unlock (GETPIN, on its own terminal). Everything the user must read is in the description:
 * terminal pinentries show no title. Button labels start with different letters, because
 * pinentry-tty answers by a label's initial.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { assuanEscape, PINENTRY_ERRORS, PinentrySession, type AssuanReply } from './pinentry.js';

/** Where a prompt shows: a terminal (`--ttyname`, with its type), else a display. */
export interface PromptPlace {
  ttyname?: string | undefined;
  ttytype?: string | undefined;
  display?: string | undefined;
}

export type ConfirmAnswer = 'allow' | 'deny' | 'timeout' | { failed: string };

async function open(
  program: string,
  place: PromptPlace,
  env: NodeJS.ProcessEnv,
): Promise<PinentrySession> {
  const args = place.ttyname
    ? ['--ttyname', place.ttyname]
    : place.display
      ? ['--display', place.display]
      : [];
  const session = await PinentrySession.start(program, args, env);
  const options = ['lc-ctype=C.UTF-8'];
  if (place.ttyname) options.push(`ttytype=${place.ttytype ?? 'xterm'}`);
  for (const option of options) await session.request(`OPTION ${option}`);
  return session;
}

async function setUp(session: PinentrySession, lines: string[]): Promise<void> {
  for (const line of lines) {
    const reply = await session.request(line);
    if (!reply.ok) throw new Error(`${line.split(' ')[0]}: ${reply.message}`);
  }
}

/** Says goodbye, so that a curses pinentry restores the screen, then makes sure it is gone. */
async function close(session: PinentrySession): Promise<void> {
  session.request('BYE').catch(() => undefined);
  await Promise.race([session.exited, delay(500)]);
  session.kill();
}

function failure(reply: AssuanReply): string {
  return `pinentry answered ${reply.code ?? ''} ${reply.message ?? ''}`.trim();
}

/**
 * Asks Allow or Deny. Ends at `timeoutSeconds` (pinentry's own SETTIMEOUT, and a kill a little
 * later should it not) or when `signal` aborts (the requester hung up); the program is killed
 * either way, so no prompt is left reading the terminal.
 */
export async function confirmPrompt(
  program: string,
  request: PromptPlace & {
    description: string;
    timeoutSeconds: number;
    env: NodeJS.ProcessEnv;
    signal?: AbortSignal | undefined;
  },
): Promise<ConfirmAnswer> {
  let session: PinentrySession | undefined;
  const kill = (): void => session?.kill();
  const timer = setTimeout(kill, (request.timeoutSeconds + 5) * 1000);
  request.signal?.addEventListener('abort', kill);
  try {
    session = await open(program, request, request.env);
    if (request.signal?.aborted) return { failed: 'the requester hung up' };
    await setUp(session, [
      `SETTIMEOUT ${request.timeoutSeconds}`,
      `SETDESC ${assuanEscape(request.description)}`,
      'SETOK Allow',
      'SETCANCEL Deny',
    ]);
    const reply = await session.request('CONFIRM');
    if (reply.ok) return 'allow';
    if (reply.code === PINENTRY_ERRORS.cancelled) return 'deny';
    if (reply.code === PINENTRY_ERRORS.timeout) return 'timeout';
    if (request.signal?.aborted) return { failed: 'the requester hung up' };
    return { failed: failure(reply) };
  } catch (err) {
    return { failed: (err as Error).message };
  } finally {
    clearTimeout(timer);
    request.signal?.removeEventListener('abort', kill);
    if (session) await close(session);
  }
}

/** Asks a passphrase (GETPIN): the text, or undefined when the user cancelled. */
export async function passphrasePrompt(
  program: string,
  request: PromptPlace & { description: string; prompt: string; env: NodeJS.ProcessEnv },
): Promise<string | undefined> {
  const session = await open(program, request, request.env);
  try {
    await setUp(session, [
      `SETDESC ${assuanEscape(request.description)}`,
      `SETPROMPT ${assuanEscape(request.prompt)}`,
    ]);
    const reply = await session.request('GETPIN');
    if (reply.ok) return reply.data;
    if (reply.code === PINENTRY_ERRORS.cancelled) return undefined;
    throw new Error(failure(reply));
  } finally {
    await close(session);
  }
}
