import type { Profile } from '../config/profile.js';
import type { ProfileStatus } from '../rpc/methods.js';
import type { TokenFiles } from './tokenFiles.js';
import { providerText } from '../provider/providerText.js';
import type { StoredGrant, TokenStore } from './stores/tokenStore.js';
import { servable, type CachedTokens } from './tokenCache.js';

/** What `status` shows of a session (profileSession.ts). */
export interface SessionFacts {
  readonly name: string;
  readonly profile: Profile;
  readonly store: TokenStore;
  readonly tokenFiles?: TokenFiles | undefined;
  /** When the login ends (Infinity: never). */
  readonly lifetime: { readonly endsAt: number };
}

/** One profile as `status` shows it: who is logged in, until when, where the login is kept, what went wrong last. */
export function profileStatus(
  session: SessionFacts,
  grant: StoredGrant | null,
  main: CachedTokens | undefined,
  lastError: string | undefined,
): ProfileStatus {
  const served = main && (session.profile.servedKind === 'id' ? main.id : main.access);
  const valid = main !== undefined && servable(main, session.profile.servedKind) !== undefined;
  const status: ProfileStatus = {
    name: session.name,
    logged_in: grant !== null || valid,
    has_refresh_token: grant !== null,
    store: session.store.kind,
  };
  const subject = main?.set.subject ?? grant?.subject;
  const email = main?.set.email ?? grant?.email;
  // Claims the user chose at the provider: shown on terminals, so without control characters.
  if (subject) status.subject = providerText(subject, 255);
  if (email) status.email = providerText(email, 320);
  if (served) status.expires_at = served.expiresAt;
  if (session.store.warning) status.store_warning = session.store.warning;
  // Where they are depends on XDG_RUNTIME_DIR: said, so `curl -H @file` gets a file that exists.
  const files = session.profile.tokenFile ? session.tokenFiles : undefined;
  if (files) status.token_files = files.paths(session.name);
  const endsAt = grant?.ends_at ?? session.lifetime.endsAt;
  if (status.logged_in && Number.isFinite(endsAt)) status.login_ends_at = endsAt;
  if (lastError) status.last_error = lastError;
  if (session.profile.grant === 'client_credentials') status.grant = 'client_credentials';
  if (session.profile.dpop) {
    const jkt = main?.access.boundTo?.jkt;
    status.dpop = jkt === undefined ? {} : { jkt };
  }
  return status;
}
