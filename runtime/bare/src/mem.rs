//! The memory functions the compiler emits calls to (`memcpy`, `memmove`, `memset`,
//! `memcmp`, `bcmp`, and `strlen` for `CStr`), which libc provides elsewhere. Defined by
//! [`crate::freestanding_main!`] in the binary only, so they never meet libc's.

/// Copies with `rep movsb` (fast on every x86_64 with ERMSB; the copies here are small).
///
/// # Safety
/// As C's `memcpy`.
#[inline]
pub unsafe fn copy_forward(dst: *mut u8, src: *const u8, n: usize) {
    // SAFETY: the caller's regions are valid for n bytes.
    unsafe {
        core::arch::asm!("rep movsb", inout("rcx") n => _, inout("rdi") dst => _, inout("rsi") src => _, options(nostack, preserves_flags))
    }
}

/// Copies from the end down (`std; rep movsb; cld`), for an overlapping `memmove`.
///
/// # Safety
/// As C's `memmove` with `dst > src`.
#[inline]
pub unsafe fn copy_backward(dst: *mut u8, src: *const u8, n: usize) {
    if n == 0 {
        return;
    }
    // SAFETY: the caller's regions are valid for n bytes.
    unsafe {
        core::arch::asm!("std", "rep movsb", "cld", inout("rcx") n => _, inout("rdi") dst.add(n - 1) => _,
                         inout("rsi") src.add(n - 1) => _, options(nostack))
    }
}

/// Fills with `rep stosb`.
///
/// # Safety
/// As C's `memset`.
#[inline]
pub unsafe fn fill(dst: *mut u8, byte: u8, n: usize) {
    // SAFETY: the caller's region is valid for n bytes.
    unsafe { core::arch::asm!("rep stosb", inout("rcx") n => _, inout("rdi") dst => _, in("al") byte, options(nostack, preserves_flags)) }
}

/// Compares byte by byte (volatile reads, so it cannot be turned back into a call to
/// itself).
///
/// # Safety
/// As C's `memcmp`.
#[inline]
pub unsafe fn compare(a: *const u8, b: *const u8, n: usize) -> i32 {
    for i in 0..n {
        // SAFETY: both regions are valid for n bytes.
        let (x, y) = unsafe { (core::ptr::read_volatile(a.add(i)), core::ptr::read_volatile(b.add(i))) };
        if x != y {
            return i32::from(x) - i32::from(y);
        }
    }
    0
}

/// Defines the C memory functions in the calling binary (see the module docs).
#[macro_export]
macro_rules! mem_functions {
    () => {
        #[no_mangle]
        unsafe extern "C" fn memcpy(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
            // SAFETY: C's contract for memcpy.
            unsafe { $crate::mem::copy_forward(dst, src, n) };
            dst
        }
        #[no_mangle]
        unsafe extern "C" fn memmove(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
            // SAFETY: C's contract for memmove; a forward copy is safe unless dst is
            // inside the source.
            unsafe {
                if (dst as usize).wrapping_sub(src as usize) >= n {
                    $crate::mem::copy_forward(dst, src, n)
                } else {
                    $crate::mem::copy_backward(dst, src, n)
                }
            }
            dst
        }
        #[no_mangle]
        unsafe extern "C" fn memset(dst: *mut u8, c: i32, n: usize) -> *mut u8 {
            // SAFETY: C's contract for memset.
            unsafe { $crate::mem::fill(dst, c as u8, n) };
            dst
        }
        #[no_mangle]
        unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
            // SAFETY: C's contract for memcmp.
            unsafe { $crate::mem::compare(a, b, n) }
        }
        #[no_mangle]
        unsafe extern "C" fn strlen(s: *const u8) -> usize {
            let mut n = 0;
            // SAFETY: C's contract for strlen (a NUL-terminated string).
            while unsafe { ::core::ptr::read_volatile(s.add(n)) } != 0 {
                n += 1;
            }
            n
        }
        #[no_mangle]
        unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
            // SAFETY: C's contract for bcmp.
            unsafe { $crate::mem::compare(a, b, n) }
        }
    };
}
