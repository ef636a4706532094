//! The Linux numbers `bare::exec::linux` writes down (runsv's executor has no libc) are
//! libc's: a wrong one would send the wrong signal or misread a file type.

use bare::exec::linux;

#[test]
fn signal_numbers_are_libcs() {
    let pairs = [
        (linux::SIGHUP, libc::SIGHUP),
        (linux::SIGINT, libc::SIGINT),
        (linux::SIGQUIT, libc::SIGQUIT),
        (linux::SIGABRT, libc::SIGABRT),
        (linux::SIGKILL, libc::SIGKILL),
        (linux::SIGUSR1, libc::SIGUSR1),
        (linux::SIGUSR2, libc::SIGUSR2),
        (linux::SIGPIPE, libc::SIGPIPE),
        (linux::SIGALRM, libc::SIGALRM),
        (linux::SIGTERM, libc::SIGTERM),
        (linux::SIGCHLD, libc::SIGCHLD),
        (linux::SIGCONT, libc::SIGCONT),
        (linux::SIGSTOP, libc::SIGSTOP),
    ];
    for (ours, libcs) in pairs {
        assert_eq!(ours, libcs);
    }
}

#[test]
fn mode_bits_and_errno_are_libcs() {
    assert_eq!(linux::S_IFMT, libc::S_IFMT);
    assert_eq!(linux::S_IFDIR, libc::S_IFDIR);
    assert_eq!(linux::S_IFIFO, libc::S_IFIFO);
    assert_eq!(linux::S_IXUSR, libc::S_IXUSR);
    assert_eq!(linux::ENOSYS, libc::ENOSYS);
    assert_eq!(linux::ERANGE, libc::ERANGE);
}
