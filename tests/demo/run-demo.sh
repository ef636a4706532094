#!/usr/bin/env bash
# The demo: build runit-rs, supervise the example service directory shipped in
# tests/demo/services/ with runsvdir (one runsv per service, each with its log service),
# show `sv status` and the log svlogd writes, then shut everything down cleanly.
# Everything happens in a temporary directory; nothing outside it is touched.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
# RUNIT_BIN_DIR: use already-built binaries (the e2e test runs the demo this way).
if [ -n "${RUNIT_BIN_DIR:-}" ]; then
  bin="$RUNIT_BIN_DIR"
else
  cargo build --release -q -p runit-bins --bins
  bin="$root/target/release"
fi
work="$(mktemp -d "${TMPDIR:-/tmp}/runit-rs-demo.XXXXXX")"
cp -r tests/demo/services "$work/services"
export PATH="$bin:$PATH" SVDIR="$work/services"
echo "== supervising $work/services with runsvdir"
runsvdir -P "$work/services" &
rsd=$!
trap 'kill -TERM $rsd 2>/dev/null || true; wait $rsd 2>/dev/null || true' EXIT
for _ in $(seq 1 200); do
  sv status hello 2>/dev/null | grep -q '^run: .*; run: log:' && break
  sleep 0.05
done
echo "== sv status hello"
sv status hello
sleep 3
echo "== $work/services/hello/log/main/current (written by svlogd -tt)"
cat "$work/services/hello/log/main/current"
echo "== sv restart hello"
sv restart hello
echo "== stopping: SIGTERM to runsvdir, then sv exit for each service"
kill -TERM $rsd; wait $rsd 2>/dev/null || true
sv -w 5 exit hello
trap - EXIT
echo "== done; files left in $work"
