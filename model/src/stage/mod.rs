//! runit's init stages 1, 2, 3 as a machine. (Being built: issue 5.)
