// One kms-agent per build under comparison, set up alike: its own directory, its own private
// keyring when the run has the tools (else the file store; never a store shared between builds,
// whose refresh tokens rotate), started with that build's `kms-agent start` and logged in to
// the run's long-lived provider.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setupKms } from '../lib/kmsSandbox.mjs';
import { startPrivateKeyring } from '../lib/privateKeyring.mjs';

export async function startBuildSandboxes({ dir, builds, provider, redirectUrl, cleanups }) {
  const subjects = [];
  for (const build of builds) {
    const base = join(dir, `compare-${build.name}`);
    mkdirSync(base);
    const keyring = await startPrivateKeyring(base).catch(() => null);
    if (keyring) cleanups.push(() => keyring.stop());
    const kms = await setupKms({
      dir: base,
      build,
      store: keyring ? 'keychain' : 'file',
      busAddress: keyring?.address,
      profiles: [{ name: 'main', issuer: provider.issuer, redirectUrl }],
    });
    cleanups.push(() => kms.stop());
    await kms.start();
    await kms.login('main');
    subjects.push({ name: build.name, build, kms, keyring });
  }
  return subjects;
}

/** The pids of the subjects' agents and keyrings: this run's own CPU. */
export const subjectPids = (subjects) =>
  subjects.flatMap((s) => [s.kms.pid, ...(s.keyring?.pids ?? [])]);

/** Stops every subject's agent and keyring (their cleanups stay registered, and do nothing). */
export async function stopBuildSandboxes(subjects) {
  for (const s of subjects) {
    await s.kms.stop();
    await s.keyring?.stop();
  }
}
