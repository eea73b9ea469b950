//! snaplake's library: the pure decisions (export ids, logical days, names)
//! and the thin AWS adapters that every function shares. Binaries under
//! `functions/` only wire these together.

pub mod aws;
pub mod catalog;
pub mod clients;
pub mod config;
pub mod contract;
pub mod cost;
pub mod env;
pub mod error;
pub mod export;
pub mod export_id;
pub mod export_ops;
pub mod handlers;
pub mod lineage;
pub mod logical_time;
pub mod metrics;
pub mod names;
pub mod pinning;
pub mod telemetry;
pub mod transform;
pub mod url;

pub use error::Error;
