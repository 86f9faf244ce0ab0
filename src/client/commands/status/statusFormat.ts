import type { DelegationInfo } from '../../../rpc/controlRecords.js';
import type { ProfileStatus, Result } from '../../../rpc/methods.js';

export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86_400)
    return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86_400)}d${Math.floor((s % 86_400) / 3600)}h`;
}

function profileLines(p: ProfileStatus, now: number): string[] {
  const who = p.email ?? p.subject;
  const head = p.logged_in ? `logged in${who ? ` as ${who}` : ''}` : 'not logged in';
  const lines = [`profile ${p.name}: ${head}${p.login_pending ? ' (login in progress)' : ''}`];
  if (p.expires_at !== undefined) {
    const left = p.expires_at - now;
    lines.push(
      `  token: ${left > 0 ? `valid for ${duration(left)}` : `expired ${duration(-left)} ago`} (until ${new Date(p.expires_at * 1000).toISOString()})`,
    );
  }
  if (p.grant === 'client_credentials')
    lines.push('  client credentials: no login, no refresh token');
  else lines.push(`  refresh token: ${p.has_refresh_token ? 'yes' : 'no'}, store: ${p.store}`);
  if (p.dpop)
    lines.push(`  DPoP: tokens bound to the agent's key${p.dpop.jkt ? ` ${p.dpop.jkt}` : ''}`);
  if (p.login_ends_at !== undefined)
    lines.push(`  login ends: ${until(p.login_ends_at, now)} (its lifetime)`);
  const c = p.counters;
  if (c && c.served + c.refreshed + c.refused + c.failed > 0) {
    const counts = `${c.served} served, ${c.refreshed} refreshed`;
    lines.push(`  tokens: ${counts}, ${c.refused} refused, ${c.failed} failed (kms-agent audit)`);
  }
  const files = p.token_files;
  if (files) lines.push(`  token files: ${files.token} and ${files.header}`);
  if (p.last_error) lines.push(`  last error: ${p.last_error}`);
  return lines;
}

function until(at: number, now: number): string {
  const when = new Date(at * 1000).toISOString();
  return at > now
    ? `in ${duration(at - now)} (at ${when})`
    : `${duration(now - at)} ago (at ${when})`;
}

/** What a delegated socket shows of itself: its restrictions, nothing of the agent's profiles. */
export function delegationLines(d: DelegationInfo, now = Date.now() / 1000): string[] {
  const r = d.restrictions;
  const what = [`profile ${d.profile}`, `${r.kind} token`];
  if (r.audience !== undefined) what.push(`audience ${r.audience}`);
  if (r.scope !== undefined) what.push(`scope "${r.scope}"`);
  if (r.exchange) what.push('exchanged (RFC 8693)');
  if (r.confirm) what.push('confirmed');
  const lasts = [d.bound ? 'until its command ends' : undefined];
  if (d.expires_at !== undefined) lasts.push(`ends ${until(d.expires_at, now)}`);
  if (d.uses_left !== undefined) lasts.push(`${d.uses_left} uses left`);
  return [
    `delegation ${d.id}: ${what.join(', ')}`,
    `  socket ${d.socket}${lasts.some(Boolean) ? `; ${lasts.filter(Boolean).join(', ')}` : ''}`,
  ];
}

export function formatStatus(status: Result<'agent.status'>): string {
  const now = Date.now() / 1000;
  const lines = [
    `agent pid ${status.pid}, version ${status.version}, up ${duration(now - status.started_at)}, socket ${status.socket}`,
  ];
  if (status.config !== undefined) lines.push(`config ${status.config}`);
  if (status.locked) lines.push('locked: run `kms-agent unlock` to use it again');
  if (status.delegation) {
    lines.push('this socket is a delegation; it serves only this:');
    lines.push(...delegationLines(status.delegation, now));
    return lines.join('\n') + '\n';
  }
  // The profiles share their store: a keychain that could not be used is said once, not per profile.
  for (const warning of new Set(status.profiles.map((p) => p.store_warning)))
    if (warning) lines.push(`warning: ${warning}`);
  if (status.profiles.length === 0) lines.push('no profiles configured');
  for (const p of status.profiles) lines.push(...profileLines(p, now));
  return lines.join('\n') + '\n';
}
