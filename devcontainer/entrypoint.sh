#!/bin/sh
# Prepares the dev container, then runs the command (default: bash).
# Runs at start, not at build, so the host's CA bundle is a read-only mount
# and never part of an image; results live in cache volumes, so it is a
# no-op after the first start. Everything fetched is verified: Go's toolchain
# by the checksum database (go mod download), npm packages by their integrity.
set -eu

log() { echo "moby-make-dev: $*" >&2; }

# Go: Go's own toolchain distribution (the module golang.org/toolchain) through
# the module proxy, the way GOTOOLCHAIN fetches it, using Debian's go to fetch.
goarch=$(/usr/bin/go env GOARCH)
toolchain="golang.org/toolchain@v0.0.1-go${GO_VERSION}.linux-${goarch}"
goroot="$(/usr/bin/go env GOMODCACHE)/${toolchain}"
if [ ! -x "${goroot}/bin/go" ]; then
  log "fetching Go ${GO_VERSION} (${toolchain}) through the module proxy"
  (cd / && GOFLAGS=-modcacherw /usr/bin/go mod download "${toolchain}")
  # The module cache drops execute bits; the toolchain's programs need them back.
  find "${goroot}/bin" "${goroot}/pkg/tool" -type f -exec chmod 0755 {} +
fi
export PATH="${goroot}/bin:${PATH}"

# Node: Debian's when it is new enough, else the official binary as npm
# publishes it (node-linux-<arch>), cached per version.
if [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  case "${goarch}" in amd64) nodearch=x64 ;; *) nodearch=${goarch} ;; esac
  prefix="/root/.cache/moby-make/node-${NODE_VERSION}"
  if [ ! -x "${prefix}/bin/node" ]; then
    log "installing Node ${NODE_VERSION} (node-linux-${nodearch}) through npm"
    npm install --global --no-audit --no-fund --prefix "${prefix}" "node-linux-${nodearch}@${NODE_VERSION}" >&2
  fi
  export PATH="${prefix}/bin:${PATH}"
fi

# The project's dependencies, in a volume over node_modules (a host's may be
# for another platform), installed again only when package-lock.json changes.
if [ -f package-lock.json ] && [ -d node_modules ]; then
  want=$(sha256sum package-lock.json | cut -d' ' -f1)
  if [ "$(cat node_modules/.moby-make-lock 2>/dev/null || true)" != "${want}" ]; then
    log "npm ci"
    # npm ci empties node_modules rather than removing it, so a volume there is fine.
    npm ci --no-audit --no-fund >&2
    echo "${want}" > node_modules/.moby-make-lock
  fi
fi

exec "$@"
