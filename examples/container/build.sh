#!/bin/sh
# Builds the example image `runit-rs-example` with podman (or docker: CONTAINER=docker)
# from local files only: cargo's release build, this machine's libraries, a static
# busybox (see build-rootfs.sh). Extra arguments go to build-rootfs.sh.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
engine=${CONTAINER:-podman}
sh "$here/build-rootfs.sh" "$@" "$here/rootfs-built" >/dev/null
"$engine" build -q -t runit-rs-example -f "$here/Containerfile" "$here"
