// Every tool of docs/tools.md, run once against one profile of a sandbox, each the way a user sets
// it up: `kms-agent exec`, `kms-agent exec --ckms` (the stand-in ckms 5.17), the real kubectl with
// `kms-agent kubectl-credential` as its exec plugin, and the real git with `!kms-agent
// git-credential` as its helper. Each result says how the command ended and which token the tool
// presented (undefined when it presented none), so a test can show a profile working with every
// tool, or refused with the reason by each.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { kmsAgentOnPath } from './binDir.mjs';
import { runGit, startGitHttp, startKubeApi, writeKubeconfig } from './tools.mjs';

const STAND_IN_CKMS = join(dirname(fileURLToPath(import.meta.url)), 'tools', 'standInCkms.mjs');
/** The hash the stand-in ckms records of the token it was given. */
export const sha256 = (text) => createHash('sha256').update(text).digest('hex');

/**
 * Runs every tool with `profile`; resolves with {exec, ckms, kubectl, git}, each {code, stderr,
 * token}: for ckms, `tokenSha256` (the stand-in records only a hash) in place of `token`.
 */
export async function everyTool(sb, profile) {
  const bin = join(sb.dir, 'tool-bin');
  if (!existsSync(bin)) {
    mkdirSync(bin);
    symlinkSync(STAND_IN_CKMS, join(bin, 'ckms'));
  }
  const { HOME: _home, ...agentEnv } = sb.env;
  const env = { ...agentEnv, PATH: `${bin}:${kmsAgentOnPath(sb.dir)}` };
  return {
    exec: await viaExec(sb, profile),
    ckms: await viaCkms(sb, profile, env),
    kubectl: await viaKubectl(sb, profile, env),
    git: await viaGit(sb, profile, env),
  };
}

async function viaExec(sb, profile) {
  const script = 'printf %s "$KMS_ACCESS_TOKEN"';
  const r = await sb.cli(['exec', '--profile', profile, '--', 'sh', '-c', script]);
  return { code: r.code, stderr: r.stderr, token: r.stdout || undefined };
}

async function viaCkms(sb, profile, env) {
  const log = join(sb.dir, 'ckms.log');
  const r = await sb.cli(['exec', '--ckms', '--profile', profile, '--', 'ckms', 'locate'], {
    env: { PATH: env.PATH, STAND_IN_LOG: log, STAND_IN_CKMS_VERSION: '5.17.0' },
  });
  const entry = existsSync(log)
    ? JSON.parse(readFileSync(log, 'utf8').trim().split('\n').at(-1))
    : {};
  return { code: r.code, stderr: r.stderr, tokenSha256: entry.cliHeader?.bearerSha256 };
}

async function viaKubectl(sb, profile, env) {
  const api = await startKubeApi({ acceptToken: () => true });
  try {
    const kubeconfig = writeKubeconfig(join(sb.dir, 'kubeconfig'), {
      server: api.server,
      caData: api.caData,
      execCommand: 'kms-agent',
      execArgs: ['kubectl-credential', '--profile', profile],
    });
    const r = await api.kubectl(['--kubeconfig', kubeconfig, 'get', '--raw', '/version'], { env });
    const presented = api.requests.find((q) => q.authorization)?.authorization;
    return { code: r.code, stderr: r.stderr, token: presented?.replace(/^Bearer /, '') };
  } finally {
    await api.close();
  }
}

async function viaGit(sb, profile, env) {
  const server = await startGitHttp({ acceptCredentials: () => true });
  try {
    const home = join(sb.dir, 'git-home');
    mkdirSync(home, { recursive: true });
    const helper = `!kms-agent git-credential --profile ${profile}`;
    const args = ['-c', 'credential.helper=', '-c', `credential.helper=${helper}`];
    const r = await runGit([...args, 'ls-remote', server.url], { home, cwd: home, env });
    const presented = server.requests.find((q) => q.password !== undefined)?.password;
    return { code: r.code, stderr: r.stderr, token: presented };
  } finally {
    await server.close();
  }
}
