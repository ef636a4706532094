//! runsv: supervision of one service and its optional log service. (Being built: issue 2.)
