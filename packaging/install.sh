#!/bin/sh
# Installs runit-rs's programs, man pages, chpst's daemontools names and sv's bash
# completion in Debian's or Void's layout (spec: /work/shared/spec/additions.md §5, §6).
#
#   cargo build --release                                   # Debian layout (default)
#   sh packaging/install.sh [--destdir DIR]
#
#   cargo build --release --features runit-bins/void        # Void layout
#   sh packaging/install.sh --layout void [--destdir DIR]
#
# Options:
#   --layout debian|void   where files go (default debian; see docs/man/runit.8 LAYOUT)
#   --destdir DIR          install under DIR (staging root; also $DESTDIR). Default: /
#   --bindir DIR           the built binaries (default: target/release of this checkout)
#   --with-init            also link /sbin/init to runit-init (Debian's runit-init package)
#   --no-daemontools-names do not link envdir envuidgid pgrphack setuidgid softlimit setlock
#   --dry-run              print what would be installed, change nothing
# Exit: 0 done, 1 bad usage or missing/mismatched binaries, 111 a file operation failed.
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
layout=debian
destdir=${DESTDIR:-}
bindir=$here/target/release
with_init=0
dt_names=1
dry=0

die() { echo "install.sh: $*" >&2; exit 1; }
usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 1; }

while [ $# -gt 0 ]; do
  case $1 in
    --layout) [ $# -ge 2 ] || usage; layout=$2; shift 2 ;;
    --layout=*) layout=${1#*=}; shift ;;
    --destdir) [ $# -ge 2 ] || usage; destdir=$2; shift 2 ;;
    --destdir=*) destdir=${1#*=}; shift ;;
    --bindir) [ $# -ge 2 ] || usage; bindir=$2; shift 2 ;;
    --bindir=*) bindir=${1#*=}; shift ;;
    --with-init) with_init=1; shift ;;
    --no-daemontools-names) dt_names=0; shift ;;
    --dry-run) dry=1; shift ;;
    -h|--help) usage ;;
    *) echo "install.sh: unknown argument: $1" >&2; usage ;;
  esac
done
destdir=${destdir%/}

case $layout in
  debian)
    sbin_runit=/sbin/runit
    runit_init=/lib/runit/runit-init
    usr_bin="chpst runsv runsvdir sv svlogd"
    usr_sbin="runsvchdir utmpset"
    svdir=/etc/service
    ;;
  void)
    sbin_runit=/usr/bin/runit
    runit_init=/usr/bin/runit-init
    usr_bin="chpst runsv runsvdir sv svlogd runsvchdir utmpset"
    usr_sbin=""
    svdir=/var/service
    ;;
  *) die "unknown layout '$layout' (debian or void)" ;;
esac

# The binaries must exist and match the layout (the flag paths, sv's directory and
# chpst -C are chosen when building: docs/man/runit.8, LAYOUT).
for p in runit runit-init runsv runsvdir runsvchdir sv svlogd chpst utmpset; do
  [ -x "$bindir/$p" ] || die "missing $bindir/$p: build first with 'cargo build --release' (Void: add '--features runit-bins/void'), or give --bindir"
done
if "$bindir/chpst" -C / true >/dev/null 2>&1; then built=void; else built=debian; fi
if [ "$built" != "$layout" ]; then
  if [ "$layout" = void ]; then
    die "$bindir was built for the Debian layout; rebuild with: cargo build --release --features runit-bins/void"
  else
    die "$bindir was built for the Void layout; rebuild with: cargo build --release"
  fi
fi

run() {
  if [ "$dry" = 1 ]; then echo "$*"; else "$@" || { echo "install.sh: failed: $*" >&2; exit 111; }; fi
}
# install_file SRC DEST MODE
install_file() { run install -D -m "$3" "$1" "$destdir$2"; }
# link TARGET NAME (NAME is replaced if it is already a link; an existing file is kept)
link() {
  if [ -e "$destdir$2" ] && [ ! -L "$destdir$2" ]; then
    echo "install.sh: keeping existing $destdir$2 (not a link)" >&2
    return 0
  fi
  run mkdir -p "$(dirname "$destdir$2")"
  run ln -sfn "$1" "$destdir$2"
}

install_file "$bindir/runit" "$sbin_runit" 0755
install_file "$bindir/runit-init" "$runit_init" 0755
for p in $usr_bin; do install_file "$bindir/$p" "/usr/bin/$p" 0755; done
for p in $usr_sbin; do install_file "$bindir/$p" "/usr/sbin/$p" 0755; done

if [ "$dt_names" = 1 ]; then
  for n in envdir envuidgid pgrphack setuidgid softlimit setlock; do link chpst "/usr/bin/$n"; done
fi
if [ "$with_init" = 1 ]; then link "$runit_init" /sbin/init; fi
if [ "$layout" = void ]; then
  # Void's flag files live on tmpfs; the stage 1 script creates the targets each boot.
  link /run/runit/stopit /etc/runit/stopit
  link /run/runit/reboot /etc/runit/reboot
fi

# Man pages (all section 8, gzipped as Debian and Void ship them).
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for m in "$here"/docs/man/*.8; do
  n=$(basename "$m")
  gzip -9n <"$m" >"$tmp/$n.gz"
  install_file "$tmp/$n.gz" "/usr/share/man/man8/$n.gz" 0644
done
if [ "$dt_names" = 1 ]; then
  for n in envdir envuidgid pgrphack setuidgid softlimit setlock; do link chpst.8.gz "/usr/share/man/man8/$n.8.gz"; done
fi

sed "s|@SVDIR@|$svdir|" "$here/packaging/completions/sv.bash" >"$tmp/sv"
install_file "$tmp/sv" /usr/share/bash-completion/completions/sv 0644

[ "$dry" = 1 ] || echo "install.sh: installed runit-rs ($layout layout) under ${destdir:-/}"
