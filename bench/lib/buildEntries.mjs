// What the bench runs of a build of kms-agent: the one place that knows the layout of dist/. When
// the build's outputs move, this file is the one to edit. The CLI is the package's "bin" (what
// `npm install` puts on PATH), read from that build's package.json; the daemon is what the launcher
// spawns. A baseline build of an older commit (bench/lib/baselineBuild.mjs) keeps its own layout:
// each list names the places in order, and the first one that exists in a build wins.
import { existsSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';

export const ROOT = new URL('../..', import.meta.url).pathname.replace(/\/$/, '');

const DAEMON = ['dist/daemon/daemon.cjs'];
/** The fast path's one-file bundle that bench/probes/import-client.cjs loads (optional). */
const FAST_PATH_BUNDLE = ['dist/client/fastPath.bundle.cjs'];

const firstExisting = (root, list) => list.map((p) => join(root, p)).find((p) => existsSync(p));

/** The entry points of the build in `root`; `name` labels it in the report. */
export function buildAt(root, name) {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const bin = typeof pkg.bin === 'string' ? pkg.bin : pkg.bin?.['kms-agent'];
  const cli = bin && join(root, bin);
  const daemon = firstExisting(root, DAEMON);
  if (!cli || !existsSync(cli) || !daemon) {
    throw new Error(
      `${root} has no built kms-agent: run \`npm run build\` there ` +
        '(a new layout of dist/ goes into bench/lib/buildEntries.mjs)',
    );
  }
  return { name, root, cli, daemon, fastPathBundle: firstExisting(root, FAST_PATH_BUNDLE) };
}

/** The entry points relative to the build's root, as the report names them. */
export const entryNames = (build) => ({
  cli: relative(build.root, build.cli),
  daemon: relative(build.root, build.daemon),
});

/** The build of this checkout (`npm run bench` builds it first). */
export const CURRENT = buildAt(ROOT, 'current');

// The bench's own tooling, always from the current build: the local OpenID provider, the player
// of its login pages, a free loopback port, and the fake $BROWSER the tests use.
const tool = (path) => import(pathToFileURL(join(ROOT, path)).href);
const localProvider = await tool('dist/demo/localProvider.js');
export const { startLocalProvider, LOCAL_PUBLIC_CLIENT_ID } = localProvider;
export const { playAuthorization } = await tool('dist/demo/browserPlayer.js');
export const { freePort } = await tool('dist/demo/freePort.js');
export const FAKE_BROWSER = join(ROOT, 'test', 'support', 'browser.mjs');
