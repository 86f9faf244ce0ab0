import type { ProfileStatus, Result } from '../../../rpc/methods.js';

function duration(seconds: number): string {
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
  const files = p.token_files;
  if (files) lines.push(`  token files: ${files.token} and ${files.header}`);
  if (p.last_error) lines.push(`  last error: ${p.last_error}`);
  return lines;
}

export function formatStatus(status: Result<'agent.status'>): string {
  const now = Date.now() / 1000;
  const lines = [
    `agent pid ${status.pid}, version ${status.version}, up ${duration(now - status.started_at)}, socket ${status.socket}`,
    `config ${status.config}`,
  ];
  // The profiles share their store: a keychain that could not be used is said once, not per profile.
  for (const warning of new Set(status.profiles.map((p) => p.store_warning)))
    if (warning) lines.push(`warning: ${warning}`);
  if (status.profiles.length === 0) lines.push('no profiles configured');
  for (const p of status.profiles) lines.push(...profileLines(p, now));
  return lines.join('\n') + '\n';
}
