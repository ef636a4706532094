//! svlogd: line assembly, timestamps, selection, rotation. (Being built: issue 4.)
