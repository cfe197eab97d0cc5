//! Integration tests of the core over real sockets and real files: the
//! `wardwatch` binary is started as a person would start it.

mod atna;
mod audit;
mod clients;
mod crash;
mod disk_full;
mod dispatch;
mod eve_file;
mod eve_syslog;
mod hospital;
mod http;
mod keys;
mod mllp;
mod notifications;
mod notify_bus;
mod parse;
mod response;
mod screen_lock;
mod serve;
mod simulate;
mod storm;
mod support;
mod tls;
mod users;
