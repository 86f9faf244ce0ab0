import { accessSync, constants } from 'node:fs';
import type { Logger } from '../logger.js';
import { PINENTRY_PROGRAMS } from '../../os/pinentry.js';
import { confirmPrompt, type ConfirmAnswer, type PromptPlace } from '../../os/pinentryPrompts.js';
import { environmentOf } from '../../os/processInfo.js';
import { terminalLine } from '../../text/terminalText.js';
import type { ConnectionContext } from '../connection.js';
import { notConfirmed } from './refusals.js';
import { OneAtATime } from '../oneAtATime.js';

/** An answer holds for its process this long. */
export const REMEMBER_MS = 10 * 60_000;
/** No answer within this is a refusal. */
export const PROMPT_SECONDS = 60;

interface Asking {
  answer: Promise<ConfirmAnswer>;
  /** Connections still waiting for it: when all have hung up, the prompt goes. */
  waiting: number;
  abort: AbortController;
}

/**
 * `confirm = true` and `delegate --confirm` (docs/SECURITY.md): a client process gets a token only
 * after the user allowed it through pinentry, on the process's own terminal when the agent can
 * open it, else on the agent's display. One prompt per process (pid and start time) and thing
 * asked for, however many requests it sends; one prompt on screen at a time; the answer, allow or
 * deny, remembered 10 minutes. A process the user cannot be asked about is refused, saying how to
 * make asking possible.
 */
export class Confirmations {
  private readonly answers = new Map<string, { allowed: boolean; until: number }>();
  private readonly asking = new Map<string, Asking>();
  /** One prompt on screen at a time. */
  private readonly prompts = new OneAtATime();

  constructor(
    private readonly log: Logger,
    private readonly pinentryProgram: () => string | undefined,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  /**
   * Resolves when the user allows `connection`'s process `what` ("a token of profile work");
   * else throws NOT_CONFIRMED.
   */
  async confirm(connection: ConnectionContext, what: string): Promise<void> {
    const { peer } = connection;
    const key = `${peer.pid}/${peer.startTime ?? '?'}/${what}`;
    const known = this.answers.get(key);
    if (known !== undefined && known.until > Date.now()) {
      if (known.allowed) return;
      throw notConfirmed(`${this.who(connection)} was denied ${what} at its prompt; ${AGAIN}`);
    }
    let asking = this.asking.get(key);
    if (asking === undefined) {
      const abort = new AbortController();
      const answer = this.prompts.run(() => this.ask(connection, what, abort.signal));
      asking = { answer, waiting: 0, abort };
      this.asking.set(key, asking);
      void answer.then(() => this.asking.delete(key));
    }
    const current = asking;
    current.waiting++;
    connection.onClose(() => {
      if (--current.waiting === 0) current.abort.abort();
    });
    const answer = await current.answer;
    if (answer === 'allow' || answer === 'deny') {
      this.answers.set(key, { allowed: answer === 'allow', until: Date.now() + REMEMBER_MS });
      this.forgetOld();
    }
    if (answer === 'allow') return;
    throw notConfirmed(this.refusal(connection, what, answer));
  }

  private async ask(
    connection: ConnectionContext,
    what: string,
    signal: AbortSignal,
  ): Promise<ConfirmAnswer> {
    if (signal.aborted) return { failed: 'the requester hung up' };
    const program = this.pinentryProgram();
    if (program === undefined) return { failed: NO_PROGRAM };
    const place = this.placeFor(connection);
    if (place === undefined) return { failed: NO_PLACE };
    const description = this.description(connection, what);
    const answer = await confirmPrompt(program, {
      ...place,
      description,
      timeoutSeconds: PROMPT_SECONDS,
      env: this.env,
      signal,
    });
    const { pid, exe } = connection.peer;
    const outcome = typeof answer === 'string' ? answer : 'failed';
    const where = place.ttyname ?? place.display;
    this.log.info({ pid, exe, what, where, outcome }, 'confirmation');
    return answer;
  }

  /** The process's own terminal when the agent can open it, else the agent's display. */
  private placeFor(connection: ConnectionContext): PromptPlace | undefined {
    const { peer } = connection;
    const tty = peer.terminal;
    if (tty !== undefined && canOpen(tty)) {
      return { ttyname: tty, ttytype: environmentOf(peer.pid, 'TERM') ?? this.env.TERM };
    }
    const display = this.env.WAYLAND_DISPLAY ?? this.env.DISPLAY;
    return display ? { display } : undefined;
  }

  private who(connection: ConnectionContext): string {
    const { peer } = connection;
    return `${peer.exe} (pid ${peer.pid})`;
  }

  private description(connection: ConnectionContext, what: string): string {
    const line = terminalLine(connection.peer.commandLine ?? '');
    const command = line.length > 200 ? `${line.slice(0, 199)}…` : line;
    return [
      `kms-agent: allow this program ${what}?`,
      '',
      this.who(connection),
      ...(command ? [command] : []),
      ...(connection.via === 'agent' ? [] : [`through ${connection.via}`]),
      '',
      'The answer holds for this process for 10 minutes.',
    ].join('\n');
  }

  private refusal(connection: ConnectionContext, what: string, answer: ConfirmAnswer): string {
    const who = this.who(connection);
    if (answer === 'deny') return `the user denied ${who} ${what}; ${AGAIN}`;
    if (answer === 'timeout')
      return `no one answered the prompt for ${who} within ${PROMPT_SECONDS} s: try again`;
    return `${who} could not be confirmed: ${(answer as { failed: string }).failed}`;
  }

  private forgetOld(): void {
    const now = Date.now();
    for (const [key, { until }] of this.answers) if (until <= now) this.answers.delete(key);
  }
}

const AGAIN = 'the answer holds for that process for 10 minutes';
const NO_PROGRAM =
  `no pinentry program found (${PINENTRY_PROGRAMS.join(', ')}): install one ` +
  '(Debian: `apt install pinentry-tty`), or name one with pinentry_program in the config or ' +
  'KMS_AGENT_PINENTRY';
const NO_PLACE =
  'no prompt can be shown: the process has no terminal the agent can open, and the agent has ' +
  'no display (DISPLAY or WAYLAND_DISPLAY): run the command from a terminal, or start the agent ' +
  'in your desktop session with a graphical pinentry (pinentry_program)';

function canOpen(path: string): boolean {
  try {
    accessSync(path, constants.R_OK | constants.W_OK);
    return true;
  } catch {
    return false;
  }
}
