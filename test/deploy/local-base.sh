#!/usr/bin/env bash
# Makes a local stand-in for node:24-slim, since no container registry is reachable here: Debian
# bookworm (minbase, from Debian's packages by mmdebstrap), the `node` binary of the npm
# registry's `node` package and the npm that runs this script, and a `node` user with uid 1000 as
# in the official image. A CA bundle named by NODE_EXTRA_CA_CERTS (a TLS-intercepting proxy in front
# of the npm registry) is trusted in it too, so `npm ci` in the build stages reaches the registry the
# way this host does. Prints the image name. Usage: test/deploy/local-base.sh [image-name]
set -euo pipefail
image="${1:-localhost/nines-node:24-slim}"
engine=(podman --runtime "${NINES_OCI_RUNTIME:-runc}")
if "${engine[@]}" image exists "$image"; then echo "$image"; exit 0; fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
if ! "${engine[@]}" image exists localhost/nines-debian:bookworm; then
  command -v mmdebstrap >/dev/null || apt-get install -y mmdebstrap >/dev/null
  # as Docker's -slim images: no docs, man pages or locales
  mmdebstrap --quiet --variant=minbase --include=ca-certificates \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*' \
    bookworm "$work/rootfs.tar" >&2
  "${engine[@]}" import "$work/rootfs.tar" localhost/nines-debian:bookworm >/dev/null
fi

node_bin="$(readlink -f "$(command -v node)")"
npm_dir="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")"
mkdir -p "$work/ctx"
cp "$node_bin" "$work/ctx/node"
cp -r "$npm_dir" "$work/ctx/npm"
extra_ca=''
if [ -n "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f "$NODE_EXTRA_CA_CERTS" ]; then
  cp "$NODE_EXTRA_CA_CERTS" "$work/ctx/extra-ca.pem"
  extra_ca=$'COPY extra-ca.pem /usr/local/share/nines-extra-ca.pem\nENV NODE_EXTRA_CA_CERTS=/usr/local/share/nines-extra-ca.pem'
fi
cat >"$work/ctx/Containerfile" <<CONTAINERFILE
FROM localhost/nines-debian:bookworm
$extra_ca
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \\
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \\
 && groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node \\
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*
CMD ["node"]
CONTAINERFILE
"${engine[@]}" build --quiet $NINES_PODMAN_LIMITS -t "$image" "$work/ctx" >&2
echo "$image"
