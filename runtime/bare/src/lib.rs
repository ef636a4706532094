//! The libc-free half of the runtime layer: sv's executor ([`sv`], generic over the few
//! system calls it makes), runsv's executor and the driver loop ([`exec`], generic over
//! the `Syscalls` traits) and, on x86_64 Linux, a freestanding shell: process start-up,
//! raw Linux system calls, a heap, the memory functions, and [`raw::RawSys`], sv's system
//! calls without a C library.
//!
//! Why: every glibc program, static or dynamic, runs glibc's CPU feature probe at start
//! (`init_cpu_features` and `dl_init_cacheinfo`: 68 `cpuid` instructions on this project's
//! x86_64 machines). Under a hypervisor each `cpuid` is a trap (≈10–24 µs measured here),
//! so the probe is most of what a `sv status` call costs (docs/performance.md, "clients:
//! where sv's and chpst's time goes"). sv needs no NSS, no locale and no threads, so it
//! can do without libc and its start-up altogether.
//!
//! What a binary does with it: `#![no_std]`, `#![no_main]`, and [`freestanding_main!`]
//! (the entry point, the panic handler, the heap and the memory functions the compiler
//! calls), linked with `-nostartfiles -nostdlib -static-pie` (bins/build.rs). Only
//! x86_64 Linux; other targets build the std sv, which runs the same [`sv`] executor over
//! `runtime::exec::sv::HostSys`.
#![cfg_attr(not(test), no_std)]

extern crate alloc;

pub mod dirent;
pub mod exec;
pub mod latch;
pub mod sv;

// The freestanding pieces: x86_64 Linux only (inline `syscall`, `rep movsb`).
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
pub mod heap;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
pub mod mem;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
pub mod raw;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
pub mod start;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
pub mod sys;
// runsv's raw primitives (x86_64 Linux): each concern in its own module.
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
pub mod file;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
pub mod notify;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
pub mod poll;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
pub mod proc;
#[cfg(all(target_os = "linux", target_arch = "x86_64", not(loom)))]
pub mod signal;
#[cfg(all(target_os = "linux", target_arch = "x86_64", not(loom)))]
pub mod spawn;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
pub mod vdso;
// runsv's system calls over those primitives (the executor is `exec`'s).
#[cfg(all(target_os = "linux", target_arch = "x86_64", not(loom)))]
pub mod raw_runsv;

/// Defines everything a freestanding binary needs besides its code, calling `$body` (a
/// `fn() -> i32`, the exit code) with the process's arguments available through
/// [`start::args`] and [`start::env`].
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
#[macro_export]
macro_rules! freestanding_main {
    ($body:path) => {
        // The entry point. It applies the executable's own relocations first (a static
        // PIE: every `R_X86_64_RELATIVE` of `.rela.dyn` gets the load address added) in
        // assembly, since until then no Rust code may run: its calls to other crates go
        // through GOT entries that are these relocations' targets. Then
        // `start::start(initial stack, load address, main)`.
        ::core::arch::global_asm!(
            ".globl _start",
            ".hidden _DYNAMIC",
            "_start:",
            "xor ebp, ebp",
            "mov r12, rsp",
            "lea rdx, [rip + __ehdr_start]",
            "lea rsi, [rip + _DYNAMIC]",
            "xor r8d, r8d",
            "xor r9d, r9d",
            "2:",
            "mov rax, [rsi]",
            "test rax, rax",
            "jz 4f",
            "cmp rax, 7", // DT_RELA
            "jne 3f",
            "mov r8, [rsi + 8]",
            "3:",
            "cmp rax, 8", // DT_RELASZ
            "jne 5f",
            "mov r9, [rsi + 8]",
            "5:",
            "add rsi, 16",
            "jmp 2b",
            "4:",
            "lea rcx, [rdx + r8]",
            "lea r10, [rcx + r9]",
            "6:",
            "cmp rcx, r10",
            "jae 8f",
            "cmp dword ptr [rcx + 8], 8", // R_X86_64_RELATIVE, the only kind expected
            "jne 7f",
            "mov rax, [rcx + 16]",
            "add rax, rdx",
            "mov r11, [rcx]",
            "mov [rdx + r11], rax",
            "add rcx, 24",
            "jmp 6b",
            "7:",
            "ud2",
            "8:",
            "mov rdi, r12",
            "mov rsi, rdx",
            "and rsp, -16",
            "call {start}",
            "ud2",
            start = sym __freestanding_start,
        );

        /// Called by `_start` with the initial stack and the load address, once
        /// relocated; never returns.
        unsafe extern "C" fn __freestanding_start(sp: *const usize, base: usize) -> ! {
            // SAFETY: both come from the kernel and the linker (see _start).
            unsafe { $crate::start::start(sp, base, $body) }
        }

        #[panic_handler]
        fn __freestanding_panic(info: &::core::panic::PanicInfo) -> ! {
            $crate::start::panic(info)
        }

        #[global_allocator]
        static __FREESTANDING_HEAP: $crate::heap::Heap = $crate::heap::Heap::new();

        $crate::mem_functions!();

        /// Referenced by the landing pads of the precompiled `alloc` (built to unwind);
        /// never reached, since this binary aborts on panic and nothing else unwinds.
        #[no_mangle]
        extern "C" fn _Unwind_Resume() -> ! {
            $crate::sys::exit(134)
        }

        /// Named by the same landing pads' unwind tables; never called, as above.
        #[no_mangle]
        extern "C" fn rust_eh_personality() {}
    };
}
