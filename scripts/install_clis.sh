#!/usr/bin/env bash
# The real coding CLIs the tests drive, pinned, from the npm registry into .tools/clis (gitignored).
#   scripts/install_clis.sh            install (idempotent: nothing to do when the pinned versions are there)
#   scripts/install_clis.sh --check    exit 0 when installed at the pinned versions, 1 otherwise
# Binaries: .tools/clis/node_modules/.bin/{claude,codex}. Settings (environment):
#   CLIPROXY_CLIS_DIR    install directory (default .tools/clis)
#   CLAUDE_CODE_VERSION  @anthropic-ai/claude-code version (default below)
#   CODEX_VERSION        @openai/codex version (default below)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${CLIPROXY_CLIS_DIR:-$ROOT/.tools/clis}"
PACKAGES=("@anthropic-ai/claude-code@${CLAUDE_CODE_VERSION:-2.1.197}" "@openai/codex@${CODEX_VERSION:-0.171.0}")

installed() {  # NAME@VERSION: the package's own package.json says the pinned version
  local manifest="$DIR/node_modules/${1%@*}/package.json"
  [ -f "$manifest" ] && [ "$(node -p "require(process.argv[1]).version" "$manifest")" = "${1##*@}" ]
}

all_installed() {
  local spec
  for spec in "${PACKAGES[@]}"; do installed "$spec" || return 1; done
}

need() { command -v "$1" >/dev/null || { echo "scripts/install_clis.sh: $1 not found (install Node.js 18+ with npm)" >&2; exit 3; }; }

need node
need npm
if [ "${1:-}" = "--check" ]; then all_installed; exit; fi
all_installed && exit 0
mkdir -p "$DIR"
[ -f "$DIR/package.json" ] || echo '{"name": "cliproxy-test-clis", "private": true}' >"$DIR/package.json"
# A lock: two test sessions installing at once must not interleave in one node_modules.
(
  flock -w 600 9 || { echo "scripts/install_clis.sh: $DIR.lock still held after 600s" >&2; exit 1; }
  all_installed && exit 0
  npm install --prefix "$DIR" --no-audit --no-fund --loglevel=error --save-exact "${PACKAGES[@]}"
  all_installed || { echo "scripts/install_clis.sh: installed versions differ from ${PACKAGES[*]}" >&2; exit 1; }
) 9>"$DIR.lock"
