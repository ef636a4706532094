//! chpst: argv (and the personality chosen by argv[0]) to an ordered plan of process-state
//! changes. (Being built: issue 6.)
