//! Wardwatch core: everything the console knows about alerts from a hospital's
//! medical-device network, with no knowledge of Tauri or of any user interface.
//!
//! Data flows one way: [`ingest`] listeners read bytes from sockets and frame
//! them, [`codec`] turns bytes into records, [`normalize`] turns records into
//! [`model::Alert`]s, [`store`] makes them durable, and the [`console::Console`]
//! owns it all and broadcasts each stored alert to whoever subscribed.
#![deny(unsafe_code)]

pub mod access;
pub mod atna;
pub mod audit;
pub mod codec;
pub mod config;
pub mod console;
pub mod hardening;
pub mod hospital;
pub mod incident;
pub mod ingest;
pub mod keys;
pub mod model;
pub mod normalize;
pub mod notify;
pub mod privacy;
pub mod response;
pub mod simulate;
pub mod status;
pub mod store;

pub use config::ConsoleConfig;
pub use console::{Console, ConsoleError, StoreHealth};
