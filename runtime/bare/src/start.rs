//! Process start-up without libc, after `_start` has applied the executable's own
//! relocations (a static PIE keeps ASLR): make its RELRO segment read-only, record argv and the environment, run
//! the program, exit with its code.

use core::ffi::CStr;
use core::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

use alloc::vec::Vec;

static ARGC: AtomicUsize = AtomicUsize::new(0);
static ARGV: AtomicPtr<*const u8> = AtomicPtr::new(core::ptr::null_mut());
static ENVP: AtomicPtr<*const u8> = AtomicPtr::new(core::ptr::null_mut());
/// The auxiliary vector the kernel passed ((type, value) pairs ending in `AT_NULL`).
static AUXV: AtomicPtr<usize> = AtomicPtr::new(core::ptr::null_mut());

/// ELF constants (elf.h).
const AT_PHDR: usize = 3;
const AT_PHNUM: usize = 5;
const PT_GNU_RELRO: u32 = 0x6474_e552;
const PAGE: usize = 4096;

/// The program's start, after `_start` has relocated the executable
/// ([`crate::freestanding_main!`]): protect RELRO, record the arguments, run `main`, exit.
///
/// # Safety
/// `sp` is the initial stack pointer the kernel set (argc, argv, NULL, envp, NULL,
/// auxv) and `base` the executable's load address (`__ehdr_start`); call once, first.
pub unsafe fn start(sp: *const usize, base: usize, main: fn() -> i32) -> ! {
    // SAFETY: the layout of the initial stack is fixed by the kernel's ABI.
    unsafe {
        let argc = *sp;
        let argv = sp.add(1) as *mut *const u8;
        let envp = argv.add(argc + 1);
        let mut auxv = envp as *const usize;
        while *auxv != 0 {
            auxv = auxv.add(1);
        }
        protect_relro(auxv.add(1), base);
        record_auxv(auxv.add(1));
        ARGC.store(argc, Ordering::Relaxed);
        ARGV.store(argv, Ordering::Relaxed);
        ENVP.store(envp, Ordering::Relaxed);
    }
    crate::sys::exit(main())
}

/// Makes the `PT_GNU_RELRO` segment read-only, as `ld.so` and glibc's static start do.
///
/// # Safety
/// `auxv` is the auxiliary vector; after the relocations.
unsafe fn protect_relro(mut auxv: *const usize, base: usize) {
    let (mut phdr, mut phnum) = (0usize, 0usize);
    // SAFETY: auxv is (type, value) pairs ending in AT_NULL; the program headers are mapped.
    unsafe {
        while *auxv != 0 {
            match *auxv {
                AT_PHDR => phdr = *auxv.add(1),
                AT_PHNUM => phnum = *auxv.add(1),
                _ => {}
            }
            auxv = auxv.add(2);
        }
        for i in 0..phnum {
            // Elf64_Phdr: p_type u32, p_flags u32, p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_align.
            let ph = (phdr + i * 56) as *const u64;
            if *(ph as *const u32) == PT_GNU_RELRO {
                let start = (base + *ph.add(2) as usize) & !(PAGE - 1);
                let end = (base + *ph.add(2) as usize + *ph.add(5) as usize) & !(PAGE - 1);
                if end > start {
                    crate::sys::protect_read_only(start, end - start);
                }
            }
        }
    }
}

/// Keeps the auxiliary vector for [`aux_value`] (`start` does, with the kernel's).
///
/// # Safety
/// `auxv` points to (type, value) pairs ending in `AT_NULL`, alive and unchanged for the
/// rest of the process.
pub unsafe fn record_auxv(auxv: *const usize) {
    AUXV.store(auxv.cast_mut(), Ordering::Relaxed);
}

/// The value of entry `kind` of the auxiliary vector (glibc's `getauxval`), e.g.
/// `AT_CLKTCK`, what `sysconf(_SC_CLK_TCK)` returns; `None` if absent or not recorded.
pub fn aux_value(kind: usize) -> Option<usize> {
    let mut p = AUXV.load(Ordering::Relaxed).cast_const();
    if p.is_null() {
        return None;
    }
    // SAFETY: record_auxv's caller guarantees a live vector ending in AT_NULL; the walk
    // is bounded by that entry (and a cap of 256 entries).
    unsafe {
        for _ in 0..256 {
            match *p {
                0 => return None,
                k if k == kind => return Some(*p.add(1)),
                _ => p = p.add(2),
            }
        }
    }
    None
}

/// The NUL-terminated strings of a NULL-terminated array.
fn strings(mut p: *const *const u8, max: usize) -> Vec<&'static [u8]> {
    let mut out = Vec::new();
    if p.is_null() {
        return out;
    }
    // SAFETY: the kernel's argv/envp arrays live, unchanged, for the whole process.
    unsafe {
        while out.len() < max && !(*p).is_null() {
            out.push(CStr::from_ptr((*p).cast()).to_bytes());
            p = p.add(1);
        }
    }
    out
}

/// argv as bytes.
pub fn args() -> Vec<&'static [u8]> {
    strings(ARGV.load(Ordering::Relaxed), ARGC.load(Ordering::Relaxed))
}

/// The value of environment variable `name`, as `getenv` finds it (the first entry).
pub fn env(name: &[u8]) -> Option<&'static [u8]> {
    strings(ENVP.load(Ordering::Relaxed), usize::MAX)
        .into_iter()
        .find_map(|e| e.strip_prefix(name).and_then(|rest| rest.strip_prefix(b"=")))
}

/// Every entry of the environment (`name=value`), in the kernel's order: what runsv
/// passes on to a `./run` that gets sd_notify variables of its own.
pub fn environment() -> Vec<&'static [u8]> {
    strings(ENVP.load(Ordering::Relaxed), usize::MAX)
}

/// The environment as the kernel passed it, for `execve`.
pub fn environ() -> *const *const u8 {
    ENVP.load(Ordering::Relaxed)
}

/// The panic handler's body: a line on stderr, exit 111 (runit's "fatal" code). With
/// the model's inputs checked, reaching it is a bug.
pub fn panic(info: &core::panic::PanicInfo) -> ! {
    use core::fmt::Write;
    struct Stderr;
    impl Write for Stderr {
        fn write_str(&mut self, s: &str) -> core::fmt::Result {
            crate::sys::write_all(2, s.as_bytes());
            Ok(())
        }
    }
    let _ = writeln!(Stderr, "fatal: internal error: {info}");
    crate::sys::exit(111)
}
