// The real tools that take kms-agent's tokens, each behind a throwaway server on loopback: kubectl
// (a stand-in API server over HTTPS and a kubeconfig with an exec plugin), git (smart HTTP with
// Basic auth, so git asks its credential helper) and OpenSSH (an sshd that forwards Unix sockets).
// Everything lives in temp dirs and every fixture's close() stops and removes what it made.
export { EXEC_CREDENTIAL_V1, startKubeApi, writeKubeconfig } from './tools/kubeApi.mjs';
export { GIT_REALM, gitEnv, runGit, startGitHttp } from './tools/gitHttp.mjs';
export { remoteCommand, sshdAvailable, startSshd } from './tools/sshd.mjs';
export { shellQuote } from './tools/processRun.mjs';
