#!/usr/bin/env bash
# Docker for `sam local`, on any machine this project runs on:
#   - a Docker that already answers (DOCKER_HOST or the default socket) is used as it is;
#   - otherwise a private dockerd is started (Debian's docker.io, installed with apt-get when missing), its state
#     under $CLIPROXY_DOCKER_DIR (default ~/.cache/cliproxy-docker), shared by every checkout of the user;
#   - the Lambda python3.12 base image is pulled when the registry is reachable (plain SAM behaviour); offline, a
#     stand-in is built here: a Debian minbase root (debootstrap), a python3.12 copied into /var/lang, and
#     awslambdaric from PyPI serving the handler, tagged as SAM looks it up (public.ecr.aws/lambda/python:3.12-<arch>).
#
#   scripts/lambda_docker.sh up       Docker answering + the base image present (idempotent)
#   scripts/lambda_docker.sh env      print `export DOCKER_HOST=...` for the Docker `up` made ready
#   scripts/lambda_docker.sh down     stop the private dockerd (only the one this script started, by its PID file)
#   scripts/lambda_docker.sh status   which Docker, and the base image
# Exit 3 (with the reason on stderr) when Docker cannot be had here: callers skip instead of failing.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="${CLIPROXY_DOCKER_DIR:-$HOME/.cache/cliproxy-docker}"
SOCK="$STATE/docker.sock"
PIDFILE="$STATE/dockerd.pid"
MINOR=3.12
RECIPE=1  # bump when the stand-in recipe changes: `up` rebuilds the image
case "$(uname -m)" in x86_64) ARCH=x86_64 ;; aarch64|arm64) ARCH=arm64 ;; *) ARCH="$(uname -m)" ;; esac
IMAGE="public.ecr.aws/lambda/python:$MINOR-$ARCH"

say() { echo "lambda_docker: $*" >&2; }
cannot() { say "$*"; exit 3; }

answers() { timeout 20 docker version >/dev/null 2>&1; }

# The Docker to use: the caller's if it answers, else ours (the socket is ours whether or not dockerd runs yet).
pick_docker() {
  command -v docker >/dev/null && answers && [ "${DOCKER_HOST:-}" != "unix://$SOCK" ] && { OURS=0; return; }
  export DOCKER_HOST="unix://$SOCK"
  OURS=1
}

apt_install() {  # the Debian packages that are missing (apt-get update only when the first try fails)
  local missing=() pkg
  for pkg in "$@"; do dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null || cannot "${missing[*]} missing and no apt-get to install them"
  [ "$(id -u)" = 0 ] || cannot "${missing[*]} missing (install them, or run as root)"
  say "apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; } \
    || cannot "apt-get could not install ${missing[*]}"
}

our_dockerd() {  # its PID while the process recorded in the PID file is still a dockerd
  local pid
  pid="$(cat "$PIDFILE" 2>/dev/null)" && [ -n "$pid" ] && grep -qs dockerd "/proc/$pid/comm" && echo "$pid"
}

start_dockerd() {
  mkdir -p "$STATE"
  our_dockerd >/dev/null && answers && return 0
  [ ${#SOCK} -lt 100 ] || cannot "socket path too long: $SOCK (set CLIPROXY_DOCKER_DIR shorter)"
  apt_install docker.io iptables
  # containerd's own sockets go under the exec root: a short path, made once and remembered
  local exec_root
  exec_root="$(cat "$STATE/exec-root" 2>/dev/null)" && [ -d "$exec_root" ] \
    || { exec_root="$(mktemp -d /tmp/cpd.XXXXXX)"; echo "$exec_root" >"$STATE/exec-root"; }
  # its own session: a test run or shell job ending must not take the daemon down under other users of it
  setsid nohup dockerd --data-root "$STATE/data" --exec-root "$exec_root" -H "$DOCKER_HOST" --pidfile "$PIDFILE" \
    >"$STATE/dockerd.log" 2>&1 </dev/null &
  local waited=0
  until answers; do
    sleep 1; waited=$((waited + 1))
    [ $waited -lt 60 ] || { tail -5 "$STATE/dockerd.log" >&2; cannot "dockerd did not answer within 60s (log: $STATE/dockerd.log)"; }
  done
  say "dockerd up (PID $(cat "$PIDFILE")), DOCKER_HOST=$DOCKER_HOST"
}

image_ready() {  # the pulled image, or a stand-in of this recipe
  local label
  label="$(docker image inspect -f '{{ index .Config.Labels "cliproxy.standin" }}' "$IMAGE" 2>/dev/null)" || return 1
  [ "$label" = "<no value>" ] || [ "$label" = "$RECIPE" ]
}

python_prefix() {  # a relocatable python3.12 install (its own prefix, not the system's /usr)
  local py prefix
  py="$("$ROOT/scripts/sam.sh" python312)" || cannot "no python3.12 to put into the stand-in image"
  prefix="$("$py" -c 'import sys; print(sys.base_prefix)')"
  [ "$prefix" != /usr ] || cannot "python3.12 is the system's (/usr); the stand-in needs a self-contained one (pyenv)"
  echo "$prefix"
}

build_standin() {
  local prefix root lib="lib/python$MINOR"
  prefix="$(python_prefix)"
  apt_install debootstrap patchelf
  work="$(mktemp -d)"; root="$work/root"
  trap 'rm -rf "$work"' EXIT  # global: the trap runs after this function returned
  say "building the stand-in $IMAGE (debootstrap, then python $prefix; about a minute)"
  debootstrap --variant=minbase --include=ca-certificates,libssl3,libsqlite3-0,libffi8,libreadline8,libncursesw6 \
    bookworm "$root" >"$work/debootstrap.log" 2>&1 || { tail -5 "$work/debootstrap.log" >&2; cannot "debootstrap failed"; }
  mkdir -p "$root/var/lang" "$root/var/runtime" "$root/var/task" "$root/opt"
  tar -C "$prefix" -c --exclude="./$lib/test" --exclude="./$lib/site-packages" --exclude="./$lib/idlelib" \
    --exclude="./$lib/tkinter" --exclude='*.a' . | tar -C "$root/var/lang" -x
  mkdir -p "$root/var/lang/$lib/site-packages"
  # the build's RUNPATH names its host prefix: make it relative to the binaries' new home
  local so
  for so in "$root/var/lang/bin/python$MINOR" "$root"/var/lang/lib/libpython*.so*; do
    [ -f "$so" ] && [ ! -L "$so" ] && patchelf --print-rpath "$so" 2>/dev/null | grep -q . && patchelf --set-rpath '$ORIGIN/../lib' "$so"
  done
  for so in "$root/var/lang/$lib/lib-dynload/"*.so; do
    patchelf --print-rpath "$so" 2>/dev/null | grep -q . && patchelf --set-rpath '$ORIGIN/../..' "$so"
  done
  "$prefix/bin/python$MINOR" -m pip install -q --disable-pip-version-check --no-warn-script-location \
    --root-user-action=ignore --target "$root/var/runtime" awslambdaric boto3 >"$work/pip.log" 2>&1 \
    || { tail -5 "$work/pip.log" >&2; cannot "pip could not install awslambdaric"; }
  cat >"$root/var/runtime/bootstrap" <<BOOT
#!/bin/sh
# the managed runtime's bootstrap, stood in for: awslambdaric serves \$_HANDLER
export AWS_EXECUTION_ENV="\${AWS_EXECUTION_ENV:-AWS_Lambda_python$MINOR}"
export PYTHONPATH="/var/task:/opt/python/lib/python$MINOR/site-packages:/opt/python:/var/runtime"
cd "\${LAMBDA_TASK_ROOT:-/var/task}"
[ -n "\${AWS_LAMBDA_EXEC_WRAPPER:-}" ] && exec "\$AWS_LAMBDA_EXEC_WRAPPER" /var/lang/bin/python$MINOR -m awslambdaric "\$_HANDLER"
exec /var/lang/bin/python$MINOR -m awslambdaric "\$_HANDLER"
BOOT
  chmod 755 "$root/var/runtime/bootstrap"
  ln -sf "/var/lang/bin/python$MINOR" "$root/usr/local/bin/python3"
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc "$root"/usr/share/man
  tar -C "$root" -c . | docker import \
    -c "ENV LANG=C.UTF-8 PATH=/var/lang/bin:/usr/local/bin:/usr/bin:/bin LD_LIBRARY_PATH=/var/lang/lib:/var/runtime:/var/task/lib:/opt/lib LAMBDA_TASK_ROOT=/var/task LAMBDA_RUNTIME_DIR=/var/runtime" \
    -c "WORKDIR /var/task" -c "LABEL cliproxy.standin=$RECIPE" - "$IMAGE" >/dev/null
  docker tag "$IMAGE" "public.ecr.aws/lambda/python:$MINOR"
  # SAM layers its emulator on the base once (the "rapid" image) and would keep one made on an older base
  docker images --format '{{.Repository}}:{{.Tag}}' | grep -E "^(public.ecr.aws/lambda/python:$MINOR-rapid|samcli/lambda-python:$MINOR)" \
    | xargs -r docker rmi -f >/dev/null || true
  docker run --rm "$IMAGE" /var/lang/bin/python$MINOR -c "import sys; sys.path.append('/var/runtime'); import awslambdaric.bootstrap, ssl, sqlite3" \
    || cannot "the stand-in image does not run python$MINOR"
  say "stand-in $IMAGE built"
}

up() {
  command -v docker >/dev/null || apt_install docker.io
  pick_docker
  [ "$OURS" = 0 ] || start_dockerd
  image_ready && return 0
  if timeout 120 docker pull -q "$IMAGE" >/dev/null 2>&1; then say "pulled $IMAGE"; return 0; fi
  say "cannot pull $IMAGE (offline?): building a stand-in"
  build_standin
}

case "${1:-}" in
  up) up ;;
  env) pick_docker; echo "export DOCKER_HOST=${DOCKER_HOST:-unix:///var/run/docker.sock}" ;;
  down) if pid="$(our_dockerd)"; then kill -TERM "$pid" && say "dockerd $pid stopping"; else say "no dockerd of ours"; fi ;;
  status) pick_docker; echo "DOCKER_HOST=${DOCKER_HOST:-default} ours=$OURS"; docker image ls "public.ecr.aws/lambda/python" 2>/dev/null || true ;;
  *) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
