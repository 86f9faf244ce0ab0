import type { DelegatedKind, DelegationInfo } from '../../rpc/controlRecords.js';
import { tokenTarget, type TokenTarget } from '../../provider/tokenTarget.js';
import type { ExchangedTokens } from './exchangedTokens.js';
import { forbidden } from './refusals.js';

/** What `delegation.create` settled: the restrictions and how the delegation ends. */
export interface DelegationSpec {
  profile: string;
  audience?: string | undefined;
  /** Normalised (tokenTarget): the scope names sorted, once each. */
  scope?: string | undefined;
  kind: DelegatedKind;
  /** The scope a request may narrow: the delegation's, else the profile's whole. */
  allowedScopes: readonly string[];
  uses?: number | undefined;
  /** Unix seconds. */
  expiresAt?: number | undefined;
  confirm: boolean;
  exchange: boolean;
  socket: string;
  /** Ends with the connection that made it (`delegate -- CMD`). */
  bound: boolean;
}

/** A token.get on the delegate socket, as far as the delegation decides it. */
export interface DelegatedRequest {
  profile?: string | undefined;
  kind?: string | undefined;
  scope?: string | undefined;
  audience?: string | undefined;
}

/**
 * One delegation (docs/SECURITY.md): a socket that serves only tokens of one profile, for its
 * audience, its scope or less, its kind, a number of uses, until a time. This class decides what a
 * request may have; delegations.ts runs the socket and ends it.
 */
export class Delegation {
  readonly via: string;
  usesLeft: number | undefined;
  ended = false;
  exchanged: ExchangedTokens | undefined;

  constructor(
    readonly id: string,
    readonly spec: DelegationSpec,
  ) {
    this.via = `delegation ${id}`;
    this.usesLeft = spec.uses;
  }

  info(): DelegationInfo {
    const { profile, audience, scope, kind, confirm, exchange, socket, expiresAt, bound } =
      this.spec;
    const info: DelegationInfo = {
      id: this.id,
      profile,
      socket,
      restrictions: { kind, confirm, exchange },
      bound,
    };
    if (audience !== undefined) info.restrictions.audience = audience;
    if (scope !== undefined) info.restrictions.scope = scope;
    if (this.usesLeft !== undefined) info.uses_left = this.usesLeft;
    if (expiresAt !== undefined) info.expires_at = expiresAt;
    return info;
  }

  /** The target a request gets, within the delegation; FORBIDDEN for anything wider. */
  narrow(request: DelegatedRequest): TokenTarget {
    const { profile, audience, scope, kind, allowedScopes } = this.spec;
    if (
      this.ended ||
      (this.spec.expiresAt !== undefined && Date.now() / 1000 >= this.spec.expiresAt)
    )
      throw forbidden('a token', 'nothing more: it has ended');
    if (request.profile !== undefined && request.profile !== profile)
      throw forbidden(`profile ${request.profile}`, `profile ${profile} only`);
    if (request.kind !== undefined && request.kind !== 'auto' && request.kind !== kind)
      throw forbidden(`the ${request.kind} token`, `the ${kind} token only`);
    if (request.audience !== undefined && request.audience !== audience) {
      const gives =
        audience === undefined ? "the profile's own audience only" : `audience ${audience} only`;
      throw forbidden(`audience ${request.audience}`, gives);
    }
    if (request.scope === undefined) return tokenTarget(scope, audience);
    const asked = tokenTarget(request.scope, undefined).scope!;
    const wider = asked.split(' ').filter((name) => !allowedScopes.includes(name));
    if (wider.length > 0)
      throw forbidden(`scope "${wider.join(' ')}"`, `scope "${allowedScopes.join(' ')}" or less`);
    return tokenTarget(asked, audience);
  }

  /** Takes one use before a token is served; FORBIDDEN when none is left. */
  takeUse(): void {
    if (this.usesLeft === undefined) return;
    if (this.usesLeft <= 0) throw forbidden('another token', 'no more: its uses are used up');
    this.usesLeft--;
  }

  /** A token that could not be served after all does not count. */
  giveBackUse(): void {
    if (this.usesLeft !== undefined) this.usesLeft++;
  }
}
