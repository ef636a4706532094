#!/bin/sh
# The example container (examples/container) in a real OCI runtime: podman + runc from
# Debian's packages, the image built locally (FROM scratch, no registry pull). Checks:
#   1. services up (sv status inside), a crash-looping service restarted;
#   2. `podman stop` -> stage 3 -> exit code 0, within the stop budget;
#   3. a container command: stage 2 runs it, its exit code is the container's;
#   4. --read-only root (supervise links into the tmpfs), and a non-root --user with it;
#   5. Ctrl-C in `podman run -it` (through script(1)'s pty) -> ctrlaltdel -> stage 3;
#   6. bad input: unusable service directories -> a clear message and exit 100, no loop;
#      arguments runit does not use -> a warning.
# Usage: sh tests/container/podman-test.sh   (as root; CARGO_TARGET_DIR honoured)
# Exit status: 0 pass, 1 fail, 2 could not set up (packages, runtime): reported, skipped.
set -u
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
target=${CARGO_TARGET_DIR:-$repo/target}
image=runit-rs-example-test
P="podman --runtime runc --cgroup-manager cgroupfs"
# This sandbox lacks CAP_SYS_RESOURCE: keep the limits at what it already has.
R="--ulimit nofile=1024:1024 --ulimit nproc=4000:4000"
work=$(mktemp -d "${TMPDIR:-/tmp}/runit-container.XXXXXX")
names=""
cleanup() {
	for n in $names; do $P rm -f "$n" >/dev/null 2>&1; done
	$P rmi -f "$image" >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT

say() { echo "container-test: $*" >&2; }
skip() { say "SKIP: $*"; exit 2; }
failures=0
fail() { say "FAIL: $*"; failures=$((failures + 1)); }
pass() { say "ok: $*"; }
# poll N CMD...: run CMD every 0.2 s until it succeeds, at most N times.
poll() {
	n=$1; shift
	i=0
	while [ "$i" -lt "$n" ]; do
		"$@" >/dev/null 2>&1 && return 0
		i=$((i + 1))
		sleep 0.2
	done
	return 1
}

# --- set up ------------------------------------------------------------------------
if ! command -v podman >/dev/null || ! command -v runc >/dev/null; then
	say "installing podman and runc (Debian packages)"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q podman runc >"$work/apt.log" 2>&1 ||
		skip "apt-get install podman runc failed (see the log above)"
fi
command -v script >/dev/null || skip "script(1) not found (util-linux)"
(cd "$repo" && CARGO_TARGET_DIR=$target cargo build --release -q -p runit-bins --bins) || { say "FAIL: release build"; exit 1; }
sh "$repo/examples/container/build-rootfs.sh" --bindir "$target/release" "$work/ctx/rootfs-built" >/dev/null
case $? in 0) ;; 2) skip "no static busybox for the image" ;; *) say "FAIL: build-rootfs.sh"; exit 1 ;; esac
cp "$repo/examples/container/Containerfile" "$work/ctx/"
$P build -q -t "$image" -f "$work/ctx/Containerfile" "$work/ctx" >"$work/build.log" 2>&1 ||
	{ cat "$work/build.log" >&2; skip "podman build failed"; }
# Can the runtime start a container at all? (exit 125/126/127: podman or runc could not.)
$P run --rm $R --entrypoint /bin/true "$image" >"$work/probe.log" 2>&1 ||
	{ cat "$work/probe.log" >&2; skip "the OCI runtime cannot start a container here"; }

# run NAME ARGS...: start a detached container, remembered for cleanup.
run() { name=$1; shift; names="$names $name"; $P run -d --name "$name" $R "$@" >/dev/null; }
exit_code() { $P inspect -f '{{.State.ExitCode}}' "$1"; }
up() { $P exec "$1" sv status /etc/service/hello | grep -q '^run: .*; run: log: '; }
restarted() { [ "$($P exec "$1" cat /run/runit/crashy.count 2>/dev/null || echo 0)" -ge 3 ]; }

# --- 1, 2: services, a crash loop, podman stop ------------------------------------
run c-basic "$image"
if poll 100 up c-basic; then pass "services up"; else fail "hello not up: $($P logs c-basic 2>&1 | tail -5)"; fi
if poll 100 restarted c-basic; then pass "crashing service restarted (3 starts)"; else fail "crashy not restarted"; fi
start=$(date +%s)
$P stop -t 10 c-basic >/dev/null
took=$(($(date +%s) - start))
logs=$($P logs c-basic 2>&1)
code=$(exit_code c-basic)
case $logs in *"enter stage: /etc/runit/3"*"- runit: exit 0."*) pass "podman stop ran stage 3 (${took}s)" ;; *) fail "no stage 3 on stop: $logs" ;; esac
[ "$code" = 0 ] && pass "exit code 0 after stop" || fail "exit code $code after stop"
[ "$took" -lt 10 ] || fail "stop took ${took}s: over podman's 10 s grace period"

# --- 3: the container command ----------------------------------------------------------
names="$names c-cmd"
$P run --name c-cmd $R "$image" sh -c 'echo "cmd: running"; exit 7' >"$work/cmd.log" 2>&1
code=$?
grep -q "cmd: running" "$work/cmd.log" && grep -q "enter stage: /etc/runit/3" "$work/cmd.log" && [ "$code" = 7 ] &&
	pass "container command ran, stage 3 ran, exit code 7 passed on" || fail "command: exit $code: $(cat "$work/cmd.log")"

# --- 4: read-only root; non-root user ------------------------------------------------
run c-ro --read-only "$image"
run c-user --read-only --user 1000:1000 "$image"
for c in c-ro c-user; do
	if poll 100 up "$c"; then pass "$c: services up"; else fail "$c: not up: $($P logs "$c" 2>&1 | tail -5)"; fi
	poll 100 restarted "$c" || fail "$c: crashy not restarted"
	if [ "$c" = c-user ]; then
		uid_logged() { $P exec c-user cat /run/runit/log.hello/current | grep -q "hello: up as uid 1000"; }
		poll 50 uid_logged && pass "c-user: services run as uid 1000, logged by svlogd" || fail "c-user: no uid 1000 line"
	fi
	$P stop -t 10 "$c" >/dev/null
	code=$(exit_code "$c")
	[ "$code" = 0 ] && pass "$c: stopped, exit 0" || fail "$c: exit code $code: $($P logs "$c" 2>&1 | tail -5)"
done

# --- 5: Ctrl-C with -it ---------------------------------------------------------------
mkfifo "$work/tty-in"
names="$names c-tty"
(script -qfec "$P run -it --name c-tty $R $image" /dev/null <"$work/tty-in" >"$work/tty.out" 2>&1; echo "script-exit $?" >>"$work/tty.out") &
exec 3>"$work/tty-in"
if poll 100 up c-tty; then
	printf '\003' >&3
	poll 100 grep -q "script-exit" "$work/tty.out"
	if grep -q "ctrl-alt-del request" "$work/tty.out" && grep -q "enter stage: /etc/runit/3" "$work/tty.out" && [ "$(exit_code c-tty)" = 0 ]; then
		pass "Ctrl-C in -it: ctrlaltdel, stage 3, exit 0"
	else
		fail "Ctrl-C: $(tr -d '\r' <"$work/tty.out" | tail -8)"
	fi
else
	fail "c-tty not up: $(tr -d '\r' <"$work/tty.out" | tail -5)"
fi
exec 3>&-
wait

# --- 6: bad input ------------------------------------------------------------------------
mkdir -p "$work/bad/norun" "$work/bad/rosvc"
: >"$work/bad/afile"
printf '#!/bin/sh\nexec sleep 100\n' >"$work/bad/rosvc/run"
chmod 755 "$work/bad/rosvc/run"
names="$names c-bad"
timeout 60 $P run --name c-bad $R -v "$work/bad:/etc/service:ro" "$image" >"$work/bad.log" 2>&1
code=$?
for m in "afile is not a service directory" "norun has no executable ./run" "rosvc is read-only and has no supervise directory" "- runit: exit 100."; do
	grep -qF -- "$m" "$work/bad.log" || fail "bad input: no '$m' in: $(cat "$work/bad.log")"
done
[ "$code" = 100 ] && pass "unusable service directories: clear messages, exit 100" || fail "bad input: exit $code"
names="$names c-args"
$P run --name c-args $R --entrypoint /sbin/runit "$image" -x --bogus >"$work/args.log" 2>&1 &
poll 100 $P exec c-args true
$P stop -t 10 c-args >/dev/null 2>&1
wait
grep -qF -- "- runit: warning: ignoring arguments: -x --bogus:" "$work/args.log" &&
	pass "unused arguments: warned" || fail "no warning for unused arguments: $(cat "$work/args.log")"

if [ "$failures" = 0 ]; then say "all checks passed"; exit 0; fi
say "$failures check(s) failed"
exit 1
