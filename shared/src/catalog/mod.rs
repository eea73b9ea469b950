//! The catalog: publishing tables to Glue without readers ever seeing an
//! empty or half-written one, rolling back, and retention.

pub mod audit;
pub mod compat;
pub mod empty_file;
pub mod iceberg;
pub mod location;
pub mod map_results;
pub mod ops;
pub mod parameters;
pub mod quality;
pub mod retention;
pub mod run_manifest;
pub mod schema;
