//! utmpset's record edits on utmp/wtmp images. (Being built: issue 6.)
