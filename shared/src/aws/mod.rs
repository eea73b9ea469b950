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

/// A call that gets no answer: the adapters say why (refused, timed out),
/// never "(Unknown)". Both servers are on the loopback interface.
#[cfg(test)]
mod no_answer {
    use std::time::Duration;

    use aws_sdk_glue::config::{BehaviorVersion, Credentials, Region};
    use aws_smithy_types::retry::RetryConfig;
    use aws_smithy_types::timeout::TimeoutConfig;

    use crate::error::Error;

    fn glue(endpoint: &str) -> aws_sdk_glue::Client {
        let config = aws_sdk_glue::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "test"))
            .endpoint_url(endpoint)
            .retry_config(RetryConfig::disabled())
            .timeout_config(
                TimeoutConfig::builder()
                    .operation_attempt_timeout(Duration::from_millis(300))
                    .build(),
            )
            .build();
        aws_sdk_glue::Client::from_conf(config)
    }

    fn code_and_text(err: Error) -> (String, String) {
        let text = err.to_string();
        (err.aws_code().unwrap_or_default().to_string(), text)
    }

    #[tokio::test]
    async fn a_refused_connection_is_unreachable_and_says_so() {
        // A port just freed: nothing listens there.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let err = super::glue::get_table(&glue(&format!("http://127.0.0.1:{port}")), "db", "t")
            .await
            .unwrap_err();
        let (code, text) = code_and_text(err);
        assert_eq!(code, "Unreachable", "{text}");
        assert!(
            text.contains("table db.t") && text.to_lowercase().contains("refused"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn a_server_that_never_answers_is_a_timeout() {
        // Accepts the connection, reads nothing, answers nothing.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            let held = listener.accept();
            std::thread::sleep(Duration::from_secs(3));
            drop(held);
        });
        let err = super::glue::get_table(&glue(&endpoint), "db", "t").await.unwrap_err();
        let (code, text) = code_and_text(err);
        assert_eq!(code, "Timeout", "{text}");
        assert!(!text.contains("Unknown"), "{text}");
    }
}
