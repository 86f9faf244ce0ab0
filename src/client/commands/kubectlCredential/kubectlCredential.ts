/**
 * `kms-agent kubectl-credential`: a client-go exec credential plugin (docs/tools.md). kubectl
 * runs it before every command it sends (it keeps the answer only in its own process, until
 * expirationTimestamp), so it is a fast command (src/client/fastCommands.ts), like `kms-agent token`.
 */
import type { TokenReply } from '../../../rpc/methods.js';
import { askForToken } from '../../fast/askAgent.js';
import type { FastCommand } from '../../fast/commandLine.js';
import { print } from '../../fast/output.js';
import { SELECTION_FLAGS } from '../../fast/tokenRequest.js';

const KUBECTL_HELP = `
kubectl runs it as an exec credential plugin; in the kubeconfig (docs/tools.md):
  users:
  - name: me
    user:
      exec:
        apiVersion: client.authentication.k8s.io/v1
        command: kms-agent
        args: [kubectl-credential, --profile, work]
        interactiveMode: Never

It prints an ExecCredential (the apiVersion kubectl asks for in KUBERNETES_EXEC_INFO)
with the token and its expiry. On an error kubectl names the exit code (below) and stops.`;

export const kubectlCredentialCommand: FastCommand = {
  name: 'kubectl-credential',
  description: "print an ExecCredential for kubectl's exec credential plugin",
  // Which token kubectl gets.
  flags: SELECTION_FLAGS,
  help: KUBECTL_HELP,
  run: runKubectlCredential,
};

const DEFAULT_API_VERSION = 'client.authentication.k8s.io/v1';
/** The versions client-go has known; kubectl refuses an answer in another version than it asked for. */
const KNOWN_API_VERSION = /^client\.authentication\.k8s\.io\/v1(?:beta1|alpha1)?$/;

/**
 * The apiVersion kubectl asked for in KUBERNETES_EXEC_INFO (the one the kubeconfig names: an old
 * kubectl knows only v1beta1), else v1.
 */
export function requestedApiVersion(env: NodeJS.ProcessEnv = process.env): string {
  const info = env.KUBERNETES_EXEC_INFO;
  if (!info) return DEFAULT_API_VERSION;
  try {
    const apiVersion = (JSON.parse(info) as { apiVersion?: unknown } | null)?.apiVersion;
    if (typeof apiVersion === 'string' && KNOWN_API_VERSION.test(apiVersion)) return apiVersion;
  } catch {
    // Not JSON: answer in the default version, and let kubectl say if it wanted another.
  }
  return DEFAULT_API_VERSION;
}

/** RFC 3339 in UTC, whole seconds: what client-go's time parsing takes. */
function rfc3339(unixSeconds: number): string {
  return new Date(Math.floor(unixSeconds) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function execCredential(apiVersion: string, reply: TokenReply): string {
  const status = { token: reply.token, expirationTimestamp: rfc3339(reply.expires_at) };
  return JSON.stringify({ apiVersion, kind: 'ExecCredential', status }) + '\n';
}

/**
 * Prints the ExecCredential, or one line on stderr (which kubectl shows) and the exit code of
 * docs/cli.md: kubectl then names that code and sends no request.
 */
function runKubectlCredential(args: readonly string[], done: (exitCode: number) => void): void {
  askForToken(args, kubectlCredentialCommand, done, (reply) => {
    if (reply.warning) process.stderr.write(`kms-agent: warning: ${reply.warning}\n`);
    print(execCredential(requestedApiVersion(), reply));
  });
}
