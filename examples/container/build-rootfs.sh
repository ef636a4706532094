#!/bin/sh
# Assembles the example container's root file system from local files only:
# runit-rs's binaries (installed by packaging/install.sh in Debian's layout), the shared
# libraries they need (copied from this machine; none if they are static), a static
# busybox for the stage scripts, and the stage scripts and services in ./rootfs.
#
#   sh examples/container/build-rootfs.sh [--bindir target/release] [--busybox PATH] [OUT]
#
# OUT defaults to examples/container/rootfs-built (what the Containerfile copies).
# busybox: --busybox, else a static busybox on PATH, else Debian's busybox-static
# fetched with `apt-get download` into $RUNIT_CONTAINER_CACHE (never installed).
# Exit: 0 done, 1 bad usage, 2 busybox could not be found or fetched.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
bindir=$repo/target/release
busybox=
out=$here/rootfs-built
while [ $# -gt 0 ]; do
	case $1 in
		--bindir) bindir=$2; shift 2 ;;
		--busybox) busybox=$2; shift 2 ;;
		-*) echo "build-rootfs.sh: unknown option $1" >&2; exit 1 ;;
		*) out=$1; shift ;;
	esac
done

is_static() { ! ldd "$1" >/dev/null 2>&1; }
if [ -z "$busybox" ]; then
	if command -v busybox >/dev/null && is_static "$(command -v busybox)"; then
		busybox=$(command -v busybox)
	else
		cache=${RUNIT_CONTAINER_CACHE:-/tmp/runit-rs-container}
		if [ ! -x "$cache/root/bin/busybox" ]; then
			mkdir -p "$cache/debs"
			(cd "$cache/debs" && apt-get download busybox-static >/dev/null 2>&1) ||
				{ echo "build-rootfs.sh: no static busybox (apt-get download busybox-static failed); give --busybox" >&2; exit 2; }
			dpkg -x "$cache"/debs/busybox-static_*.deb "$cache/root"
		fi
		busybox=$cache/root/bin/busybox
	fi
fi
[ -x "$busybox" ] || { echo "build-rootfs.sh: $busybox is not executable" >&2; exit 2; }

rm -rf "$out"
mkdir -p "$out"
cp -a "$here/rootfs/." "$out/"
sh "$repo/packaging/install.sh" --layout debian --destdir "$out" --bindir "$bindir" >/dev/null
rm -rf "$out/usr/share"   # man pages and completion: not needed in the image

# The shared libraries the binaries need (ldd: "name => /path" and the loader line).
for b in "$out"/sbin/runit "$out"/lib/runit/runit-init "$out"/usr/bin/* "$out"/usr/sbin/*; do
	[ -L "$b" ] && continue
	ldd "$b" 2>/dev/null | awk '/=> \// {print $3} /^\t\// {print $1}' | while read -r lib; do
		[ -e "$out$lib" ] || install -D -m 0755 "$lib" "$out$lib"
	done
done

install -D -m 0755 "$busybox" "$out/bin/busybox"
for t in sh mkdir chmod cat sleep echo printf sed readlink id kill rm ls test [ env true false ps grep; do
	ln -s busybox "$out/bin/$t"
done

# /run/runit -> /tmp/runit: /tmp is world-writable (sticky), so any --user can create its
# files there, and podman --read-only mounts a tmpfs on it. The flag files runit looks
# for are links into it.
mkdir -p "$out/run" "$out/tmp" "$out/proc" "$out/dev" "$out/sys"
chmod 1777 "$out/tmp"
ln -s ../tmp/runit "$out/run/runit"
ln -s runit/stopit "$out/run/runit.stopit"
ln -s runit/reboot "$out/run/runit.reboot"
printf 'root:x:0:0:root:/:/bin/sh\napp:x:1000:1000:app:/tmp:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$out/etc/passwd"
printf 'root:x:0:\napp:x:1000:\nnogroup:x:65534:\n' >"$out/etc/group"
echo "$out"
