//! AWS clients, built in one place so every function talks to AWS (or the
//! local stand-in) the same way.
//!
//! Endpoints come from the standard variables `AWS_ENDPOINT_URL` and
//! `AWS_ENDPOINT_URL_<SERVICE>` (read by aws-config itself). When an S3
//! endpoint is overridden, S3 uses path-style addressing: local stand-ins and
//! most S3-compatible stores have no per-bucket host names.
//!
//! A function's start-up is most of its cold start, so [`sdk_config`] skips
//! what the SDK's defaults spend it on (BENCHMARKS.md, "Cold start"): the
//! credential chain's providers when Lambda's credentials are in the
//! environment, a TLS connector built (and every trusted root parsed) for
//! each client, and the certificate directory read beside the system's
//! bundle of trusted roots.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_http_client::Connector;
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::http::{HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;

/// Attempts per SDK call, including the first. Steps are short and retried again
/// by the state machine, so a few attempts with backoff is enough here.
const SDK_ATTEMPTS_PER_CALL: u32 = 4;

/// One client per service the functions use. Cheap to clone: clients share
/// their connection pool. Secrets Manager is not among them: only
/// query-runner reads a secret (the salt, with a client of its own), and a
/// client built here would be linked into every function's binary.
#[derive(Clone, Debug)]
pub struct Clients {
    pub athena: aws_sdk_athena::Client,
    pub glue: aws_sdk_glue::Client,
    pub kms: aws_sdk_kms::Client,
    pub rds: aws_sdk_rds::Client,
    pub s3: aws_sdk_s3::Client,
    pub sfn: aws_sdk_sfn::Client,
}

/// Credentials, region and endpoints from the standard sources; HTTPS
/// through [`OneConnector`].
pub async fn sdk_config() -> SdkConfig {
    let env = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::standard().with_max_attempts(SDK_ATTEMPTS_PER_CALL))
        .http_client(SharedHttpClient::new(OneConnector::default()));
    // Lambda hands the role's credentials over in these variables, the first
    // place the default chain looks; building the chain's other providers
    // (profile, web identity with its STS client, ECS, IMDS) costs start-up
    // time for nothing.
    if env("AWS_ACCESS_KEY_ID") && env("AWS_SECRET_ACCESS_KEY") {
        loader = loader.credentials_provider(EnvironmentVariableCredentialsProvider::new());
    }
    loader.load().await
}

/// One HTTPS connector for every client of an [`sdk_config`], built at the
/// first request. The SDK's default HTTP client builds one for each client it
/// is given to (and one more at the first request), each parsing every
/// trusted root again. The clients share their settings (timeouts come from
/// the one `SdkConfig`), so one connector serves them all.
#[derive(Debug, Default)]
pub struct OneConnector(OnceLock<SharedHttpConnector>);

impl HttpClient for OneConnector {
    fn http_connector(&self, settings: &HttpConnectorSettings, components: &RuntimeComponents) -> SharedHttpConnector {
        self.0.get_or_init(|| connector(settings, components)).clone()
    }
}

/// The SDK's default connector (rustls with aws-lc), trusting the roots of
/// [`root_bundle`].
fn connector(settings: &HttpConnectorSettings, components: &RuntimeComponents) -> SharedHttpConnector {
    let bundle = root_bundle(
        std::env::var_os("SSL_CERT_FILE").map(PathBuf::from),
        std::env::var_os("SSL_CERT_DIR").is_some(),
        Path::is_file,
    );
    let trust = match bundle.and_then(|path| std::fs::read(path).ok()) {
        Some(pem) => TrustStore::empty().with_pem_certificate(pem),
        None => TrustStore::default(),
    };
    let context = TlsContext::builder()
        .with_trust_store(trust)
        .build()
        .expect("a trust store is a valid TLS context");
    let mut builder = Connector::builder();
    builder.set_connector_settings(Some(settings.clone()));
    builder.set_sleep_impl(components.sleep_impl());
    let connector = builder
        .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
        .tls_context(context)
        .build();
    SharedHttpConnector::new(connector)
}

/// The system's bundles of trusted roots: Amazon Linux (Lambda's
/// `provided.al2023`) and other RHEL-like systems, then Debian-like ones.
const ROOT_BUNDLES: [&str; 2] = ["/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/certs/ca-certificates.crt"];

/// The one file of trusted roots to read: `SSL_CERT_FILE`, else the
/// system's bundle. `None` leaves it to the SDK's own search (rustls'
/// native roots), which also reads every file of the certificate directory
/// (on Debian, each root a second time): when `SSL_CERT_DIR` is set, or no
/// bundle exists.
pub fn root_bundle(
    ssl_cert_file: Option<PathBuf>,
    ssl_cert_dir: bool,
    exists: impl Fn(&Path) -> bool,
) -> Option<PathBuf> {
    if ssl_cert_dir {
        return None;
    }
    ssl_cert_file.or_else(|| ROOT_BUNDLES.iter().map(PathBuf::from).find(|p| exists(p)))
}

impl Clients {
    /// The clients of an [`sdk_config`]: S3 is path-style when its endpoint
    /// is overridden.
    pub fn from_env(sdk: &SdkConfig) -> Self {
        let s3_endpoint_overridden = sdk.endpoint_url().is_some() || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some();
        Self::from_sdk_config(sdk, s3_endpoint_overridden)
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
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_roots_are_read_from_one_bundle_unless_a_directory_is_asked_for() {
        let al2023 = |p: &Path| p == Path::new("/etc/pki/tls/certs/ca-bundle.crt");
        let debian = |p: &Path| p == Path::new("/etc/ssl/certs/ca-certificates.crt");
        assert_eq!(
            root_bundle(None, false, al2023),
            Some(PathBuf::from("/etc/pki/tls/certs/ca-bundle.crt"))
        );
        assert_eq!(
            root_bundle(None, false, debian),
            Some(PathBuf::from("/etc/ssl/certs/ca-certificates.crt"))
        );
        let mine = PathBuf::from("/opt/roots.pem");
        assert_eq!(root_bundle(Some(mine.clone()), false, debian), Some(mine.clone()));
        assert_eq!(root_bundle(Some(mine), true, debian), None);
        assert_eq!(root_bundle(None, false, |_| false), None);
    }
}
