//! The transform: the masking policy and the SQL it becomes.

pub mod generate;
pub mod ops;
pub mod policy;
pub mod policy_sql;
pub mod poll_cadence;
pub mod sql;
pub mod suggest;
pub mod trino_types;
