//! Integration tests of the core over real sockets and real files.
