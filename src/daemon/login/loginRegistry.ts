import type { LoginFlow, Result } from '../../rpc/methods.js';
import { AgentError } from '../../rpc/jsonRpc.js';
import type { Logger } from '../logger.js';
import type { ProfileSession } from '../profileSession.js';
import { providerText } from '../../provider/providerText.js';
import type { StepUp } from '../../provider/stepUp.js';
import { noRefreshTokenHint } from '../refreshFailures.js';
import { loginCommand } from '../../text/loginCommand.js';
import type { LoginResult, PendingLogin } from './pendingLogin.js';

/** A browser login gives up after this long unless login.wait asks for less. */
export const LOGIN_LIFETIME_SECONDS = 300;
/** A finished login stays fetchable this long, in case the browser was faster than login.wait. */
const KEEP_FINISHED_MS = 60_000;

interface Entry {
  login: PendingLogin;
  session: ProfileSession;
}

/** The logins in progress, by id; at most one per profile (a new one replaces the old). */
export class LoginRegistry {
  private readonly logins = new Map<string, Entry>();

  /** `pageDir` holds the private pages handed to browsers (the socket's 0700 directory). */
  constructor(
    private readonly pageDir: string,
    private readonly log: Logger,
  ) {}

  /** `keepFor`: seconds the agent keeps this login (`login --lifetime`), over max_lifetime. */
  async start(
    session: ProfileSession,
    flow: LoginFlow,
    stepUp: StepUp,
    keepFor?: number,
  ): Promise<PendingLogin> {
    if (session.profile.grant === 'client_credentials') {
      const token = `\`kms-agent token --profile ${session.name}\``;
      throw new AgentError(
        'NO_LOGIN_NEEDED',
        `profile ${session.name} uses the client credentials grant: there is no login to do, ${token} gets its token`,
      );
    }
    for (const [id, entry] of this.logins) {
      if (entry.session === session) {
        this.logins.delete(id);
        entry.login.cancel(
          new AgentError(
            'LOGIN_DENIED',
            `login to profile ${session.name} was replaced by a newer one`,
          ),
        );
      }
    }
    // Loaded on the first login: an agent that starts logged in never needs them, nor node:http.
    const login =
      flow === 'device'
        ? await (await import('./deviceLogin.js')).startDeviceLogin(session, stepUp, keepFor)
        : await (
            await import('./pkceLogin.js')
          ).startPkceLogin(session, stepUp, LOGIN_LIFETIME_SECONDS, this.pageDir, keepFor);
    this.logins.set(login.id, { login, session });
    this.log.info({ profile: session.name, flow, login_id: login.id }, 'login started');
    const forget = (): void =>
      void setTimeout(() => this.logins.delete(login.id), KEEP_FINISHED_MS).unref();
    login.result.then(
      ({ set, previousSubject }) => {
        this.log.info(
          {
            profile: session.name,
            flow,
            subject: set.subject,
            previous_subject: previousSubject,
            has_refresh_token: Boolean(set.refreshToken),
          },
          'login completed',
        );
        forget();
      },
      (err: Error) => {
        this.log.warn(
          {
            profile: session.name,
            flow,
            reason: err instanceof AgentError ? err.reason : undefined,
            err: err.message,
          },
          'login failed',
        );
        forget();
      },
    );
    return login;
  }

  pendingFor(session: ProfileSession): boolean {
    for (const entry of this.logins.values()) if (entry.session === session) return true;
    return false;
  }

  private entry(loginId: string): Entry {
    const entry = this.logins.get(loginId);
    if (!entry)
      throw new AgentError(
        'INVALID_PARAMS',
        `no login with id ${loginId} is in progress: run \`kms-agent login\``,
      );
    return entry;
  }

  /** Waits for the user; on timeout the login is cancelled so its port is freed. */
  async wait(loginId: string, timeoutSeconds?: number): Promise<Result<'login.wait'>> {
    const { login, session } = this.entry(loginId);
    let timer: NodeJS.Timeout | undefined;
    if (timeoutSeconds !== undefined) {
      const again = loginCommand(login.profile, login.flow);
      timer = setTimeout(
        () =>
          login.cancel(
            new AgentError(
              'LOGIN_TIMEOUT',
              `the login to profile ${login.profile} was not completed within ${timeoutSeconds} s: run \`${again}\` again`,
            ),
          ),
        timeoutSeconds * 1000,
      );
    }
    try {
      return describeLogin(login.profile, await login.result, session);
    } finally {
      clearTimeout(timer);
    }
  }

  cancel(loginId: string): boolean {
    const entry = this.logins.get(loginId);
    if (!entry) return false;
    this.logins.delete(loginId);
    entry.login.cancel(
      new AgentError('LOGIN_DENIED', `login to profile ${entry.login.profile} was cancelled`),
    );
    return true;
  }

  /** A profile removed or changed by a reload: its login in progress is for the old settings. */
  cancelFor(session: ProfileSession): void {
    for (const [id, entry] of this.logins) if (entry.session === session) this.cancel(id);
  }

  cancelAll(): void {
    for (const id of [...this.logins.keys()]) this.cancel(id);
  }
}

async function describeLogin(
  profile: string,
  { set, previousSubject }: LoginResult,
  session: ProfileSession,
): Promise<Result<'login.wait'>> {
  const status = await session.status();
  const result: Result<'login.wait'> = {
    profile,
    subject: providerText(set.subject ?? status.subject ?? '', 255),
    expires_at: status.expires_at ?? set.accessExpiresAt,
    has_refresh_token: status.has_refresh_token,
    store: status.store,
  };
  const email = set.email ?? status.email;
  if (email) result.email = providerText(email, 320);
  if (status.login_ends_at !== undefined) result.login_ends_at = status.login_ends_at;
  if (status.store_warning) result.store_warning = status.store_warning;
  if (previousSubject !== undefined && set.subject !== undefined && previousSubject !== set.subject)
    result.previous_subject = providerText(previousSubject, 255);
  if (!set.refreshToken) result.refresh_token_warning = noRefreshTokenHint(session.profile);
  return result;
}
