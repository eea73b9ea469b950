//! Thin adapters, one module per AWS service: each turns SDK calls into the
//! plain values the pure modules take, and SDK errors into [`crate::Error`]s
//! that say what to fix.

pub mod athena;
pub mod glue;
pub mod kms;
pub mod rds;
pub mod s3;
pub mod secrets;
pub mod sfn;

use aws_smithy_types::DateTime;
use jiff::Timestamp;

/// SDK time to jiff time (both are UTC instants).
pub fn to_timestamp(t: &DateTime) -> Timestamp {
    Timestamp::new(t.secs(), t.subsec_nanos() as i32).unwrap_or(Timestamp::UNIX_EPOCH)
}
