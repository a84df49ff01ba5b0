#!/usr/bin/env bash
# Builds the container image from a base made on this machine (no image registry needed), runs it
# with podman on the host network bound to loopback, waits for /ready, sends one chat request and
# stops it. Slow (minutes, the first time): not part of `npm test`.
#
# The base is Debian (debootstrap, from Debian's mirrors) plus the Node 24 binary of the `node`
# devDependency and npm from the npm registry; it is built once and kept as BASE_IMAGE.
# Needs root (debootstrap, rootful podman), podman, debootstrap, curl, and `npm ci` done; runc where
# podman's default runtime cannot start containers (see pick_runtime).
#
#   scripts/container-smoke.sh              PORT=18801 IMAGE=... BASE_IMAGE=... to override
set -euo pipefail
cd "$(dirname "$0")/.."

BASE_IMAGE=${BASE_IMAGE:-localhost/cortex-flow-base:node24}
IMAGE=${IMAGE:-localhost/cortex-flow:smoke}
PORT=${PORT:-18801}
NAME=cortex-flow-smoke-$$
NODE=node_modules/node/bin/node
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

log() { printf '\n== %s\n' "$*"; }
elapsed() { echo "$(($(date +%s) - $1))s"; }

build_base() {
  local work
  work=$(mktemp -d)
  trap 'rm -rf "$work"' RETURN
  log "base image $BASE_IMAGE: Debian bookworm (debootstrap) + Node $("$NODE" --version) + npm"
  debootstrap --variant=minbase bookworm "$work/rootfs" "$DEBIAN_MIRROR" >"$work/debootstrap.log" 2>&1 ||
    { tail -20 "$work/debootstrap.log"; exit 1; }
  install -m 0755 "$NODE" "$work/rootfs/usr/local/bin/node"
  (cd "$work" && npm pack npm@11 --silent >/dev/null)
  mkdir -p "$work/rootfs/usr/local/lib/node_modules/npm"
  tar -xzf "$work"/npm-*.tgz -C "$work/rootfs/usr/local/lib/node_modules/npm" --strip-components=1
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$work/rootfs/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$work/rootfs/usr/local/bin/npx"
  # The host's trust store, so that npm inside the build trusts what this host's npm trusts (a network
  # may intercept TLS with a CA of its own); official Node images bring their own.
  mkdir -p "$work/rootfs/etc/ssl"
  cp /etc/ssl/certs/ca-certificates.crt "$work/rootfs/etc/ssl/host-ca-certificates.crt"
  rm -rf "$work"/rootfs/var/cache/apt/archives/*.deb "$work"/rootfs/var/lib/apt/lists/*
  tar -C "$work/rootfs" -c . | podman import --change 'CMD ["node"]' \
    --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/host-ca-certificates.crt' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' - "$BASE_IMAGE" >/dev/null
}

# podman's defaults (crun, raised rlimits) fail on some hosts, e.g. a container host with cgroups in
# hybrid mode that forbids raising RLIMIT_NOFILE: fall back to runc with the rlimits this host allows.
pick_runtime() {
  RUNTIME=()
  local err
  if err=$(podman run --rm --network none "$BASE_IMAGE" true 2>&1); then return; fi
  echo "podman's defaults cannot run a container here ($err)"
  RUNTIME=(--runtime runc --ulimit "nofile=4096:4096" --ulimit "nproc=4096:4096")
  podman run "${RUNTIME[@]}" --rm --network none "$BASE_IMAGE" true || { echo "nor with ${RUNTIME[*]}"; exit 1; }
  echo "using ${RUNTIME[*]}"
}

[ -x "$NODE" ] || { echo "no $NODE: run npm ci first"; exit 1; }
start=$(date +%s)
if podman image exists "$BASE_IMAGE"; then
  log "base image $BASE_IMAGE: present"
else
  build_base
fi
pick_runtime
podman run "${RUNTIME[@]}" --rm --network none "$BASE_IMAGE" \
  sh -c 'echo "base: node $(node --version), npm $(npm --version)"'

log "build $IMAGE from Containerfile (NODE_IMAGE=$BASE_IMAGE)"
t=$(date +%s)
build_log=$(mktemp)
# --format docker keeps the HEALTHCHECK; --network host lets npm inside the build reach the registry.
podman build "${RUNTIME[@]}" --format docker --network host --build-arg NODE_IMAGE="$BASE_IMAGE" \
  -t "$IMAGE" -f Containerfile . >"$build_log" 2>&1 || { tail -40 "$build_log"; exit 1; }
rm -f "$build_log"
size=$(podman image inspect "$IMAGE" --format '{{.Size}}' | awk '{printf "%.0f MB", $1/1e6}')
echo "built in $(elapsed "$t"): $size"
podman image inspect "$IMAGE" \
  --format 'user={{.Config.User}} volumes={{.Config.Volumes}} healthcheck={{.Config.Healthcheck.Test}}'

log "run on 127.0.0.1:$PORT (host network, loopback only)"
trap 'podman rm -f "$NAME" >/dev/null 2>&1 || true' EXIT
# (On a host without systemd, podman logs that it cannot set up the healthcheck's timer; the
# healthcheck is run once by hand below.)
podman run "${RUNTIME[@]}" -d --name "$NAME" --network host \
  -e CORTEX_HOST=127.0.0.1 -e OPENAI_COMPAT_PORT="$PORT" "$IMAGE" >/dev/null
t=$(date +%s)
until curl -sf "http://127.0.0.1:$PORT/ready" >/dev/null; do
  running=$(podman inspect "$NAME" --format '{{.State.Running}}')
  if [ "$running" != true ] || [ $(($(date +%s) - t)) -gt 90 ]; then
    echo "not ready:"; podman logs "$NAME" | tail -20; exit 1
  fi
  sleep 1
done
echo "/ready after $(elapsed "$t"): $(curl -s "http://127.0.0.1:$PORT/ready")"
podman healthcheck run "$NAME"
echo "healthcheck: healthy"

log "chat request"
curl -sf "http://127.0.0.1:$PORT/v1/chat/completions" -H 'content-type: application/json' \
  -d '{"model":"cortex-flow","messages":[{"role":"user","content":"What drives the water cycle?"}]}' |
  "$NODE" -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
    const r = JSON.parse(s);
    const [choice] = r.choices;
    console.log(`engine=${r.metadata?.engine} finish_reason=${choice.finish_reason} tokens=${r.usage.total_tokens}`);
    console.log(choice.message.content.split("\n").slice(0, 4).join("\n"));
  });'

log "stop"
podman stop -t 15 "$NAME" >/dev/null
echo "exit code $(podman inspect "$NAME" --format '{{.State.ExitCode}}'); last log line:"
podman logs "$NAME" 2>&1 | tail -1
echo "smoke passed in $(elapsed "$start")"
