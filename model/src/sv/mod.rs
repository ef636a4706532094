//! sv's pure half: argv parsing, the plan of control bytes, wait predicates, output lines
//! and exit codes. (Being built: issue 2.)
