import type { Command } from 'commander';
import { KUBECTL_FLAGS } from '../commandLine.js';
import { runKubectlCredential } from '../kubectlCredential.js';
import type { CliContext } from './context.js';
import { registerFastCommand } from './fastCommand.js';

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

export function registerKubectlCredential(program: Command, cli: CliContext): void {
  registerFastCommand(program, cli, {
    name: 'kubectl-credential',
    description: "print an ExecCredential for kubectl's exec credential plugin",
    flags: KUBECTL_FLAGS,
    help: KUBECTL_HELP,
    run: runKubectlCredential,
  });
}
