#!/usr/bin/env bash
# `sam local` for cliproxy: the buffered Mangum function of template.yaml, for the host's architecture, under
# Docker (scripts/lambda_docker.sh: the user's Docker or a private dockerd; the Lambda base image pulled, or built
# offline). The local template is derived from template.yaml at build time (scripts/sam_local_template.py).
#   scripts/sam_local.sh up               Docker answering and the Lambda python3.12 base image present
#   scripts/sam_local.sh build [COPY]     derive the template, sam build it into $SAM_LOCAL_BUILD_DIR, add the config;
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
#   CLIPROXY_API_KEYS (default sk-cliproxy-local), CLIPROXY_ENCRYPTION_KEY, CLIPROXY_STORE_BACKEND (default
#   memory), CLIPROXY_TABLE, CLIPROXY_STORE_ENDPOINT: passed to the function (--env-vars; SAM lets the shell's
#   value of a declared variable through otherwise, so every declared one is written, CLIPROXY_CONFIG included).
#   With a store endpoint (e.g. a moto server on 127.0.0.1) AWS credentials default to dummy ones.
# Exit 3 when Docker cannot be had here (the reason on stderr).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${SAM_LOCAL_BUILD_DIR:-$ROOT/.aws-sam/local}"
PORT="${SAM_LOCAL_PORT:-3000}"
CONFIG="${SAM_LOCAL_CONFIG:-$ROOT/deploy/config.samlocal.yaml}"
SAM_PY="$ROOT/.tools/sam/bin/python"
export SAM_CLI_TELEMETRY=0
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
# SAM looks up AWS credentials for the function; without any it must not wait on the EC2 metadata service.
export AWS_EC2_METADATA_DISABLED=true
case "$(uname -m)" in aarch64|arm64) WHEEL_ARCH=aarch64 ;; *) WHEEL_ARCH=x86_64 ;; esac
export WHEEL_ARCH  # deploy/Makefile builds the dependency layer's wheels for the host

docker_env() { eval "$("$ROOT/scripts/lambda_docker.sh" env)"; }

build() {  # [COPY]: the lock keeps concurrent builds (two test runs, make sam-local) off the shared directory
  "$ROOT/scripts/sam.sh" install >/dev/null
  docker_env
  mkdir -p "$(dirname "$BUILD")"
  (
    flock -w 600 9 || { echo "scripts/sam_local.sh: $BUILD.lock still held after 600s" >&2; exit 1; }
    "$SAM_PY" "$ROOT/scripts/sam_local_template.py" "$BUILD.template.yaml"
    cd "$ROOT" && PY312="$("$ROOT/scripts/sam.sh" python312)" "$ROOT/.tools/sam/bin/sam" build \
      --template "$BUILD.template.yaml" --build-dir "$BUILD" --cached --cache-dir "$BUILD.cache"
    cp "$CONFIG" "$BUILD/BufferedFunction/config.samlocal.yaml"
    if [ -n "${1:-}" ]; then rm -rf "$1" && cp -a "$BUILD" "$1"; fi
  ) 9>"$BUILD.lock"
}

ENV_FILE="$BUILD/env.json"
env_file() {  # every variable the built template declares into $ENV_FILE (sam's --env-vars JSON)
  "$SAM_PY" - "$BUILD/template.yaml" "$ENV_FILE" <<'PY'
import json, os, sys
from samcli.yamlhelper import yaml_parse
template = yaml_parse(open(sys.argv[1]).read())
declared = dict(template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {}))
for resource in template["Resources"].values():
    declared.update(resource.get("Properties", {}).get("Environment", {}).get("Variables", {}))
defaults = {"CLIPROXY_API_KEYS": "sk-cliproxy-local", "CLIPROXY_STORE_BACKEND": "memory"}
values = {name: os.environ.get(name) or defaults.get(name) or str(value) for name, value in declared.items()}
values["CLIPROXY_CONFIG"] = "/var/task/config.samlocal.yaml"  # never the host's own $CLIPROXY_CONFIG
with open(sys.argv[2], "w") as f:
    json.dump({"Parameters": values}, f)
PY
  if [ -n "${CLIPROXY_STORE_ENDPOINT:-}" ]; then
    export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-testing}" AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-testing}"
  fi
}

# Host networking (scripts/sam_host_network.py): the container reaches the host's 127.0.0.1 and SAM talks to it there.
# The base image is present after `up` (pulled or built), so SAM never asks a registry for it.
LOCAL_FLAGS=(--skip-pull-image --docker-network host --container-host 127.0.0.1)
sam_local() { cd "$ROOT" && exec "$SAM_PY" "$ROOT/scripts/sam_host_network.py" local "$@"; }

invoke() {
  docker_env
  env_file  # not in a subshell: its AWS credential exports must reach sam
  sam_local invoke BufferedFunction --template "$BUILD/template.yaml" "${LOCAL_FLAGS[@]}" --env-vars "$ENV_FILE" \
    --event "$1"
}

start_api() {
  docker_env
  env_file  # not in a subshell: its AWS credential exports must reach sam
  echo "cliproxy under sam local: http://127.0.0.1:$PORT (OpenAI base URL http://127.0.0.1:$PORT/v1)" >&2
  sam_local start-api --template "$BUILD/template.yaml" "${LOCAL_FLAGS[@]}" --env-vars "$ENV_FILE" \
    --host 127.0.0.1 --port "$PORT" "$@"
}

case "${1:-}" in
  up) "$ROOT/scripts/lambda_docker.sh" up ;;
  build) shift; [ $# -le 1 ] || { echo "usage: scripts/sam_local.sh build [COPY]" >&2; exit 2; }; build "$@" ;;
  invoke) shift; [ $# -eq 1 ] || { echo "usage: scripts/sam_local.sh invoke EVENT" >&2; exit 2; }; invoke "$1" ;;
  start-api) shift; start_api "$@" ;;
  serve) shift; "$ROOT/scripts/lambda_docker.sh" up && build && start_api "$@" ;;
  *) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
