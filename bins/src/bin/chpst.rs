//! chpst and its daemontools personalities (envdir, envuidgid, pgrphack, setlock,
//! setuidgid, softlimit, chosen by the name it is run under).
//!
//! `#![no_std]` and `#![no_main]`, linked dynamically against glibc: chpst resolves
//! user and group names through NSS, so it keeps libc (its start-up, its `malloc`, its
//! `getpwnam_r`), but not Rust's std runtime, whose panic, backtrace and thread imports
//! cost every start more symbol bindings and relocations in `ld.so` than Debian's whole
//! chpst (docs/performance.md, "Clients: where sv's and chpst's time goes"). The
//! executor is `chpst_exec` (runtime/chpst/). With a C `main` the program also gets
//! exactly the signal dispositions chpst was started with (std's start-up would set
//! SIGPIPE to ignored, and the exec'd program would inherit that), as with runit's chpst.
#![cfg_attr(not(test), no_main)]
#![cfg_attr(not(test), no_std)]

// (`not(test)`: `cargo build --all-targets` also builds this file as a test, which gets
// std's panic handler, allocator and the test harness's `main`; that test binary is empty
// and never run, see bins/Cargo.toml.)
#[cfg(not(test))]
mod lean {
    extern crate alloc;

    use alloc::vec::Vec;
    use core::alloc::{GlobalAlloc, Layout};
    use core::ffi::CStr;

    use model::chpst::{parse_with, Dialect, Parsed, EXIT_USAGE};

    /// The file layout this build follows (as `runit_bins::LAYOUT`).
    const LAYOUT: model::stage::Layout = if cfg!(feature = "void") { model::stage::Layout::Void } else { model::stage::Layout::Debian };

    /// argv as bytes, parse (in the build's layout dialect), then run the plan (never
    /// returns on success).
    #[no_mangle]
    extern "C" fn main(argc: libc::c_int, argv: *const *const libc::c_char) -> libc::c_int {
        // SAFETY: libc's start-up passes argc C strings in argv.
        let args: Vec<&[u8]> = (0..argc.max(0) as usize).map(|i| unsafe { CStr::from_ptr(*argv.add(i)).to_bytes() }).collect();
        let dialect = if LAYOUT == model::stage::Layout::Void { Dialect::WITH_CHDIR } else { Dialect::DEBIAN };
        match parse_with(&args, dialect) {
            Parsed::Usage(text) => die_usage(&text, EXIT_USAGE),
            Parsed::Run(plan) => chpst_exec::run(&plan),
        }
    }

    /// A usage text on stderr, then exit with `code`; after `-V`'s text (it starts with
    /// runit's `$Id: ` line) the identity line follows in the same write (as
    /// `runit_bins::die_usage`).
    fn die_usage(text: &[u8], code: i32) -> ! {
        let mut t = text.to_vec();
        if text.starts_with(b"$Id: ") {
            t.extend_from_slice(alloc::format!("runit-rs {} (commit {})\n", env!("CARGO_PKG_VERSION"), env!("RUNIT_RS_COMMIT")).as_bytes());
        }
        chpst_exec::write_stderr(&t);
        // SAFETY: ends the process; nothing is buffered.
        unsafe { libc::_exit(code) }
    }

    /// libc's `malloc` as Rust's allocator (the one glibc's NSS modules use anyway).
    struct Malloc;

    /// What `malloc` guarantees on every target glibc supports.
    const MALLOC_ALIGN: usize = 2 * core::mem::size_of::<usize>();

    // SAFETY: forwards to libc's allocator, asking for the alignment where malloc's
    // does not cover it.
    unsafe impl GlobalAlloc for Malloc {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            if layout.align() <= MALLOC_ALIGN {
                // SAFETY: plain malloc.
                unsafe { libc::malloc(layout.size()).cast() }
            } else {
                let mut p = core::ptr::null_mut();
                // SAFETY: p is a writable pointer; the alignment is a power of two ≥ the word.
                match unsafe { libc::posix_memalign(&mut p, layout.align(), layout.size()) } {
                    0 => p.cast(),
                    _ => core::ptr::null_mut(),
                }
            }
        }

        unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
            // SAFETY: ptr came from malloc or posix_memalign.
            unsafe { libc::free(ptr.cast()) }
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            if layout.align() <= MALLOC_ALIGN {
                // SAFETY: ptr came from malloc; realloc keeps malloc's alignment.
                unsafe { libc::realloc(ptr.cast(), new_size).cast() }
            } else {
                // SAFETY: as GlobalAlloc's default realloc: allocate, copy, free.
                unsafe {
                    let new = self.alloc(Layout::from_size_align_unchecked(new_size, layout.align()));
                    if !new.is_null() {
                        core::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                        self.dealloc(ptr, layout);
                    }
                    new
                }
            }
        }
    }

    // The `libc` crate links no library when its `std` feature is on (the rest of the
    // workspace turns it on, expecting std to bring libc); this binary has no std.
    #[link(name = "c")]
    extern "C" {}

    #[global_allocator]
    static ALLOCATOR: Malloc = Malloc;

    /// A panic (a bug: the model's decisions never panic on input) aborts, as the std
    /// build's `panic = "abort"` did, without std's message machinery.
    #[panic_handler]
    fn panic(_info: &core::panic::PanicInfo) -> ! {
        // SAFETY: ends the process with SIGABRT.
        unsafe { libc::abort() }
    }

    /// Referenced by the landing pads of the precompiled `alloc` (built to unwind);
    /// never reached, since this binary aborts on panic and nothing else unwinds.
    #[no_mangle]
    extern "C" fn _Unwind_Resume() -> ! {
        // SAFETY: as in `panic`.
        unsafe { libc::abort() }
    }

    /// Named by the same landing pads' unwind tables; never called, as above.
    #[no_mangle]
    extern "C" fn rust_eh_personality() {}
}
