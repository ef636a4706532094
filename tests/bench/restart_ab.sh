#!/usr/bin/env bash
# Restart latency after kill -9, A/B: the given runsv binaries side by side with two C
# floors and Debian's runsv (the reference, last), in one interleaved run.
#
#   bash tests/bench/restart_ab.sh [kills] [runsv...]   (as root; default: this tree's release runsv)
#
# floor-vfork: a C supervisor that only waitpid()s and vfork()+execve()s ./run again;
# floor-status: the same, writing runit's "down" status (pid, stat, status: temp file +
# rename) before each vfork. Debian's runit 2.1.2 is fetched as in footprint.sh.
# Run it under `chrt -f 10` on a loaded machine. Service directories on tmpfs.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
kills=${1:-40}; shift || true
if [ $# -eq 0 ]; then
  (cd "$root" && cargo build --release -q -p runit-bins)
  set -- "${CARGO_TARGET_DIR:-$root/target}/release/runsv"
fi
cache=${RUNIT_ORACLE_DIR:-/tmp/runit-rs-oracle}
mkdir -p "$cache"
if [ ! -e "$cache/runit/.unpacked" ]; then
  (cd "$cache" && apt-get download runit >/dev/null 2>&1 && dpkg -x runit_*.deb runit && touch runit/.unpacked)
fi
work=$(mktemp -d "${BENCH_TMP:-/dev/shm}/runit-bench-restart.XXXXXX")
trap 'rm -rf "$work"' EXIT
cat > "$work/stamper.c" <<'C'
#include <stdio.h>
#include <time.h>
#include <unistd.h>
int main(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);
FILE*f=fopen("stamp.new","w");if(!f)return 111;
fprintf(f,"%lld %d\n",(long long)t.tv_sec*1000000000LL+t.tv_nsec,(int)getpid());fclose(f);
rename("stamp.new","stamp");for(;;)pause();}
C
cat > "$work/floor.c" <<'C'
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
static void put(const char *tmp, const char *dst, const char *b, int n)
{ int fd = open(tmp, O_WRONLY|O_CREAT|O_TRUNC|O_NONBLOCK, 0644); if (n) write(fd, b, n); close(fd); rename(tmp, dst); }
int main(int c, char **v) {
  extern char **environ; char *a[] = {"./run", 0};
  if (c < 2 || chdir(v[1])) return 1;
  mkdir("supervise", 0700);
  for (;;) {
    if (STATUS) { put("supervise/pid.new", "supervise/pid", "", 0); put("supervise/stat.new", "supervise/stat", "down\n", 5);
                  put("supervise/status.new", "supervise/status", "01234567890123456789", 20); }
    pid_t p = vfork();
    if (p == 0) { execve("./run", a, environ); _exit(111); }
    int st; if (p < 0 || waitpid(p, &st, 0) < 0) return 2;
  }
}
C
# floor-wake-signal / floor-wake-pidfd: status + vfork + the "run" status write, then wait
# for the child as a supervisor with an event loop does: a SIGCHLD handler bumping an eventfd
# and ppoll (runit's way and runit-rs's), or ppoll on a pidfd (no signal at all).
cat > "$work/wake.c" <<'C'
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
static int efd;
static void put(const char *tmp, const char *dst, const char *b, int n)
{ int fd = open(tmp, O_WRONLY|O_CREAT|O_TRUNC|O_NONBLOCK, 0644); if (n) write(fd, b, n); close(fd); rename(tmp, dst); }
static void h(int s){ uint64_t one=1; (void)s; write(efd,&one,8); }
int main(int c, char **v) {
  extern char **environ; char *a[] = {"./run", 0};
  if (c < 2 || chdir(v[1])) return 1;
  mkdir("supervise", 0700);
  efd = eventfd(0, EFD_NONBLOCK|EFD_CLOEXEC);
  sigset_t chld, empty; sigemptyset(&chld); sigaddset(&chld, SIGCHLD); sigemptyset(&empty);
  if (MODE == 1) { struct sigaction sa = {0}; sa.sa_handler = h; sigfillset(&sa.sa_mask); sigaction(SIGCHLD, &sa, 0); sigprocmask(SIG_BLOCK, &chld, 0); }
  for (;;) {
    put("supervise/pid.new", "supervise/pid", "", 0); put("supervise/stat.new", "supervise/stat", "down\n", 5);
    put("supervise/status.new", "supervise/status", "01234567890123456789", 20);
    pid_t p = vfork();
    if (p == 0) { execve("./run", a, environ); _exit(111); }
    if (p < 0) return 2;
    put("supervise/pid.new", "supervise/pid", "123\n", 4); put("supervise/stat.new", "supervise/stat", "run\n", 4);
    put("supervise/status.new", "supervise/status", "01234567890123456789", 20);
    int st;
    if (MODE == 1) {
      for (;;) { struct pollfd pf = {efd, POLLIN, 0}; ppoll(&pf, 1, 0, &empty); uint64_t x; read(efd, &x, 8);
        if (wait4(-1, &st, WNOHANG, 0) == p) break; }
    } else {
      int pfd = syscall(SYS_pidfd_open, p, 0);
      struct pollfd pf = {pfd, POLLIN, 0}; ppoll(&pf, 1, 0, &empty); wait4(p, &st, WNOHANG, 0); close(pfd);
    }
  }
}
C
cc -O2 -DMODE=1 -o "$work/floor-wake-signal" "$work/wake.c"
cc -O2 -DMODE=2 -o "$work/floor-wake-pidfd" "$work/wake.c"
cc -O2 -o "$work/stamper" "$work/stamper.c"
cc -O2 -DSTATUS=0 -o "$work/floor-vfork" "$work/floor.c"
cc -O2 -DSTATUS=1 -o "$work/floor-status" "$work/floor.c"
echo "restart A/B, $(date -u '+%F %H:%M UTC'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $kills kills each"
python3 "$root/tests/bench/restart_ab.py" "$kills" "$work" "$work/stamper" "$@" "$work/floor-wake-signal" "$work/floor-wake-pidfd" "$work/floor-vfork" "$work/floor-status" "$cache/runit/usr/bin/runsv"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
