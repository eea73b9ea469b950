//! The export side's work, as `catalog::ops` is the catalog's: the handlers
//! parse and dispatch, and the CLI calls the same functions. Apart from
//! `export/`, whose pure parts the wire contract takes its types from: the
//! work takes from the contract, so it sits above it.

pub mod day_lock;
pub mod start_export;
