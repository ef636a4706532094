//! runit's console messages (spec/init.md §1) as data, and the paths it names.
//!
//! Every line is `- runit: <text>`, `- runit: warning: <text>` or
//! `- runit: fatal: <text>`; the exact texts are part of the interface (people grep
//! boot logs for them), so they are produced here and tested against the spec.

use alloc::vec::Vec;

use crate::errno::Errno;

use super::{Script, StageId};

/// The version id runit prints when booting (any id is acceptable; this is 2.1.2's).
pub const VERSION_ID: &[u8] = b"$Id: 25da3b86f7bed4038b8a039d2f8e8c9bbcf0822b $";

/// Debian's (the oracle's) file names. A pure-upstream build changes `STOPIT` and
/// `REBOOT` to `/etc/runit/stopit` and `/etc/runit/reboot`.
pub mod paths {
    /// Stage 1.
    pub const STAGE1: &[u8] = b"/etc/runit/1";
    /// Stage 2.
    pub const STAGE2: &[u8] = b"/etc/runit/2";
    /// Stage 3.
    pub const STAGE3: &[u8] = b"/etc/runit/3";
    /// The ctrl-alt-del script.
    pub const CTRLALTDEL: &[u8] = b"/etc/runit/ctrlaltdel";
    /// [deb] The stop flag (upstream `/etc/runit/stopit`).
    pub const STOPIT: &[u8] = b"/run/runit.stopit";
    /// [deb] The reboot flag (upstream `/etc/runit/reboot`).
    pub const REBOOT: &[u8] = b"/run/runit.reboot";
    /// [deb] The no-sync flag.
    pub const NOSYNC: &[u8] = b"/etc/runit/nosync";
    /// The console.
    pub const CONSOLE: &[u8] = b"/dev/console";
    /// What runit-init execs when it is PID 1.
    pub const RUNIT: &[u8] = b"/sbin/runit";
    /// [void] The stop flag (upstream's path; Void links it to `/run/runit/stopit`).
    pub const VOID_STOPIT: &[u8] = b"/etc/runit/stopit";
    /// [void] The reboot flag (Void links it to `/run/runit/reboot`).
    pub const VOID_REBOOT: &[u8] = b"/etc/runit/reboot";
    /// [void] runit's binary (Void installs every tool in `/usr/bin`).
    pub const VOID_RUNIT: &[u8] = b"/usr/bin/runit";
}

/// Whose file layout a build follows (spec/additions.md §6.3). Chosen when the binaries
/// are built (`bins` feature `void`); Debian's is the default and the reference.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Layout {
    /// Debian 2.1.2-54: flags `/run/runit.stopit` and `/run/runit.reboot`, `/sbin/runit`,
    /// `sv` looks in `/etc/service/`, chpst has no `-C`.
    Debian,
    /// Void: upstream's flags `/etc/runit/stopit` and `/etc/runit/reboot` (Void links them
    /// into `/run/runit/`), `/usr/bin/runit`, `sv` looks in `/var/service/`, chpst `-C`.
    Void,
}

impl Layout {
    /// `sv`'s directory for bare service names when `SVDIR` is unset.
    pub fn svdir(self) -> &'static [u8] {
        match self {
            Layout::Debian => b"/etc/service/",
            Layout::Void => b"/var/service/",
        }
    }
}

/// The files runit and runit-init use, as values (so tests can move them under a
/// private root; the model never looks at the environment).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Paths {
    /// `/etc/runit/1`.
    pub stage1: Vec<u8>,
    /// `/etc/runit/2`.
    pub stage2: Vec<u8>,
    /// `/etc/runit/3`.
    pub stage3: Vec<u8>,
    /// `/etc/runit/ctrlaltdel`.
    pub ctrlaltdel: Vec<u8>,
    /// The stop flag.
    pub stopit: Vec<u8>,
    /// The reboot flag.
    pub reboot: Vec<u8>,
    /// The no-sync flag.
    pub nosync: Vec<u8>,
    /// The console device.
    pub console: Vec<u8>,
    /// runit's own binary (runit-init execs it).
    pub runit: Vec<u8>,
}

impl Default for Paths {
    fn default() -> Paths {
        Paths::under(b"")
    }
}

impl Paths {
    /// Every path prefixed with `root` (empty = the real paths). A trailing `/` on the
    /// root is dropped so `root` + `/etc/...` has one separator.
    pub fn under(root: &[u8]) -> Paths {
        Paths::of(Layout::Debian, root)
    }

    /// [`Paths::under`] for a given [`Layout`]: only the flag files and runit's own path
    /// differ (the stage scripts, ctrlaltdel, nosync and the console are the same).
    pub fn of(layout: Layout, root: &[u8]) -> Paths {
        let mut r = root;
        while let [rest @ .., b'/'] = r {
            r = rest;
        }
        let j = |p: &[u8]| {
            let mut v = Vec::with_capacity(r.len() + p.len());
            v.extend_from_slice(r);
            v.extend_from_slice(p);
            v
        };
        let (stopit, reboot, runit) = match layout {
            Layout::Debian => (paths::STOPIT, paths::REBOOT, paths::RUNIT),
            Layout::Void => (paths::VOID_STOPIT, paths::VOID_REBOOT, paths::VOID_RUNIT),
        };
        Paths {
            stage1: j(paths::STAGE1),
            stage2: j(paths::STAGE2),
            stage3: j(paths::STAGE3),
            ctrlaltdel: j(paths::CTRLALTDEL),
            stopit: j(stopit),
            reboot: j(reboot),
            nosync: j(paths::NOSYNC),
            console: j(paths::CONSOLE),
            runit: j(runit),
        }
    }

    /// The path of a script.
    pub fn script(&self, s: Script) -> &[u8] {
        match s {
            Script::Stage(StageId::One) => &self.stage1,
            Script::Stage(StageId::Two) => &self.stage2,
            Script::Stage(StageId::Three) => &self.stage3,
            Script::CtrlAltDel => &self.ctrlaltdel,
        }
    }
}

/// A message runit prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Msg {
    /// `$Id...$: booting.`
    Booting,
    /// `enter stage: <script>` (printed by the child, after the fork).
    EnterStage(Script),
    /// `leave stage: <script>`.
    LeaveStage(Script),
    /// `warning: child failed: <script>` (non-zero exit code).
    ChildFailed(Script),
    /// `warning: child crashed: <script>` (killed by a signal).
    ChildCrashed(Script),
    /// `warning: skipping stage 2...` (stage 1 exited 100).
    SkippingStage2,
    /// `warning: killing all processes in stage 2...`.
    KillingStage2,
    /// `warning: restarting.`.
    Restarting,
    /// `warning: signals only work in stage 2.`.
    SignalsOnlyInStage2,
    /// `ctrl-alt-del request...`.
    CtrlAltDelRequest,
    /// `warning: stage 2 not terminated, sending sigkill...`.
    Stage2NotTerminated,
    /// `sending KILL signal to all processes...`.
    SendingKillAll,
    /// `system reboot.`.
    SystemReboot,
    /// `power off...`.
    PowerOff,
    /// `system halt.`.
    SystemHalt,
    /// `fatal: unable to fork for "<script>" pausing: <errstr>`.
    ForkFailed(Script, Errno),
    /// `fatal: unable to start child: <script>: <errstr>` (the child; it exits 0).
    StartFailed(Script, Errno),
    /// `warning: unable to open /dev/console: <errstr>` (stage 1's child).
    ConsoleFailed(Errno),
    /// `fatal: must be run as process no 1.`.
    NotPid1,
    /// `fatal: unable to create selfpipe, pausing: <errstr>`.
    SelfpipeFailed(Errno),
    /// Container mode only (not in runit): `exit <code>.` before runit exits.
    ContainerExit(i32),
}

const INFO: &[u8] = b"- runit: ";
const WARNING: &[u8] = b"- runit: warning: ";
const FATAL: &[u8] = b"- runit: fatal: ";

fn push_decimal(out: &mut Vec<u8>, n: i32) {
    let mut buf = [0u8; 12];
    let mut i = buf.len();
    let neg = n < 0;
    let mut v = n.unsigned_abs();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    if neg {
        out.push(b'-');
    }
    out.extend_from_slice(&buf[i..]);
}

/// runit ignores its arguments (a kernel passes unknown boot parameters to init, so on a
/// real machine that is right and stays silent). In container mode they can only come
/// from the container's command, which runit does not run: say so once at boot, as
/// `- runit: warning: ignoring arguments: <args>: ...`. `None` when nothing to say.
pub fn ignored_arguments(container: bool, args: &[Vec<u8>]) -> Option<Vec<u8>> {
    if !container || args.is_empty() {
        return None;
    }
    let mut v = b"- runit: warning: ignoring arguments:".to_vec();
    for a in args {
        v.push(b' ');
        v.extend_from_slice(a);
    }
    v.extend_from_slice(b": runit runs /etc/runit/1, 2 and 3 only (to run a command, pass it to stage 2: docs/containers.md)\n");
    Some(v)
}

/// The complete line (with `\n`) for `m`, naming files as `paths` says.
pub fn line(m: Msg, paths: &Paths) -> Vec<u8> {
    let mut out = Vec::with_capacity(80);
    let mut put = |parts: &[&[u8]]| {
        for p in parts {
            out.extend_from_slice(p);
        }
    };
    match m {
        Msg::Booting => put(&[INFO, VERSION_ID, b": booting."]),
        Msg::EnterStage(s) => put(&[INFO, b"enter stage: ", paths.script(s)]),
        Msg::LeaveStage(s) => put(&[INFO, b"leave stage: ", paths.script(s)]),
        Msg::ChildFailed(s) => put(&[WARNING, b"child failed: ", paths.script(s)]),
        Msg::ChildCrashed(s) => put(&[WARNING, b"child crashed: ", paths.script(s)]),
        Msg::SkippingStage2 => put(&[WARNING, b"skipping stage 2..."]),
        Msg::KillingStage2 => put(&[WARNING, b"killing all processes in stage 2..."]),
        Msg::Restarting => put(&[WARNING, b"restarting."]),
        Msg::SignalsOnlyInStage2 => put(&[WARNING, b"signals only work in stage 2."]),
        Msg::CtrlAltDelRequest => put(&[INFO, b"ctrl-alt-del request..."]),
        Msg::Stage2NotTerminated => put(&[WARNING, b"stage 2 not terminated, sending sigkill..."]),
        Msg::SendingKillAll => put(&[INFO, b"sending KILL signal to all processes..."]),
        Msg::SystemReboot => put(&[INFO, b"system reboot."]),
        Msg::PowerOff => put(&[INFO, b"power off..."]),
        Msg::SystemHalt => put(&[INFO, b"system halt."]),
        Msg::ForkFailed(s, e) => put(&[FATAL, b"unable to fork for \"", paths.script(s), b"\" pausing: ", e.text().as_bytes()]),
        Msg::StartFailed(s, e) => put(&[FATAL, b"unable to start child: ", paths.script(s), b": ", e.text().as_bytes()]),
        Msg::ConsoleFailed(e) => put(&[WARNING, b"unable to open /dev/console: ", e.text().as_bytes()]),
        Msg::NotPid1 => put(&[FATAL, b"must be run as process no 1."]),
        Msg::SelfpipeFailed(e) => put(&[FATAL, b"unable to create selfpipe, pausing: ", e.text().as_bytes()]),
        Msg::ContainerExit(code) => {
            put(&[INFO, b"exit "]);
            push_decimal(&mut out, code);
            out.push(b'.');
        }
    }
    out.push(b'\n');
    out
}

/// runit-init's messages (prefix `init: `) and usage.
pub mod init {
    use alloc::vec::Vec;

    use crate::errno::Errno;

    /// `init: fatal: unable to start runit: <errstr>`.
    pub fn exec_failed(e: Errno) -> Vec<u8> {
        crate::msg::line(&[b"init: fatal: unable to start runit: "], Some(e))
    }
    /// `init: fatal: unable to create <file>: <errstr>`.
    pub fn create_failed(file: &[u8], e: Errno) -> Vec<u8> {
        crate::msg::line(&[b"init: fatal: unable to create ", file, b": "], Some(e))
    }
    /// `init: fatal: unable to chmod <file>: <errstr>`.
    pub fn chmod_failed(file: &[u8], e: Errno) -> Vec<u8> {
        crate::msg::line(&[b"init: fatal: unable to chmod ", file, b": "], Some(e))
    }
    /// `usage: <argv0> 0|6` + blank line.
    pub fn usage(argv0: &[u8]) -> Vec<u8> {
        crate::msg::usage(argv0, b" 0|6")
    }
    /// The `-V` version line (Debian 2.1.2-54's id; runit-init prints it with
    /// `strerr_warn1("$Id$\n", 0)`, so a blank line follows).
    pub const VERSION: &[u8] = b"$Id: f075d98bf7dd17c893021f9572cbb970cdad8dcf $\n\n";
}
