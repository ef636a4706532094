#!/bin/sh
# Builds runit-rs's Debian packages from already-built binaries, with dpkg-deb only
# (part of dpkg on every Debian system: no extra toolchain, nothing downloaded).
#
#   cargo build --release
#   sh packaging/deb/build-deb.sh [--bindir target/release] [--out DIR] [--compress xz|gzip|none]
#
# Three packages, split as Debian splits runit (spec/additions.md §5):
#   runit-rs                    Debian runit's layout: /sbin/runit, /lib/runit/runit-init,
#                               /usr/bin/{chpst,runsv,runsvdir,sv,svlogd},
#                               /usr/sbin/{runsvchdir,utmpset}, stage scripts, /etc/service,
#                               man pages, bash completion. Provides runit (= 2.1.2-54),
#                               Conflicts/Replaces runit: it takes runit's place.
#   runit-rs-init               /sbin/init -> /lib/runit/runit-init (as Debian's runit-init).
#   runit-rs-daemontools-names  envdir envuidgid pgrphack setuidgid softlimit setlock as
#                               links to chpst. Debian ships these names only in daemontools
#                               (its own programs), so this is a separate package that
#                               conflicts with daemontools.
# Prints the paths of the .deb files it wrote. Exit 1 on bad usage or missing binaries.
set -eu

here=$(cd "$(dirname "$0")/../.." && pwd)
bindir=$here/target/release
out=$here/target/deb
compress=xz
while [ $# -gt 0 ]; do
  case $1 in
    --bindir) bindir=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --compress) compress=$2; shift 2 ;;
    *) echo "build-deb.sh: unknown argument: $1 (--bindir DIR, --out DIR)" >&2; exit 1 ;;
  esac
done
command -v dpkg-deb >/dev/null || { echo "build-deb.sh: dpkg-deb not found (Debian's dpkg package)" >&2; exit 1; }

version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$here/Cargo.toml" | head -n 1)
commit=$(git -C "$here" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
debversion=$version-1
arch=$(dpkg --print-architecture)
maint="runit-rs developers <runit-rs@localhost>"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$out"

# Depends: the C library version the binaries need (none when statically linked).
libc_dep() {
  need=""
  for b in "$bindir"/runit "$bindir"/runsv "$bindir"/sv "$bindir"/chpst "$bindir"/svlogd "$bindir"/runsvdir "$bindir"/runit-init "$bindir"/runsvchdir "$bindir"/utmpset; do
    if readelf -d "$b" 2>/dev/null | grep -q 'NEEDED.*libc\.so\.6'; then
      v=$(objdump -T "$b" | sed -n 's/.*GLIBC_\([0-9][0-9.]*\).*/\1/p' | sort -t. -k1,1n -k2,2n | tail -n 1)
      need=$(printf '%s\n%s\n' "$need" "$v" | sed '/^$/d' | sort -t. -k1,1n -k2,2n | tail -n 1)
    fi
  done
  [ -n "$need" ] && echo "libc6 (>= $need)"
  return 0
}

control() { # package dir, then the control fields on stdin
  mkdir -p "$1/DEBIAN"
  cat >"$1/DEBIAN/control"
  size=$(du -sk --exclude=DEBIAN "$1" | cut -f1)
  echo "Installed-Size: $size" >>"$1/DEBIAN/control"
}

doc() { # package dir, package name
  mkdir -p "$1/usr/share/doc/$2"
  cat >"$1/usr/share/doc/$2/copyright" <<EOF
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: runit-rs
Comment: A Rust reimplementation of runit 2.1.2 (Gerrit Pape, BSD-3-Clause).
 Built from commit $commit.

Files: *
License: BSD-3-Clause
EOF
}

# --- runit-rs ---------------------------------------------------------------------
p=$stage/runit-rs
sh "$here/packaging/install.sh" --layout debian --destdir "$p" --bindir "$bindir" --no-daemontools-names >/dev/null
install -d "$p/etc/runit/runsvdir/default" "$p/etc/runit/runsvdir/single" "$p/etc/runit/runsvdir/solo" "$p/etc/runit/runsvdir/svmanaged" "$p/etc/sv"
for f in 1 2 3 ctrlaltdel; do install -m 0755 "$here/packaging/deb/etc/runit/$f" "$p/etc/runit/$f"; done
ln -s runit/runsvdir/current "$p/etc/service"
doc "$p" runit-rs
deps=$(libc_dep)
{
  echo "Package: runit-rs"
  echo "Version: $debversion"
  echo "Architecture: $arch"
  echo "Maintainer: $maint"
  [ -n "$deps" ] && echo "Depends: $deps"
  echo "Recommends: runit-rs-init"
  echo "Provides: runit (= 2.1.2-54)"
  echo "Conflicts: runit"
  echo "Replaces: runit"
  echo "Section: admin"
  echo "Priority: optional"
  echo "Homepage: http://smarden.org/runit/"
  echo "Description: system-wide service supervision (runit 2.1.2 in Rust)"
  echo " runit-rs is a drop-in reimplementation of runit 2.1.2 (runit, runit-init,"
  echo " runsv, runsvdir, runsvchdir, sv, svlogd, chpst, utmpset), compatible byte"
  echo " for byte with Debian's runit 2.1.2-54 (status files, FIFOs, output, exit"
  echo " codes). It installs in Debian runit's layout and replaces the runit package."
  echo " Built from commit $commit."
} | control "$p"
printf '/etc/runit/1\n/etc/runit/2\n/etc/runit/3\n/etc/runit/ctrlaltdel\n' >"$p/DEBIAN/conffiles"
# Maintainer scripts honour DPKG_ROOT (dpkg --root with --force-script-chrootless).
cat >"$p/DEBIAN/postinst" <<'EOF'
#!/bin/sh
set -e
if [ "$1" = configure ] && [ ! -e "$DPKG_ROOT/etc/runit/runsvdir/current" ] && [ ! -L "$DPKG_ROOT/etc/runit/runsvdir/current" ]; then
  ln -s default "$DPKG_ROOT/etc/runit/runsvdir/current"
fi
exit 0
EOF
cat >"$p/DEBIAN/postrm" <<'EOF'
#!/bin/sh
set -e
if [ "$1" = purge ]; then
  rm -f "$DPKG_ROOT/etc/runit/runsvdir/current" "$DPKG_ROOT/etc/runit/runsvdir/previous"
  rmdir "$DPKG_ROOT/etc/runit/runsvdir" "$DPKG_ROOT/etc/runit" 2>/dev/null || true
fi
exit 0
EOF
chmod 0755 "$p/DEBIAN/postinst" "$p/DEBIAN/postrm"

# --- runit-rs-init ----------------------------------------------------------------
q=$stage/runit-rs-init
install -d "$q/sbin" "$q/usr/share/man/man8"
ln -s /lib/runit/runit-init "$q/sbin/init"
ln -s runit-init.8.gz "$q/usr/share/man/man8/init.8.gz"
doc "$q" runit-rs-init
control "$q" <<EOF
Package: runit-rs-init
Version: $debversion
Architecture: $arch
Maintainer: $maint
Depends: runit-rs (= $debversion)
Provides: runit-init
Conflicts: runit-init, sysvinit-core, systemd-sysv
Replaces: runit-init, sysvinit-core, systemd-sysv
Section: admin
Priority: optional
Description: runit-rs as the init system (/sbin/init)
 Makes runit-rs's runit-init the system's /sbin/init, as Debian's runit-init
 package does for runit. Remove the 'init' metapackage first (Debian bug #1005881).
EOF

# --- runit-rs-daemontools-names -----------------------------------------------------
d=$stage/runit-rs-daemontools-names
install -d "$d/usr/bin" "$d/usr/share/man/man8"
for n in envdir envuidgid pgrphack setuidgid softlimit setlock; do
  ln -s chpst "$d/usr/bin/$n"
  ln -s chpst.8.gz "$d/usr/share/man/man8/$n.8.gz"
done
doc "$d" runit-rs-daemontools-names
control "$d" <<EOF
Package: runit-rs-daemontools-names
Version: $debversion
Architecture: $arch
Maintainer: $maint
Depends: runit-rs (= $debversion)
Conflicts: daemontools
Section: admin
Priority: optional
Description: daemontools program names for runit-rs's chpst
 Links envdir, envuidgid, pgrphack, setuidgid, softlimit and setlock to chpst,
 which behaves like the daemontools program of the name it is called by.
EOF

for pkg in "$p" "$q" "$d"; do
  name=$(basename "$pkg")
  deb=$out/${name}_${debversion}_$arch.deb
  dpkg-deb --root-owner-group -Z"$compress" --build "$pkg" "$deb" >/dev/null
  echo "$deb"
done
