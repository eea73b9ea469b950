//! Logging: JSON lines carrying the Lambda request id when running in Lambda
//! (CloudWatch Logs Insights can filter on them), readable text on a laptop.
//!
//! The filter is a list of `target=level` directives (`snaplake=debug,info`):
//! tracing-subscriber's `Targets`, not its `EnvFilter`, whose span and field
//! filters nobody here uses and whose regex engine was ~0.2 MB of every
//! function's binary.

use tracing::level_filters::LevelFilter;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::format::FmtSpan;
use tracing_subscriber::prelude::*;

/// Installs the global subscriber once, at start-up.
pub fn init() {
    let env = |name: &str| std::env::var(name).ok();
    let directives = log_filter(env("RUST_LOG").as_deref(), env("AWS_LAMBDA_LOG_LEVEL").as_deref());
    let (filter, unparsed) = targets(&directives);
    let layer = tracing_subscriber::fmt::layer().with_span_events(FmtSpan::NONE);
    let registry = tracing_subscriber::registry();
    if use_json(
        env("AWS_LAMBDA_FUNCTION_NAME").as_deref(),
        env("AWS_LAMBDA_LOG_FORMAT").as_deref(),
    ) {
        // The runtime opens a span with the request id for each invocation;
        // `with_current_span` puts it on every line. Lambda adds its own timestamp.
        let layer = layer
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .without_time();
        registry.with(layer.with_filter(filter)).init();
    } else {
        registry.with(layer.with_target(false).with_filter(filter)).init();
    }
    if let Some(error) = unparsed {
        tracing::warn!(
            directives,
            error,
            "the log filter is not a list of target=level; logging at info"
        );
    }
}

/// The filter of `directives`, or `info` and why they were refused.
pub fn targets(directives: &str) -> (Targets, Option<String>) {
    match directives.parse::<Targets>() {
        Ok(targets) => (targets, None),
        Err(e) => (Targets::new().with_default(LevelFilter::INFO), Some(e.to_string())),
    }
}

/// `RUST_LOG` wins; else Lambda's advanced logging level; else `info`.
pub fn log_filter(rust_log: Option<&str>, lambda_level: Option<&str>) -> String {
    if let Some(directives) = rust_log.filter(|v| !v.trim().is_empty()) {
        return directives.to_string();
    }
    match lambda_level.map(|l| l.trim().to_ascii_uppercase()).as_deref() {
        Some("TRACE") => "trace",
        Some("DEBUG") => "debug",
        Some("WARN") => "warn",
        Some("ERROR") | Some("FATAL") => "error",
        _ => "info",
    }
    .to_string()
}

/// JSON in Lambda unless its log format is explicitly `Text`.
pub fn use_json(function_name: Option<&str>, log_format: Option<&str>) -> bool {
    match log_format {
        Some(format) => format.eq_ignore_ascii_case("json"),
        None => function_name.is_some(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_log_wins_then_lambda_level_then_info() {
        assert_eq!(log_filter(Some("snaplake=debug"), Some("ERROR")), "snaplake=debug");
        assert_eq!(log_filter(None, Some("fatal")), "error");
        assert_eq!(log_filter(Some(" "), Some("DEBUG")), "debug");
        assert_eq!(log_filter(None, None), "info");
    }

    #[test]
    fn directives_name_a_level_per_target_and_a_bad_one_logs_at_info() {
        let (filter, refused) = targets("snaplake=debug,info");
        assert!(refused.is_none());
        assert!(filter.would_enable("snaplake::handlers", &tracing::Level::DEBUG));
        assert!(!filter.would_enable("aws_smithy_runtime", &tracing::Level::DEBUG));
        assert!(filter.would_enable("aws_smithy_runtime", &tracing::Level::INFO));
        let (filter, refused) = targets("snaplake=loud");
        assert!(refused.is_some());
        assert!(filter.would_enable("snaplake", &tracing::Level::INFO));
        assert!(!filter.would_enable("snaplake", &tracing::Level::DEBUG));
    }

    #[test]
    fn json_in_lambda_text_on_a_laptop() {
        assert!(use_json(Some("snaplake-export-poller"), None));
        assert!(!use_json(None, None));
        assert!(!use_json(Some("f"), Some("Text")));
        assert!(use_json(None, Some("JSON")));
    }
}
