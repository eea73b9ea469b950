//! Logging: JSON lines carrying the Lambda request id when running in Lambda
//! (CloudWatch Logs Insights can filter on them), readable text on a laptop.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::FmtSpan;

/// Installs the global subscriber once, at start-up.
pub fn init() {
    let env = |name: &str| std::env::var(name).ok();
    let filter = EnvFilter::new(log_filter(
        env("RUST_LOG").as_deref(),
        env("AWS_LAMBDA_LOG_LEVEL").as_deref(),
    ));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_span_events(FmtSpan::NONE);
    if use_json(
        env("AWS_LAMBDA_FUNCTION_NAME").as_deref(),
        env("AWS_LAMBDA_LOG_FORMAT").as_deref(),
    ) {
        // The runtime opens a span with the request id for each invocation;
        // `with_current_span` puts it on every line. Lambda adds its own timestamp.
        builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .without_time()
            .init();
    } else {
        builder.with_target(false).init();
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
    fn json_in_lambda_text_on_a_laptop() {
        assert!(use_json(Some("snaplake-export-poller"), None));
        assert!(!use_json(None, None));
        assert!(!use_json(Some("f"), Some("Text")));
        assert!(use_json(None, Some("JSON")));
    }
}
