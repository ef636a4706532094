//! `clock_gettime` through the vDSO, as glibc calls it: runsv reads both clocks on every
//! loop iteration, and the std runsv makes no system call for them (glibc jumps into the
//! kernel's vDSO). Without this, the freestanding runsv would trap into the kernel twice
//! per iteration and its `strace` would show `clock_gettime` calls the std one does not.
//!
//! The vDSO is a small ELF image the kernel maps into every process (`AT_SYSINFO_EHDR`
//! of the auxiliary vector); its dynamic symbol table names `__vdso_clock_gettime`. It is
//! looked up once (`DT_HASH`'s symbol count bounds the walk); when anything is missing,
//! [`clock_gettime`] falls back to the system call.

use core::sync::atomic::{AtomicUsize, Ordering};

/// `AT_SYSINFO_EHDR`: the vDSO's ELF header.
const AT_SYSINFO_EHDR: usize = 33;
const PT_LOAD: u32 = 1;
const PT_DYNAMIC: u32 = 2;
const DT_NULL: u64 = 0;
const DT_HASH: u64 = 4;
const DT_STRTAB: u64 = 5;
const DT_SYMTAB: u64 = 6;
const STT_FUNC: u8 = 2;
/// Not looked up yet.
const UNRESOLVED: usize = 0;
/// Looked up, absent: use the system call.
const ABSENT: usize = 1;

static CLOCK_GETTIME: AtomicUsize = AtomicUsize::new(UNRESOLVED);

type ClockGettime = unsafe extern "C" fn(clock: i32, ts: *mut [i64; 2]) -> i32;

/// `clock_gettime(clock)`: (seconds, nanoseconds), through the vDSO when it has the
/// function, else the system call ([`crate::sys::clock_gettime`]).
pub fn clock_gettime(clock: usize) -> (i64, i64) {
    let mut f = CLOCK_GETTIME.load(Ordering::Relaxed);
    if f == UNRESOLVED {
        f = crate::start::aux_value(AT_SYSINFO_EHDR)
            // SAFETY: the kernel maps the vDSO's whole image at AT_SYSINFO_EHDR for the
            // life of the process.
            .and_then(|base| unsafe { lookup(base, b"__vdso_clock_gettime") })
            .unwrap_or(ABSENT);
        CLOCK_GETTIME.store(f, Ordering::Relaxed);
    }
    if f == ABSENT {
        return crate::sys::clock_gettime(clock);
    }
    let mut ts = [0i64; 2];
    // SAFETY: f is the vDSO's `clock_gettime(clockid_t, struct timespec *)`; ts is a
    // `struct timespec`. On failure (an unknown clock) ts stays zero, as the syscall path.
    let _ = unsafe { core::mem::transmute::<usize, ClockGettime>(f)(clock as i32, &mut ts) };
    (ts[0], ts[1])
}

/// Whether [`clock_gettime`] goes through the vDSO (it looks it up if not done yet).
pub fn in_use() -> bool {
    let _ = clock_gettime(1);
    CLOCK_GETTIME.load(Ordering::Relaxed) > ABSENT
}

/// The address of the defined function `name` in the ELF image at `base`, or `None`.
///
/// Every read is checked against the image as its own headers describe it: the ELF
/// header and the program headers within the first page (the kernel maps the vDSO
/// page-aligned and whole, at least a page), everything else within the extent of its
/// `PT_LOAD` segments. A layout this walk does not expect (no `DT_HASH`, offsets or
/// counts past the image, a name running off its end) is `None`, so [`clock_gettime`]
/// falls back to the system call instead of reading unmapped memory.
///
/// # Safety
/// `base` is the address of a mapped ELF shared object (the vDSO): its first page mapped,
/// and all of what its `PT_LOAD` headers describe.
unsafe fn lookup(base: usize, name: &[u8]) -> Option<usize> {
    const PAGE: usize = 4096;
    const PHDR: usize = 56;
    const SYM: usize = 24;
    // `[at, at + len)` within `[base, base + size)`, without overflow.
    let inside = |at: usize, len: usize, size: usize| at.checked_sub(base).and_then(|o| o.checked_add(len)).is_some_and(|end| end <= size);
    // SAFETY: reads only where `inside` says the image is (the caller's guarantee).
    unsafe {
        let rd64 = |a: usize| (a as *const u64).read_unaligned();
        let rd32 = |a: usize| (a as *const u32).read_unaligned();
        let rd16 = |a: usize| (a as *const u16).read_unaligned();
        if (base as *const [u8; 4]).read() != *b"\x7fELF" || *((base + 4) as *const u8) != 2 {
            return None; // not a 64-bit ELF image
        }
        let (phoff, phentsize, phnum) = (rd64(base + 32) as usize, rd16(base + 54) as usize, rd16(base + 56) as usize);
        let headers = phentsize.checked_mul(phnum).and_then(|n| phoff.checked_add(n));
        if phentsize < PHDR || !matches!(headers, Some(end) if end <= PAGE) {
            return None;
        }
        // The load bias (vaddr -> address) from the first PT_LOAD; the image's extent (the
        // end of the furthest PT_LOAD's file bytes); the dynamic section.
        let (mut bias, mut size, mut dynamic) = (None, 0usize, None);
        for i in 0..phnum {
            let ph = base + phoff + i * phentsize;
            let (kind, offset, vaddr, filesz) = (rd32(ph), rd64(ph + 8) as usize, rd64(ph + 16) as usize, rd64(ph + 32) as usize);
            if kind == PT_LOAD {
                if bias.is_none() {
                    bias = Some(base.wrapping_add(offset).wrapping_sub(vaddr));
                }
                size = size.max(offset.saturating_add(filesz));
            } else if kind == PT_DYNAMIC {
                dynamic = Some(vaddr);
            }
        }
        let bias = bias?;
        let mut d = bias.wrapping_add(dynamic?);
        let (mut hash, mut strtab, mut symtab) = (None, None, None);
        for _ in 0..64 {
            if !inside(d, 16, size) {
                return None;
            }
            let (tag, val) = (rd64(d), rd64(d + 8) as usize);
            match tag {
                DT_NULL => break,
                DT_HASH => hash = Some(bias.wrapping_add(val)),
                DT_STRTAB => strtab = Some(bias.wrapping_add(val)),
                DT_SYMTAB => symtab = Some(bias.wrapping_add(val)),
                _ => {}
            }
            d += 16;
        }
        let (hash, strtab, symtab) = (hash?, strtab?, symtab?);
        // DT_HASH: nbucket, nchain; nchain is the number of symbols.
        if !inside(hash, 8, size) {
            return None;
        }
        let count = (rd32(hash + 4) as usize).min(4096);
        for i in 0..count {
            // Elf64_Sym: st_name u32, st_info u8, st_other u8, st_shndx u16, st_value u64.
            let sym = symtab.wrapping_add(i * SYM);
            if !inside(sym, SYM, size) {
                return None;
            }
            let (st_name, st_info, st_shndx, st_value) =
                (rd32(sym) as usize, *((sym + 4) as *const u8), rd16(sym + 6), rd64(sym + 8) as usize);
            if st_info & 0xf != STT_FUNC || st_shndx == 0 || st_value == 0 {
                continue;
            }
            // The name and its NUL, compared in place (no unbounded `strlen`).
            let at = strtab.wrapping_add(st_name);
            if !inside(at, name.len() + 1, size) {
                continue;
            }
            let sname = core::slice::from_raw_parts(at as *const u8, name.len() + 1);
            if sname[..name.len()] == *name && sname[name.len()] == 0 {
                return Some(bias.wrapping_add(st_value));
            }
        }
        None
    }
}
