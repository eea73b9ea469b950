//! AWS clients, built in one place so every function talks to AWS (or the
//! local stand-in) the same way.
//!
//! Endpoints come from the standard variables `AWS_ENDPOINT_URL` and
//! `AWS_ENDPOINT_URL_<SERVICE>` (read by aws-config itself). When an S3
//! endpoint is overridden, S3 uses path-style addressing: local stand-ins and
//! most S3-compatible stores have no per-bucket host names.

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, SdkConfig};

/// Attempts per SDK call, including the first. Steps are short and retried
/// again by the state machine, so a few attempts with backoff is enough here.
const SDK_ATTEMPTS_PER_CALL: u32 = 4;

/// One client per service snaplake uses. Cheap to clone: clients share their
/// connection pool.
#[derive(Clone, Debug)]
pub struct Clients {
    pub athena: aws_sdk_athena::Client,
    pub glue: aws_sdk_glue::Client,
    pub kms: aws_sdk_kms::Client,
    pub rds: aws_sdk_rds::Client,
    pub s3: aws_sdk_s3::Client,
    pub sfn: aws_sdk_sfn::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
}

impl Clients {
    /// Loads credentials, region and endpoints from the standard sources.
    pub async fn from_env() -> Self {
        let sdk = aws_config::defaults(BehaviorVersion::latest())
            .retry_config(RetryConfig::standard().with_max_attempts(SDK_ATTEMPTS_PER_CALL))
            .load()
            .await;
        let s3_endpoint_overridden = sdk.endpoint_url().is_some() || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some();
        Self::from_sdk_config(&sdk, s3_endpoint_overridden)
    }

    pub fn from_sdk_config(sdk: &SdkConfig, s3_path_style: bool) -> Self {
        // Athena's GetQueryExecution and Glue's catalog calls have low per-account
        // rate limits shared with every other job: adaptive retry slows this
        // client down when throttled instead of spending its attempts at once.
        let adaptive = RetryConfig::adaptive().with_max_attempts(SDK_ATTEMPTS_PER_CALL);
        let athena = aws_sdk_athena::config::Builder::from(sdk)
            .retry_config(adaptive.clone())
            .build();
        let glue = aws_sdk_glue::config::Builder::from(sdk).retry_config(adaptive).build();
        let s3 = aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(s3_path_style)
            .build();
        Clients {
            athena: aws_sdk_athena::Client::from_conf(athena),
            glue: aws_sdk_glue::Client::from_conf(glue),
            kms: aws_sdk_kms::Client::new(sdk),
            rds: aws_sdk_rds::Client::new(sdk),
            s3: aws_sdk_s3::Client::from_conf(s3),
            sfn: aws_sdk_sfn::Client::new(sdk),
            secrets: aws_sdk_secretsmanager::Client::new(sdk),
        }
    }
}
