#!/usr/bin/env bash
# aws-sam-cli in its own venv (.tools/sam) so its pins never fight the project's, plus the checks CI runs.
#   scripts/sam.sh install     create .tools/sam and install aws-sam-cli (idempotent)
#   scripts/sam.sh lint        sam validate --lint + the translated-template check (streaming really wired)
#   scripts/sam.sh build       sam build (needs a python3.12 for pip --target and compileall)
#   scripts/sam.sh check       bundle check: imports handlers.api on python3.12, size under Lambda's limit
#   scripts/sam.sh test        lint + build + check
#   scripts/sam.sh iac         cfn-lint and checkov on template.yaml (their own venv, .tools/iac; skips with
#                              reasons in deploy/checkov.yaml)
#   scripts/sam.sh -- ARGS     any sam command, e.g. scripts/sam.sh -- deploy --guided
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools/sam"
SAM_VERSION="${SAM_VERSION:-1.170.0}"
IAC="$ROOT/.tools/iac"
CFN_LINT_VERSION=1.58.0
CHECKOV_VERSION=3.3.30
export SAM_CLI_TELEMETRY=0 SAM_CLI_CONTAINER_CONNECTION_TIMEOUT=1
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"

install() {
  if [ -x "$TOOLS/bin/sam" ] && "$TOOLS/bin/sam" --version 2>/dev/null | grep -q "$SAM_VERSION"; then return; fi
  python3 -m venv "$TOOLS"
  "$TOOLS/bin/python" -m pip install --quiet --disable-pip-version-check "aws-sam-cli==$SAM_VERSION" 2>&1 \
    | grep -v "is ignored: it is neither a file nor a directory" || true
  "$TOOLS/bin/sam" --version
}

# A working python3.12 (pyenv shims exist for versions that are not active, so try it before trusting it).
python312() {
  if python3.12 -c "" 2>/dev/null; then command -v python3.12; return; fi
  local found
  for found in "$(pyenv root 2>/dev/null)"/versions/3.12*/bin/python3.12 /usr/bin/python3.12 /usr/local/bin/python3.12; do
    if [ -x "$found" ] && "$found" -c "" 2>/dev/null; then echo "$found"; return; fi
  done
  echo "scripts/sam.sh: no python3.12 found (needed to build the python3.12 bundle)" >&2
  return 1
}

lint() {
  install
  (cd "$ROOT" && "$TOOLS/bin/sam" validate --lint --template template.yaml)
  (cd "$ROOT" && "$TOOLS/bin/python" scripts/check_template.py)
}

iac() {
  if ! "$IAC/bin/checkov" --version 2>/dev/null | grep -qx "$CHECKOV_VERSION" \
      || ! "$IAC/bin/cfn-lint" --version 2>/dev/null | grep -q "$CFN_LINT_VERSION"; then
    python3 -m venv "$IAC"
    "$IAC/bin/python" -m pip install --quiet --disable-pip-version-check \
      "cfn-lint==$CFN_LINT_VERSION" "checkov==$CHECKOV_VERSION" 2>&1 | grep -v "is ignored: it is neither" || true
  fi
  (cd "$ROOT" && "$IAC/bin/cfn-lint" template.yaml && echo "cfn-lint: template.yaml OK")
  (cd "$ROOT" && "$IAC/bin/checkov" --config-file deploy/checkov.yaml -f template.yaml)
}

build() {
  install
  local py; py="$(python312)"
  (cd "$ROOT" && PY312="$py" "$TOOLS/bin/sam" build --template template.yaml)
}

check() {
  local py; py="$(python312)"
  (cd "$ROOT" && "$py" scripts/check_bundle.py)
}

case "${1:-test}" in
  install) install ;;
  lint) lint ;;
  iac) iac ;;
  build) build ;;
  check) check ;;
  python312) python312 ;;
  test) lint && build && check ;;
  --) shift; install; cd "$ROOT" && PY312="$(python312)" exec "$TOOLS/bin/sam" "$@" ;;
  *) sed -n '2,11p' "$0" >&2; exit 2 ;;
esac
