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

/// `memmove`: a forward copy unless `dst` starts inside the source, then a backward one.
///
/// # Safety
/// As C's `memmove`.
#[inline]
pub unsafe fn move_bytes(dst: *mut u8, src: *const u8, n: usize) {
    // SAFETY: the caller's regions are valid for n bytes; a forward copy is safe unless
    // dst is inside the source.
    unsafe {
        if (dst as usize).wrapping_sub(src as usize) >= n {
            copy_forward(dst, src, n)
        } else {
            copy_backward(dst, src, n)
        }
    }
}

/// `strlen` (volatile reads, so it cannot be turned back into a call to itself).
///
/// # Safety
/// `s` points to a NUL-terminated string.
#[inline]
pub unsafe fn c_strlen(s: *const u8) -> usize {
    let mut n = 0;
    // SAFETY: the caller's string is NUL-terminated.
    while unsafe { core::ptr::read_volatile(s.add(n)) } != 0 {
        n += 1;
    }
    n
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
            // SAFETY: C's contract for memmove.
            unsafe { $crate::mem::move_bytes(dst, src, n) };
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
            // SAFETY: C's contract for strlen (a NUL-terminated string).
            unsafe { $crate::mem::c_strlen(s) }
        }
        #[no_mangle]
        unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
            // SAFETY: C's contract for bcmp.
            unsafe { $crate::mem::compare(a, b, n) }
        }
    };
}

#[cfg(test)]
mod tests {
    //! The functions behind the binary's `memcpy`, `memmove`, `memset`, `memcmp`/`bcmp`
    //! and `strlen`, against slice operations, on the host. (The `#[no_mangle]` symbols
    //! themselves exist only in the freestanding sv; the e2e suites run it.)
    use super::*;
    use proptest::prelude::*;
    use std::vec::Vec;

    /// A buffer with a recognisable pattern.
    fn pattern(len: usize, seed: u8) -> Vec<u8> {
        (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect()
    }

    proptest! {
        #[test]
        fn copy_forward_is_copy_from_slice(len in 0usize..600, seed: u8) {
            let src = pattern(len, seed);
            let mut dst = std::vec![0u8; len + 2];
            // SAFETY: both regions are valid for len bytes and do not overlap.
            unsafe { copy_forward(dst.as_mut_ptr().add(1), src.as_ptr(), len) };
            prop_assert_eq!(&dst[1..=len], &src[..]);
            prop_assert_eq!((dst[0], dst[len + 1]), (0, 0), "no byte outside the region is written");
        }

        #[test]
        fn move_bytes_is_copy_within_for_every_overlap(len in 0usize..300, from in 0usize..300, to in 0usize..300, seed: u8) {
            let buf_len = 600;
            let mut ours = pattern(buf_len, seed);
            let mut model = ours.clone();
            model.copy_within(from..from + len, to);
            // SAFETY: from + len and to + len are within the 600-byte buffer.
            unsafe { move_bytes(ours.as_mut_ptr().add(to), ours.as_ptr().add(from), len) };
            prop_assert_eq!(ours, model);
        }

        #[test]
        fn fill_is_slice_fill(len in 0usize..600, at in 0usize..8, byte: u8) {
            let mut ours = pattern(len + 16, 7);
            let mut model = ours.clone();
            model[at..at + len].fill(byte);
            // SAFETY: at + len is within the buffer.
            unsafe { fill(ours.as_mut_ptr().add(at), byte, len) };
            prop_assert_eq!(ours, model);
        }

        #[test]
        fn compare_has_the_sign_of_slice_ordering(a in proptest::collection::vec(any::<u8>(), 0..40), b in proptest::collection::vec(any::<u8>(), 0..40)) {
            let n = a.len().min(b.len());
            // SAFETY: both are valid for n bytes.
            let ours = unsafe { compare(a.as_ptr(), b.as_ptr(), n) };
            prop_assert_eq!(ours.signum(), a[..n].cmp(&b[..n]) as i32);
            // SAFETY: as above, a region compared with itself.
            prop_assert_eq!(unsafe { compare(a.as_ptr(), a.as_ptr(), a.len()) }, 0);
        }

        #[test]
        fn c_strlen_finds_the_first_nul(mut s in proptest::collection::vec(any::<u8>(), 0..100)) {
            s.push(0);
            let expected = s.iter().position(|&b| b == 0).unwrap();
            // SAFETY: s holds a NUL.
            prop_assert_eq!(unsafe { c_strlen(s.as_ptr()) }, expected);
        }
    }

    #[test]
    fn copy_backward_of_nothing_touches_nothing() {
        let mut dst = [9u8; 4];
        // SAFETY: zero bytes; the pointers are valid.
        unsafe { copy_backward(dst.as_mut_ptr(), [1u8; 4].as_ptr(), 0) };
        assert_eq!(dst, [9; 4]);
    }

    #[test]
    fn compare_returns_the_byte_difference_as_c_does() {
        // SAFETY: both are valid for 3 bytes.
        assert_eq!(unsafe { compare(b"abc".as_ptr(), b"abz".as_ptr(), 3) }, i32::from(b'c') - i32::from(b'z'));
        // SAFETY: as above; 0x80 compares as unsigned (above 'a'), as C's memcmp.
        assert!(unsafe { compare([0x80u8].as_ptr(), b"a".as_ptr(), 1) } > 0);
    }
}
