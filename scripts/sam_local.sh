#!/usr/bin/env bash
# `sam local` for cliproxy: template.local.yaml (buffered Mangum function, x86_64) under Docker made by
# ../shared/tools/sam-local.sh (offline dockerd + a stand-in Lambda python3.12 image).
#   scripts/sam_local.sh up               start dockerd and build the base image (once)
#   scripts/sam_local.sh build [COPY]     sam build the local template into $SAM_LOCAL_BUILD_DIR, add the config;
#                                         with COPY, also copy the built stack there (a private copy that a later
#                                         build cannot change under a running sam local). Builds take a lock.
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
#   memory), CLIPROXY_TABLE, CLIPROXY_STORE_ENDPOINT: passed to the function (--env-vars; SAM lets the shell's
#   value of a declared variable through otherwise, so every declared one is written, CLIPROXY_CONFIG included).
#   With a store endpoint (e.g. a moto server on 127.0.0.1) AWS credentials default to dummy ones.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOL="${SAM_LOCAL_TOOL:-$ROOT/../shared/tools/sam-local.sh}"
BUILD="${SAM_LOCAL_BUILD_DIR:-$ROOT/.aws-sam/local}"
PORT="${SAM_LOCAL_PORT:-3000}"
CONFIG="${SAM_LOCAL_CONFIG:-$ROOT/deploy/config.samlocal.yaml}"
PYMINOR=3.12
export SAM_BIN="$ROOT/.tools/sam/bin/sam" SAM_CLI_TELEMETRY=0
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
# SAM looks up AWS credentials for the function; without any it must not wait on the EC2 metadata service.
export AWS_EC2_METADATA_DISABLED=true

need_tool() { [ -x "$TOOL" ] || { echo "scripts/sam_local.sh: $TOOL not found (set SAM_LOCAL_TOOL)" >&2; exit 3; }; }

docker_env() { need_tool; eval "$("$TOOL" env "$PYMINOR")"; }

# In a session of its own: the dockerd that `up` may start must not belong to the caller's process group (a test
# run or a shell job), whose end or kill would take the daemon down under everyone else using it.
up() { need_tool; setsid -w "$TOOL" up "$PYMINOR"; }

build() {  # [COPY]: the lock keeps concurrent builds (two test runs, make sam-local) off the shared directory
  "$ROOT/scripts/sam.sh" install >/dev/null
  docker_env
  mkdir -p "$(dirname "$BUILD")"
  (
    flock -w 600 9 || { echo "scripts/sam_local.sh: $BUILD.lock still held after 600s" >&2; exit 1; }
    cd "$ROOT" && PY312="$("$ROOT/scripts/sam.sh" python312)" "$SAM_BIN" build --template template.local.yaml \
      --build-dir "$BUILD" --cached --cache-dir "$BUILD.cache"
    cp "$CONFIG" "$BUILD/BufferedFunction/config.samlocal.yaml"
    if [ -n "${1:-}" ]; then rm -rf "$1" && cp -a "$BUILD" "$1"; fi
  ) 9>"$BUILD.lock"
}

ENV_FILE="$BUILD/env.json"
env_file() {  # the function's variables (template.local.yaml declares them) into $ENV_FILE, sam's --env-vars JSON
  "$ROOT/.tools/sam/bin/python" - "$ENV_FILE" <<'PY'
import json, os, sys
names = {"CLIPROXY_API_KEYS": "sk-cliproxy-local", "CLIPROXY_ENCRYPTION_KEY": "",
         "CLIPROXY_STORE_BACKEND": "memory", "CLIPROXY_TABLE": "", "CLIPROXY_STORE_ENDPOINT": ""}
values = {name: os.environ.get(name) or default for name, default in names.items()}
values["CLIPROXY_CONFIG"] = "/var/task/config.samlocal.yaml"  # never the host's own $CLIPROXY_CONFIG
with open(sys.argv[1], "w") as f:
    json.dump({"Parameters": values}, f)
PY
  if [ -n "${CLIPROXY_STORE_ENDPOINT:-}" ]; then
    export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-testing}" AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-testing}"
  fi
}

# Host networking (the tool's patched `sam`): the container reaches the host's 127.0.0.1 and SAM talks to it there.
LOCAL_FLAGS=(--skip-pull-image --docker-network host --container-host 127.0.0.1)

invoke() {
  docker_env
  env_file  # not in a subshell: its AWS credential exports must reach sam
  cd "$ROOT" && exec "$TOOL" sam local invoke BufferedFunction --template "$BUILD/template.yaml" \
    "${LOCAL_FLAGS[@]}" --env-vars "$ENV_FILE" --event "$1"
}

start_api() {
  docker_env
  env_file  # not in a subshell: its AWS credential exports must reach sam
  echo "cliproxy under sam local: http://127.0.0.1:$PORT (OpenAI base URL http://127.0.0.1:$PORT/v1)" >&2
  cd "$ROOT" && exec "$TOOL" sam local start-api --template "$BUILD/template.yaml" "${LOCAL_FLAGS[@]}" \
    --env-vars "$ENV_FILE" --host 127.0.0.1 --port "$PORT" "$@"
}

case "${1:-}" in
  up) up ;;
  build) shift; [ $# -le 1 ] || { echo "usage: scripts/sam_local.sh build [COPY]" >&2; exit 2; }; build "$@" ;;
  invoke) shift; [ $# -eq 1 ] || { echo "usage: scripts/sam_local.sh invoke EVENT" >&2; exit 2; }; invoke "$1" ;;
  start-api) shift; start_api "$@" ;;
  serve) shift; up && build && start_api "$@" ;;
  *) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
