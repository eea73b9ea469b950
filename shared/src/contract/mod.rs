//! The wire contract: each function's requests and responses, one file per
//! function (and `run_report.rs`, catalog-swap's report of a run), as the
//! state machine (and `snaplake`) sends and reads them.
//! Examples live in `events/`; `shared/tests/contract.rs` checks that every
//! field the state machine reads from a response exists here.

pub mod catalog_swap;
pub mod export_callback;
pub mod export_poller;
pub mod masking_policy;
pub mod query_runner;
pub mod run_report;
pub mod snapshot_export;
