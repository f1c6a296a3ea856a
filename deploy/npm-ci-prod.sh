#!/usr/bin/env bash
# Installs the runtime dependencies (no devDependencies) from package-lock.json inside the image
# build. Same rule as .ci/run: npm refuses this lock file when it lacks entries for other
# platforms' optional packages (npm/cli #4828, #8320; e.g. "Missing: @swc/core-darwin-arm64@ from
# lock file"), which a registry without those builds cannot produce. Only in that exact case do we
# fall back to an install that follows the lock file without rewriting it; any other failure
# fails the build.
set -euo pipefail

log="$(mktemp)"
if npm ci --omit=dev --no-audit --no-fund 2>&1 | tee "$log"; then
  rm -f "$log"
  exit 0
fi
missing="$(grep -E 'Missing: ' "$log" || true)"
rm -f "$log"
if [[ -n "$missing" ]] && ! grep -Ev 'Missing: \S+@ from lock file' <<<"$missing" | grep -q .; then
  echo "npm ci refused the lock file only for unresolvable optional packages; npm install --no-save instead"
  npm install --omit=dev --no-save --no-audit --no-fund
else
  exit 1
fi
