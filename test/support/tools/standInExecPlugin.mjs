#!/usr/bin/env node
// A stand-in kubectl exec credential plugin for the fixture tests: prints an ExecCredential with
// $STAND_IN_TOKEN (and $STAND_IN_EXPIRY as expirationTimestamp when set), and appends what kubectl
// gave it (arguments, KUBERNETES_EXEC_INFO) as one JSON line to $STAND_IN_LOG.
import { appendFileSync } from 'node:fs';

appendFileSync(
  process.env.STAND_IN_LOG,
  JSON.stringify({
    argv: process.argv.slice(2),
    execInfo: process.env.KUBERNETES_EXEC_INFO ?? null,
  }) + '\n',
);
const status = { token: process.env.STAND_IN_TOKEN };
if (process.env.STAND_IN_EXPIRY) status.expirationTimestamp = process.env.STAND_IN_EXPIRY;
process.stdout.write(
  JSON.stringify({
    apiVersion: 'client.authentication.k8s.io/v1',
    kind: 'ExecCredential',
    status,
  }) + '\n',
);
