//! runsvdir: which runsv processes a services directory needs. (Being built: issue 3.)
