#!/usr/bin/env bash
# `sam local` for cliproxy: template.local.yaml (buffered Mangum function, x86_64) under Docker made by
# ../shared/tools/sam-local.sh (offline dockerd + a stand-in Lambda python3.12 image).
#   scripts/sam_local.sh up               start dockerd and build the base image (once)
#   scripts/sam_local.sh build            sam build the local template into $SAM_LOCAL_BUILD_DIR, add the config
#   scripts/sam_local.sh invoke EVENT     sam local invoke BufferedFunction with an events/*.json file
#   scripts/sam_local.sh start-api        sam local start-api on 127.0.0.1:$SAM_LOCAL_PORT (stop it with SIGTERM)
#   scripts/sam_local.sh serve            up + build + start-api (what `make sam-local` runs)
# Settings (environment):
#   SAM_LOCAL_CONFIG      config copied into the function as /var/task/config.samlocal.yaml
#                         (default deploy/config.samlocal.yaml)
#   SAM_LOCAL_PORT        start-api port (default 3000)
#   SAM_LOCAL_BUILD_DIR   build directory (default .aws-sam/local)
#   SAM_LOCAL_TOOL        the Docker tool (default ../shared/tools/sam-local.sh beside the repository)
#   CLIPROXY_API_KEYS (default sk-cliproxy-local), CLIPROXY_ENCRYPTION_KEY, CLIPROXY_STORE_BACKEND (default
#   memory), CLIPROXY_TABLE, CLIPROXY_STORE_ENDPOINT: passed to the function (--env-vars). With a store endpoint
#   (e.g. a moto server on 127.0.0.1) AWS credentials default to dummy ones.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOL="${SAM_LOCAL_TOOL:-$ROOT/../shared/tools/sam-local.sh}"
BUILD="${SAM_LOCAL_BUILD_DIR:-$ROOT/.aws-sam/local}"
PORT="${SAM_LOCAL_PORT:-3000}"
CONFIG="${SAM_LOCAL_CONFIG:-$ROOT/deploy/config.samlocal.yaml}"
PYMINOR=3.12
export SAM_BIN="$ROOT/.tools/sam/bin/sam" SAM_CLI_TELEMETRY=0
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"

need_tool() { [ -x "$TOOL" ] || { echo "scripts/sam_local.sh: $TOOL not found (set SAM_LOCAL_TOOL)" >&2; exit 3; }; }

docker_env() { need_tool; eval "$("$TOOL" env "$PYMINOR")"; }

up() { need_tool; "$TOOL" up "$PYMINOR"; }

build() {
  "$ROOT/scripts/sam.sh" install >/dev/null
  docker_env
  (cd "$ROOT" && PY312="$("$ROOT/scripts/sam.sh" python312)" "$SAM_BIN" build --template template.local.yaml \
    --build-dir "$BUILD" --cached --cache-dir "$BUILD.cache")
  cp "$CONFIG" "$BUILD/BufferedFunction/config.samlocal.yaml"
}

env_file() {  # the function's variables (template.local.yaml declares them), as sam's --env-vars JSON
  local out="$BUILD/env.json"
  "$ROOT/.tools/sam/bin/python" - "$out" <<'PY'
import json, os, sys
names = {"CLIPROXY_API_KEYS": "sk-cliproxy-local", "CLIPROXY_ENCRYPTION_KEY": "",
         "CLIPROXY_STORE_BACKEND": "memory", "CLIPROXY_TABLE": "", "CLIPROXY_STORE_ENDPOINT": ""}
values = {name: os.environ.get(name) or default for name, default in names.items()}
with open(sys.argv[1], "w") as f:
    json.dump({"Parameters": values}, f)
PY
  if [ -n "${CLIPROXY_STORE_ENDPOINT:-}" ]; then
    export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-testing}" AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-testing}"
  fi
  echo "$out"
}

# Host networking (the tool's patched `sam`): the container reaches the host's 127.0.0.1 and SAM talks to it there.
LOCAL_FLAGS=(--skip-pull-image --docker-network host --container-host 127.0.0.1)

invoke() {
  docker_env
  local env; env="$(env_file)"
  cd "$ROOT" && exec "$TOOL" sam local invoke BufferedFunction --template "$BUILD/template.yaml" \
    "${LOCAL_FLAGS[@]}" --env-vars "$env" --event "$1"
}

start_api() {
  docker_env
  local env; env="$(env_file)"
  echo "cliproxy under sam local: http://127.0.0.1:$PORT (OpenAI base URL http://127.0.0.1:$PORT/v1)" >&2
  cd "$ROOT" && exec "$TOOL" sam local start-api --template "$BUILD/template.yaml" "${LOCAL_FLAGS[@]}" \
    --env-vars "$env" --host 127.0.0.1 --port "$PORT" "$@"
}

case "${1:-}" in
  up) up ;;
  build) build ;;
  invoke) shift; [ $# -eq 1 ] || { echo "usage: scripts/sam_local.sh invoke EVENT" >&2; exit 2; }; invoke "$1" ;;
  start-api) shift; start_api "$@" ;;
  serve) shift; up && build && start_api "$@" ;;
  *) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
