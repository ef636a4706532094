//! Audit: bare's vDSO lookup against made-up images, each mapped at the start of two
//! pages whose second is inaccessible (a read past the image faults at once). A
//! well-formed image is used; an image without the symbol, or with counts, offsets or
//! names that run past it, falls back to the system call instead of crashing; so does an
//! auxiliary vector without `AT_SYSINFO_EHDR`.
//!
//! Each case runs in a forked child (the lookup is made once per process and cached), and
//! nothing in this test binary's own process ever reads the clock through the vDSO.
#![cfg(all(target_os = "linux", target_arch = "x86_64"))]

mod common;

use bare::sys;
use bare::vdso;
use common::in_fork;

const AT_SYSINFO_EHDR: usize = 33;
const PAGE: usize = 4096;
const DYNAMIC: usize = 0x200;
const HASH: usize = 0x300;
const STRTAB: usize = 0x400;
const SYMTAB: usize = 0x500;

/// What the made-up image's `__vdso_clock_gettime` returns: (4242, clock).
extern "C" fn fake_clock_gettime(clock: i32, ts: *mut [i64; 2]) -> i32 {
    // SAFETY: the caller passes a `struct timespec`.
    unsafe { *ts = [4242, i64::from(clock)] };
    0
}

/// Two fresh pages, the second inaccessible; the first is the image.
fn two_pages() -> &'static mut [u8] {
    // SAFETY: a fresh anonymous mapping, never unmapped (the child exits).
    unsafe {
        let p =
            libc::mmap(std::ptr::null_mut(), 2 * PAGE, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_PRIVATE | libc::MAP_ANONYMOUS, -1, 0);
        assert_ne!(p, libc::MAP_FAILED);
        assert_eq!(libc::mprotect(p.cast::<u8>().add(PAGE).cast(), PAGE, libc::PROT_NONE), 0);
        std::slice::from_raw_parts_mut(p.cast::<u8>(), PAGE)
    }
}

fn put(img: &mut [u8], at: usize, bytes: &[u8]) {
    img[at..at + bytes.len()].copy_from_slice(bytes);
}

/// A well-formed image (one `PT_LOAD` of the whole page at vaddr 0, `PT_DYNAMIC`,
/// `DT_HASH` with two symbols: the null one and `__vdso_clock_gettime`).
fn image(img: &mut [u8]) {
    let base = img.as_ptr() as usize;
    put(img, 0, b"\x7fELF\x02\x01\x01");
    put(img, 32, &64u64.to_ne_bytes()); // e_phoff
    put(img, 54, &56u16.to_ne_bytes()); // e_phentsize
    put(img, 56, &2u16.to_ne_bytes()); // e_phnum
                                       // PT_LOAD: offset 0, vaddr 0, filesz = memsz = a page.
    put(img, 64, &1u32.to_ne_bytes());
    put(img, 64 + 32, &(PAGE as u64).to_ne_bytes());
    put(img, 64 + 40, &(PAGE as u64).to_ne_bytes());
    // PT_DYNAMIC at DYNAMIC.
    put(img, 120, &2u32.to_ne_bytes());
    put(img, 120 + 8, &(DYNAMIC as u64).to_ne_bytes());
    put(img, 120 + 16, &(DYNAMIC as u64).to_ne_bytes());
    put(img, 120 + 32, &64u64.to_ne_bytes());
    for (i, (tag, val)) in [(4u64, HASH), (5, STRTAB), (6, SYMTAB), (0, 0)].into_iter().enumerate() {
        put(img, DYNAMIC + 16 * i, &tag.to_ne_bytes());
        put(img, DYNAMIC + 16 * i + 8, &(val as u64).to_ne_bytes());
    }
    put(img, HASH, &1u32.to_ne_bytes());
    put(img, HASH + 4, &2u32.to_ne_bytes());
    put(img, STRTAB, b"\0__vdso_clock_gettime\0");
    let sym = SYMTAB + 24;
    put(img, sym, &1u32.to_ne_bytes()); // st_name
    img[sym + 4] = 0x12; // STB_GLOBAL, STT_FUNC
    put(img, sym + 6, &1u16.to_ne_bytes()); // st_shndx
    let value = (fake_clock_gettime as extern "C" fn(i32, *mut [i64; 2]) -> i32 as usize).wrapping_sub(base);
    put(img, sym + 8, &(value as u64).to_ne_bytes());
}

/// Records an auxiliary vector naming `base` as the vDSO (or none), then reports: 0 when
/// the vDSO path is used and returns the fake reading, 1 when the system call is used and
/// its reading is plausible, 2 otherwise.
fn verdict(base: Option<usize>) -> i32 {
    let auxv: Vec<usize> = match base {
        Some(b) => vec![6, PAGE, AT_SYSINFO_EHDR, b, 0, 0],
        None => vec![6, PAGE, 0, 0],
    };
    // SAFETY: a leaked (never freed, never changed) vector ending in AT_NULL.
    unsafe { bare::start::record_auxv(Vec::leak(auxv).as_ptr()) };
    let used = vdso::in_use();
    let reading = vdso::clock_gettime(sys::CLOCK_MONOTONIC);
    let after = sys::clock_gettime(sys::CLOCK_MONOTONIC);
    match (used, reading) {
        (true, (4242, 1)) => 0,
        (false, (s, ns)) if s > 0 && (0..1_000_000_000).contains(&ns) && (s, ns) <= after => 1,
        _ => 2,
    }
}

/// Runs `mutate` on a well-formed image in a forked child and returns its verdict (1000 +
/// signal if the lookup crashed it).
fn case(mutate: fn(&mut [u8])) -> i32 {
    in_fork(move || {
        let img = two_pages();
        image(img);
        mutate(img);
        verdict(Some(img.as_ptr() as usize))
    })
}

#[test]
fn a_well_formed_image_is_used() {
    assert_eq!(case(|_| {}), 0);
}

#[test]
fn without_the_symbol_the_system_call_is_used() {
    assert_eq!(case(|img| put(img, STRTAB, b"\0__vdso_clock_getXime\0")), 1);
}

#[test]
fn without_the_auxv_entry_the_system_call_is_used() {
    assert_eq!(in_fork(|| verdict(None)), 1);
}

#[test]
fn not_an_elf_image_falls_back() {
    assert_eq!(case(|img| img[0] = 0), 1);
}

#[test]
fn a_symbol_count_past_the_image_falls_back_without_reading_past_it() {
    // 4096 symbols from near the end of the page, none of them the one: before the
    // audit, the walk read on into the inaccessible page.
    assert_eq!(
        case(|img| {
            put(img, HASH + 4, &4096u32.to_ne_bytes());
            put(img, DYNAMIC + 2 * 16 + 8, &0xf00u64.to_ne_bytes());
        }),
        1
    );
}

#[test]
fn a_table_address_past_the_image_falls_back() {
    // DT_HASH far outside the image (a non-canonical address: any read of it faults).
    assert_eq!(case(|img| put(img, DYNAMIC + 8, &0x8000_0000_0000_0000u64.to_ne_bytes())), 1);
}

#[test]
fn program_headers_past_the_first_page_fall_back() {
    assert_eq!(case(|img| put(img, 32, &0x8000_0000_0000_0000u64.to_ne_bytes())), 1);
    assert_eq!(case(|img| put(img, 56, &200u16.to_ne_bytes())), 1);
}

#[test]
fn a_name_offset_past_the_image_falls_back() {
    // The symbol's name 4 GiB past the string table.
    assert_eq!(case(|img| put(img, SYMTAB + 24, &0xffff_fff0u32.to_ne_bytes())), 1);
}

#[test]
fn a_name_running_off_the_image_is_not_read_past_it() {
    // The string table's last bytes are the start of the name, with no NUL before the
    // inaccessible page.
    assert_eq!(
        case(|img| {
            let tail = b"__vdso_clock_get";
            put(img, PAGE - tail.len(), tail);
            put(img, SYMTAB + 24, &((PAGE - tail.len() - STRTAB) as u32).to_ne_bytes());
        }),
        1
    );
}
