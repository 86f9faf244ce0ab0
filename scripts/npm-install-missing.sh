#!/usr/bin/env bash
# Installs the npm packages of package-lock.json (`npm ci`) unless node_modules already holds them
# (it is newer than the lock file). A node_modules that is a symbolic link, as in a git worktree that
# shares another checkout's, is left alone: npm ci would empty the directory it points to.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -L node_modules ]; then
  echo "setup: node_modules is a link to $(readlink node_modules): left as it is"
elif [ node_modules/.package-lock.json -nt package-lock.json ]; then
  echo "setup: npm packages are up to date"
else
  npm ci --no-fund --no-audit --loglevel=error
fi
