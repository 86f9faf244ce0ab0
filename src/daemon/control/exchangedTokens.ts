import { AgentError } from '../../rpc/jsonRpc.js';
import type { TokenReply } from '../../rpc/methods.js';
import { classifyProviderError } from '../../provider/providerErrors.js';
import { toTokenSet } from '../../provider/tokenSet.js';
import type { TokenTarget } from '../../provider/tokenTarget.js';
import { refreshExpectations } from '../idExpectations.js';
import type { ProfileSession } from '../profileSession.js';
import { cacheTokens, servable, type CachedTokens } from '../tokenCache.js';

/**
 * The tokens of a delegation made with `--exchange` (or a `token_exchange = true` profile): minted
 * by RFC 8693 from the user's access token, narrowed to the delegation, cached per target like any
 * token (served while valid for `min_valid`), one exchange for any number of concurrent callers.
 * The user's own token stays in the agent.
 */
export class ExchangedTokens {
  private readonly cache = new Map<string, CachedTokens>();
  private readonly inflight = new Map<string, Promise<CachedTokens>>();

  constructor(
    private readonly session: ProfileSession,
    private readonly delegation: string,
  ) {}

  get(target: TokenTarget, minValid: number | undefined): TokenReply | Promise<TokenReply> {
    const entry = this.cache.get(target.key);
    const token = entry && servable(entry, 'access');
    if (token && token.expiresAt - Date.now() / 1000 >= (minValid ?? token.defaultMinValid))
      return token.reply;
    return this.exchange(target).then((fresh) => fresh.access.reply);
  }

  /** Drops every exchanged token (the agent locks, the delegation ends). */
  clear(): void {
    this.cache.clear();
  }

  exchange(target: TokenTarget): Promise<CachedTokens> {
    let running = this.inflight.get(target.key);
    if (running === undefined) {
      running = this.fresh(target).finally(() => this.inflight.delete(target.key));
      this.inflight.set(target.key, running);
    }
    return running;
  }

  private async fresh(target: TokenTarget): Promise<CachedTokens> {
    const { session } = this;
    const subject = await session.getToken({ kind: 'access' });
    let entry: CachedTokens;
    try {
      const tokens = await session.provider.exchange(subject.token, target);
      const set = toTokenSet(tokens, refreshExpectations(session.profile, null), 'drop');
      entry = cacheTokens(session.name, set, undefined, Date.now() / 1000);
    } catch (err) {
      throw this.failed(err, subject.token);
    }
    this.cache.set(target.key, entry);
    session.log.info(
      { delegation: this.delegation, audience: target.audience, scope: target.scope },
      'token exchanged',
    );
    return entry;
  }

  private failed(err: unknown, subjectToken: string): AgentError {
    if (err instanceof AgentError) return err;
    const secrets = [subjectToken, this.session.profile.clientSecret];
    const failure = classifyProviderError(err, secrets);
    const what = `the identity provider of profile ${this.session.name}`;
    if (failure.kind === 'transient')
      return new AgentError('PROVIDER_UNREACHABLE', `${what} is unreachable (${failure.detail})`);
    return new AgentError(
      'PROVIDER_ERROR',
      `${what} refused the token exchange (RFC 8693) for delegation ${this.delegation}: ` +
        failure.detail,
    );
  }
}
