//! The runsv executor. (Being built: issue 2.)
