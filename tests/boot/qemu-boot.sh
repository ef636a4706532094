#!/bin/sh
# A real kernel boot with runit-rs as PID 1, under qemu (software emulation).
#
#   tests/boot/qemu-boot.sh            # our runit (release build)
#   RUNIT_BOOT_INIT=oracle tests/boot/qemu-boot.sh   # Debian's runit, for comparison
#
# Builds an initramfs holding our binaries (release build, plus the shared libraries
# `ldd` names), busybox-static for the shell and small tools, and the fixtures in
# tests/boot/rootfs; boots a Debian cloud kernel with rdinit=/sbin/runit; stage 1
# mounts /proc, /sys, /dev; stage 2 is runsvdir with a service that is logged by
# svlogd; a second service calls `runit-init 0` once the first is up and logged;
# stage 3 stops the services; runit powers the VM off. Pass/fail is decided from the
# console transcript (qemu exits 0 on power-off, reboot and panic alike).
#
# Everything downloaded (qemu-system-x86 and the libraries this machine lacks, a
# linux-image-*-cloud-amd64 kernel, busybox-static, Debian's runit for the tools that
# are still stubs) goes into $RUNIT_BOOT_CACHE (default /tmp/runit-rs-boot) via
# `apt-get download` + `dpkg -x`; nothing is installed on the host.
#
# Environment: CARGO_TARGET_DIR (where the release build goes), RUNIT_BOOT_CACHE,
# RUNIT_BOOT_INIT=ours|oracle, RUNIT_BOOT_TIMEOUT (seconds, default 120),
# RUNIT_BOOT_KEEP=1 keeps the work directory.
# Exit status: 0 pass, 1 fail, 2 setup problem.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${RUNIT_BOOT_CACHE:-/tmp/runit-rs-boot}
target=${CARGO_TARGET_DIR:-$repo/target}
which_init=${RUNIT_BOOT_INIT:-ours}
limit=${RUNIT_BOOT_TIMEOUT:-120}
work=$(mktemp -d "${TMPDIR:-/tmp}/runit-boot.XXXXXX")
trap '[ "${RUNIT_BOOT_KEEP:-}" = 1 ] || rm -rf "$work"' EXIT

say() { echo "qemu-boot: $*" >&2; }
die() { say "$*"; exit 2; }

# --- 1. the packages ---------------------------------------------------------------
mkdir -p "$cache/debs" "$cache/root"
fetch() { # fetch PKG...: download and unpack packages not yet in the cache
    for p in "$@"; do
        if [ ! -e "$cache/debs/.$p" ]; then
            (cd "$cache/debs" && apt-get download "$p" >/dev/null 2>&1) || die "apt-get download $p failed"
            for d in "$cache/debs/${p}_"*.deb; do dpkg -x "$d" "$cache/root"; done
            touch "$cache/debs/.$p"
        fi
    done
}
not_installed() { # the packages among "$@" that the host lacks
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || echo "$p"
    done
}
if [ ! -e "$cache/.ready" ]; then
    say "fetching qemu, kernel, busybox into $cache"
    deps=$(apt-cache depends qemu-system-x86 | awk '/^  Depends:/ {print $2}' | grep -v '^<')
    # qemu's own dependencies' dependencies that a build machine often lacks.
    fetch qemu-system-x86 busybox-static $(not_installed $deps libndctl6 libdaxctl1 libnl-3-200 libnl-route-3-200)
    kernel=$(apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-cloud-amd64$' | awk '{print $1}' | sort -V | tail -1)
    [ -n "$kernel" ] || die "no linux-image-*-cloud-amd64 package found"
    fetch "$kernel"
    touch "$cache/.ready"
fi
qemu=$cache/root/usr/bin/qemu-system-x86_64
vmlinuz=$(ls "$cache"/root/boot/vmlinuz-* | tail -1)
busybox=$cache/root/bin/busybox
libs=$cache/root/usr/lib/x86_64-linux-gnu:$cache/root/lib/x86_64-linux-gnu
[ -x "$qemu" ] && [ -f "$vmlinuz" ] && [ -x "$busybox" ] || die "cache $cache incomplete (remove it and retry)"

# --- 2. the binaries ----------------------------------------------------------------
say "building release binaries"
# A failed build is a failure, not a setup problem (exit 2 counts as a skip in .ci/run).
(cd "$repo" && cargo build -q --release -p runit-bins --bins) || { say "cargo build failed"; exit 1; }
bins=$target/release
is_stub() { "$1" </dev/null 2>&1 | grep -q 'not implemented yet'; }
oracle=""
need_oracle() {
    if [ -z "$oracle" ]; then
        oracle=$cache/oracle
        if [ ! -e "$oracle/.unpacked" ]; then
            mkdir -p "$oracle"
            (cd "$cache/debs" && apt-get download runit >/dev/null 2>&1) || die "apt-get download runit failed"
            dpkg -x "$(ls "$cache"/debs/runit_*.deb | tail -1)" "$oracle"
            touch "$oracle/.unpacked"
        fi
    fi
}

# --- 3. the initramfs ---------------------------------------------------------------
img=$work/img
mkdir -p "$img"/bin "$img"/sbin "$img"/usr/bin "$img"/proc "$img"/sys "$img"/dev "$img"/run "$img"/tmp "$img"/var/log
cp -a "$here/rootfs/." "$img/"
cp "$busybox" "$img/bin/busybox"
# Only the applets the fixtures use: busybox also has runit applets (sv, runsv, ...)
# which must not shadow ours.
for a in sh mount mkdir touch chmod echo cat grep sleep env ls ps kill; do ln -s busybox "$img/bin/$a"; done
ln -s ../../bin/env "$img/usr/bin/env"
used=""
put() { # put SRC DEST: copy a binary and remember it for the library scan
    cp "$1" "$img$2"; chmod 755 "$img$2"; used="$used $img$2"
}
if [ "$which_init" = oracle ]; then
    need_oracle
    put "$oracle/sbin/runit" /sbin/runit
    say "PID 1: Debian's runit"
else
    put "$bins/runit" /sbin/runit
    say "PID 1: runit-rs"
fi
put "$bins/runit-init" /sbin/runit-init
for t in runsvdir runsv sv svlogd; do
    if [ "$which_init" != oracle ] && ! is_stub "$bins/$t"; then
        put "$bins/$t" "/usr/bin/$t"
    else
        need_oracle
        put "$oracle/usr/bin/$t" "/usr/bin/$t"
        [ "$which_init" = oracle ] || say "$t: ours is still a stub, using Debian's"
    fi
done
for f in $used; do
    ldd "$f" 2>/dev/null | awk '/=>/ {print $3} /^[[:space:]]*\/lib/ {print $1}' | while read -r lib; do
        [ -f "$lib" ] || continue
        mkdir -p "$img$(dirname "$lib")"
        cp -L "$lib" "$img$lib"
    done
done
mknod "$img/dev/console" c 5 1
mknod "$img/dev/null" c 1 3
(cd "$img" && find . | "$busybox" cpio -o -H newc 2>/dev/null) >"$work/initrd.cpio" || die "cpio failed"

# --- 4. boot ------------------------------------------------------------------------
say "booting $(basename "$vmlinuz") ($(du -k "$work/initrd.cpio" | cut -f1) KiB initramfs)"
start=$(date +%s.%N)
set +e
LD_LIBRARY_PATH=$libs QEMU_MODULE_DIR=$cache/root/usr/lib/x86_64-linux-gnu/qemu \
timeout -s KILL "$limit" "$qemu" -L "$cache/root/usr/share/qemu" -L "$cache/root/usr/share/seabios" \
    -machine pc -accel tcg -smp 1 -m 256 -nodefaults -display none -serial stdio -no-reboot \
    -kernel "$vmlinuz" -initrd "$work/initrd.cpio" \
    -append 'console=ttyS0 rdinit=/sbin/runit panic=-1 quiet' </dev/null >"$work/console.log" 2>&1
rc=$?
set -e
end=$(date +%s.%N)
elapsed=$(echo "$start $end" | awk '{printf "%.1f", $2 - $1}')
tr -d '\r' <"$work/console.log" >"$work/console.txt"
cat "$work/console.txt"

# --- 5. verdict ---------------------------------------------------------------------
fail=0
expect() {
    if ! grep -qF -- "$1" "$work/console.txt"; then say "MISSING: $1"; fail=1; fi
}
expect "- runit: enter stage: /etc/runit/1"
expect "boot-test: stage 1 done"
expect "- runit: enter stage: /etc/runit/2"
expect "boot-test: sv status: run: /etc/service/hello: (pid"
expect "hello-service up (pid"
expect "- runit: leave stage: /etc/runit/2"
expect "boot-test: stage 3 done"
expect "- runit: leave stage: /etc/runit/3"
expect "- runit: sending KILL signal to all processes..."
expect "- runit: power off..."
expect "reboot: Power down"
if grep -q 'Kernel panic' "$work/console.txt"; then say "kernel panic"; fail=1; fi
if grep -q 'boot-test: FAIL' "$work/console.txt"; then fail=1; fi
[ $rc -eq 0 ] || { say "qemu exit status $rc (137 = timed out after ${limit}s)"; fail=1; }
if [ $fail -eq 0 ]; then
    say "PASS: boot to power-off in ${elapsed} s (init: $which_init)"
else
    say "FAIL after ${elapsed} s"
fi
exit $fail
