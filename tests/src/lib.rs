//! The test harness: starts (or reuses) the local AWS stand-in for a test
//! binary and hands each test SDK clients pointed at it, with the stand-in's
//! state reset.
//!
//! - `SNAPLAKE_STANDIN_ENDPOINT` set: use that stand-in (e.g. one started with
//!   `make standin`) and leave it running.
//! - otherwise: start `python -m standin serve` from the project's `.venv` on a
//!   free loopback port. It exits by itself when the test binary exits, so no
//!   process outlives the run even when a test panics.
//!
//! IAM is enforced (`standin/iam.py`): the tests act as the administrator
//! `snaplake-admin` (a fresh key after each reset) and each deployed function
//! as its own role. `SNAPLAKE_STANDIN_IAM=off` turns enforcement off.
//!
//! Tests that share one stand-in run one at a time (the reset would pull state
//! from under a neighbour): [`StandIn::acquire`] holds a lock for the test.

pub mod cost;
mod deploy;
mod lake;
pub mod lineage;
mod parquet_file;

pub use deploy::{
    Deployment, FUNCTIONS, deploy, deploy_iceberg, deploy_with_policy, example_input, execution_events,
    function_limits, function_policy, policy_for_tables, render, run_execution, schedule,
};
pub use lake::{Lake, analyst_query, audit_tag, keys, resources, workgroup_key};
pub use parquet_file::parquet_file;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region};
use aws_sdk_s3::config::Credentials;
use serde_json::Value;
use snaplake::clients::Clients;
use snaplake::config::Config;
use snaplake::env::Env;
use tokio::sync::{Mutex, MutexGuard};

pub const REGION: &str = "us-east-1";
pub const ACCOUNT_ID: &str = "123456789012";
/// The salt of `hash_salted` in the tests (a secret of that value is what
/// the deployed functions read).
pub const TEST_SALT: &str = "test-salt-not-a-secret";

static SERVER: OnceLock<Server> = OnceLock::new();
static SERIAL: Mutex<()> = Mutex::const_new(());

struct Server {
    endpoint: String,
    _child: Option<Child>,
}

/// One test's hold on the stand-in: reset state and ready clients.
pub struct StandIn {
    pub endpoint: String,
    /// For clients of services snaplake itself does not use (e.g. SQS).
    pub sdk: aws_config::SdkConfig,
    pub clients: Clients,
    /// The administrator's key (IAM user `snaplake-admin`) the clients use.
    pub credentials: Credentials,
    _turn: MutexGuard<'static, ()>,
}

impl StandIn {
    /// Waits for this test's turn, resets the stand-in and builds clients.
    pub async fn acquire() -> StandIn {
        let turn = SERIAL.lock().await;
        let endpoint = SERVER.get_or_init(Server::start_or_reuse).endpoint.clone();
        control(&endpoint, "POST", "/moto-api/reset", "").expect("resetting the stand-in");
        let enforce = std::env::var("SNAPLAKE_STANDIN_IAM").map_or(true, |v| v != "off");
        let admin = control(
            &endpoint,
            "POST",
            "/_snaplake/iam/admin",
            &format!("{{\"enforce\": {enforce}}}"),
        )
        .expect("creating the stand-in's administrator");
        let admin: serde_json::Value = serde_json::from_str(&admin).expect("the administrator's key is JSON");
        let key = |name: &str| admin[name].as_str().expect("an access key").to_string();
        let credentials = Credentials::new(
            key("access_key_id"),
            key("secret_access_key"),
            None,
            None,
            "standin-admin",
        );
        let sdk = aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(&endpoint)
            .region(Region::new(REGION))
            .credentials_provider(credentials.clone())
            .load()
            .await;
        StandIn {
            clients: Clients::from_sdk_config(&sdk, true),
            credentials,
            sdk,
            endpoint,
            _turn: turn,
        }
    }

    /// The administrator's key as the environment of a process (the CLI, a Python script).
    pub fn aws_env(&self) -> [(&'static str, String); 2] {
        [
            ("AWS_ACCESS_KEY_ID", self.credentials.access_key_id().to_string()),
            (
                "AWS_SECRET_ACCESS_KEY",
                self.credentials.secret_access_key().to_string(),
            ),
        ]
    }

    /// A handler context whose configuration names `bucket` (zone Asia/Tokyo,
    /// input policies allowed, every other variable at its default) and whose
    /// clients reach the stand-in.
    pub fn context(&self, bucket: &str) -> Env {
        let config = Config::from_lookup(|name| match name {
            "SNAPLAKE_BUCKET" => Some(bucket.to_string()),
            "SNAPLAKE_TIME_ZONE" => Some("Asia/Tokyo".to_string()),
            // The handler tests give each run its policy; deployed functions
            // (tests/src/deploy.rs) always run with the module's pin.
            "SNAPLAKE_LOCAL_ONLY_INPUT_POLICY" => Some("allow".to_string()),
            _ => None,
        })
        .expect("a valid test configuration");
        Env {
            config,
            clients: self.clients.clone(),
            salt: Some(snaplake::aws::secrets::Salt::new(TEST_SALT)),
        }
    }

    /// An Aurora MySQL cluster (moto gives it an automated snapshot of "now").
    pub async fn sample_cluster(&self, id: &str) {
        self.clients
            .rds
            .create_db_cluster()
            .db_cluster_identifier(id)
            .engine("aurora-mysql")
            .master_username("admin")
            .master_user_password("not-a-secret-123")
            .send()
            .await
            .unwrap_or_else(|e| panic!("creating cluster {id}: {e:?}"));
    }

    /// The export role the tests that export without `deploy` hand to RDS:
    /// `snaplake-export`, with the policy the module gives its export role
    /// for `bucket` (function-policies.json, "rds-export"), and any key. The
    /// stand-in's export writes as this role. Made once per stand-in reset;
    /// a second bucket adds its own statement.
    pub async fn export_role(&self, bucket: &str) -> String {
        let iam = aws_sdk_iam::Client::new(&self.sdk);
        let trust = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Action": "sts:AssumeRole", "Principal": {"Service": "export.rds.amazonaws.com"}}]});
        let made = iam
            .create_role()
            .role_name("snaplake-export")
            .assume_role_policy_document(trust.to_string())
            .send()
            .await;
        if let Err(e) = made {
            let exists = e
                .as_service_error()
                .is_some_and(|e| e.is_entity_already_exists_exception());
            assert!(exists, "creating the export role: {e:?}");
        }
        let policy = deploy::function_policy("rds-export", &[("bucket", bucket), ("raw_key", "*")]);
        iam.put_role_policy()
            .role_name("snaplake-export")
            .policy_name(format!("write-exports-{bucket}"))
            .policy_document(policy.to_string())
            .send()
            .await
            .unwrap();
        "arn:aws:iam::123456789012:role/snaplake-export".to_string()
    }

    /// Calls the stand-in's control API (see local/standin/control.py).
    pub fn control(&self, path: &str, body: serde_json::Value) -> serde_json::Value {
        let text = control(&self.endpoint, "POST", path, &body.to_string())
            .unwrap_or_else(|e| panic!("stand-in control {path}: {e}"));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("stand-in control {path} answered {text:?}: {e}"))
    }

    /// The stand-in's counters since `reset_calls`: requests by operation,
    /// Step Functions history events (`states:<type>`), Lambda runs
    /// (`lambda-run:<function>`) and the largest sizes it saw.
    pub fn calls(&self) -> serde_json::Value {
        let text =
            control(&self.endpoint, "GET", "/_snaplake/calls", "").unwrap_or_else(|e| panic!("stand-in calls: {e}"));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("stand-in calls answered {text:?}: {e}"))
    }

    /// Sets the stand-in's counters to zero.
    pub fn reset_calls(&self) {
        control(&self.endpoint, "POST", "/_snaplake/calls/reset", "")
            .unwrap_or_else(|e| panic!("stand-in calls reset: {e}"));
    }
}

/// A curated table as Glue shows it to analysts; panics if it is missing.
pub async fn curated_table(glue: &aws_sdk_glue::Client, table: &str) -> aws_sdk_glue::types::Table {
    let out = glue
        .get_table()
        .database_name("snaplake_curated")
        .name(table)
        .send()
        .await
        .unwrap_or_else(|e| panic!("curated table {table}: {e:?}"));
    out.table().expect("a table").clone()
}

/// A curated table's live location.
pub async fn live_location(glue: &aws_sdk_glue::Client, table: &str) -> String {
    let t = curated_table(glue, table).await;
    t.storage_descriptor().unwrap().location().unwrap().to_string()
}

/// The manifest a run's report wrote (`catalog::run_manifest`), read
/// through the `s3://` location its output names; panics if there is none.
pub async fn run_manifest(sdk: &aws_config::SdkConfig, output: &serde_json::Value) -> serde_json::Value {
    let uri = output["report"]["summary"]["manifest"]
        .as_str()
        .unwrap_or_else(|| panic!("the run's output names no manifest: {output:#}"));
    s3_json(sdk, uri).await
}

/// The JSON object at `s3://bucket/key`; panics if it is missing or not JSON.
pub async fn s3_json(sdk: &aws_config::SdkConfig, uri: &str) -> serde_json::Value {
    let (bucket, key) = uri.strip_prefix("s3://").unwrap().split_once('/').unwrap();
    let body = aws_sdk_s3::Client::new(sdk)
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{uri}: {e:?}"))
        .body
        .collect()
        .await
        .unwrap()
        .into_bytes();
    serde_json::from_slice(&body).unwrap_or_else(|e| panic!("{uri}: {e}"))
}

/// A run's manifest counts what the stand-in ran and measured since its
/// counters were reset before the run (`crate::cost` in the library): every
/// state entered (Distributed Map children included), every Lambda
/// invocation (the events' included), every Athena query and the bytes it
/// scanned. Panics naming the figure that differs.
pub fn assert_cost_counts_what_ran(manifest: &serde_json::Value, calls: &serde_json::Value) {
    let cost = &manifest["cost"];
    let usage = &cost["usage"];
    let counters = calls.as_object().unwrap();
    let sum = |keep: &dyn Fn(&str) -> bool| -> u64 {
        counters
            .iter()
            .filter(|(k, _)| keep(k))
            .map(|(_, n)| n.as_u64().unwrap())
            .sum()
    };
    let entered = sum(&|k| k.starts_with("states:") && k.ends_with("StateEntered"));
    let invoked = sum(&|k| k.starts_with("lambda-run:"));
    assert_eq!(
        usage["state_transitions"], entered,
        "states entered: {cost:#}\n{calls:#}"
    );
    assert_eq!(
        usage["lambda_requests"], invoked,
        "Lambda invocations: {cost:#}\n{calls:#}"
    );
    assert_eq!(
        usage["athena_queries"], calls["athena:succeeded-queries"],
        "Athena queries: {cost:#}"
    );
    assert_eq!(
        usage["athena_scanned_bytes"], calls["athena:scanned-bytes"],
        "bytes scanned: {cost:#}"
    );
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lives in the repo")
        .to_path_buf()
}

/// Where cargo put this build's binaries (the handlers the stand-in's Lambda
/// runs): beside a `src/bin` binary such as the benchmarks, one folder above a test.
pub fn functions_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary knows its path");
    let dir = exe.parent().expect("an executable lives in a folder");
    if dir.ends_with("deps") {
        dir.parent()
            .expect("test binaries live in <target>/<profile>/deps")
            .to_path_buf()
    } else {
        dir.to_path_buf()
    }
}

/// The project's Python, where `make deps` installed the stand-in.
pub fn python() -> PathBuf {
    let python = std::env::var_os("SNAPLAKE_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".venv/bin/python"));
    assert!(
        python.exists(),
        "the stand-in's Python {} is missing: run `make deps` (or `make test`, which runs it) first",
        python.display()
    );
    python
}

impl Server {
    fn start_or_reuse() -> Server {
        if let Ok(endpoint) = std::env::var("SNAPLAKE_STANDIN_ENDPOINT") {
            wait_healthy(&endpoint, Duration::from_secs(10));
            return Server { endpoint, _child: None };
        }
        let dir = repo_root().join(".local/test-standins");
        std::fs::create_dir_all(&dir).expect("creating .local/test-standins");
        let ready = dir.join(format!("ready-{}.json", std::process::id()));
        let log = dir.join(format!("standin-{}.log", std::process::id()));
        let _ = std::fs::remove_file(&ready);
        let child = Command::new(python())
            .env("SNAPLAKE_STANDIN_FUNCTIONS", functions_dir())
            .env("SNAPLAKE_STANDIN_LOGS", &dir)
            .args(["-m", "standin", "serve", "--port", "0", "--ready-file"])
            .arg(&ready)
            .arg("--exit-with-parent")
            .arg(std::process::id().to_string())
            .current_dir(repo_root().join("local"))
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).expect("creating the stand-in log"))
            .stderr(
                std::fs::File::options()
                    .append(true)
                    .open(&log)
                    .expect("opening the stand-in log"),
            )
            .spawn()
            .expect("starting the stand-in");
        let deadline = Instant::now() + Duration::from_secs(60);
        let endpoint = loop {
            if let Ok(text) = std::fs::read_to_string(&ready) {
                let ready: serde_json::Value = serde_json::from_str(&text).expect("ready file is JSON");
                break ready["endpoint"]
                    .as_str()
                    .expect("ready file names the endpoint")
                    .to_string();
            }
            assert!(
                Instant::now() < deadline,
                "the stand-in did not start within 60 s; see {}",
                log.display()
            );
            std::thread::sleep(Duration::from_millis(100));
        };
        let _ = std::fs::remove_file(&ready);
        wait_healthy(&endpoint, Duration::from_secs(30));
        Server {
            endpoint,
            _child: Some(child),
        }
    }
}

fn wait_healthy(endpoint: &str, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        match control(endpoint, "GET", "/_snaplake/health", "") {
            Ok(_) => return,
            Err(e) if Instant::now() > deadline => panic!("the stand-in at {endpoint} does not answer: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

/// One AWS JSON 1.1 API call (`X-Amz-Target: <target>`), sent raw and
/// signed as the administrator (the stand-in enforces IAM): for the calls
/// the pinned SDK crates do not have (Glue's GetLineageNode) or the tests
/// need no crate for (EventBridge). The answer's JSON, Null when empty.
pub fn json_api_call(standin: &StandIn, service: &str, target: &str, body: &Value) -> Result<Value, String> {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
    let body = body.to_string();
    let content_type = "application/x-amz-json-1.1";
    let identity = standin.credentials.clone().into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(REGION)
        .name(service)
        .time(std::time::SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| e.to_string())?
        .into();
    let host = standin
        .endpoint
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let unsigned = [
        ("host", host.as_str()),
        ("content-type", content_type),
        ("x-amz-target", target),
    ];
    let request = SignableRequest::new(
        "POST",
        format!("{}/", standin.endpoint.trim_end_matches('/')),
        unsigned.into_iter(),
        SignableBody::Bytes(body.as_bytes()),
    )
    .map_err(|e| e.to_string())?;
    let (signing, _) = sign(request, &params).map_err(|e| e.to_string())?.into_parts();
    let mut headers = vec![("X-Amz-Target", target.to_string())];
    headers.extend(signing.headers().map(|(name, value)| (name, value.to_string())));
    let answer = exchange(&standin.endpoint, "POST", "/", content_type, &headers, &body)?;
    Ok(serde_json::from_str(&answer).unwrap_or(Value::Null))
}

/// A minimal HTTP/1.1 exchange with the stand-in on loopback, so the harness
/// needs no HTTP client crate. Returns the body of a 2xx answer.
pub fn control(endpoint: &str, method: &str, path: &str, body: &str) -> Result<String, String> {
    exchange(endpoint, method, path, "application/json", &[], body)
}

/// [`control`] with a content type and extra headers (e.g. an AWS JSON API call).
pub fn exchange(
    endpoint: &str,
    method: &str,
    path: &str,
    content_type: &str,
    headers: &[(&str, String)],
    body: &str,
) -> Result<String, String> {
    let address = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = TcpStream::connect(address).map_err(|e| format!("connecting to {address}: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(|e| e.to_string())?;
    let extra: String = headers.iter().map(|(k, v)| format!("{k}: {v}\r\n")).collect();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: {content_type}\r\n{extra}\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).map_err(|e| e.to_string())?;
    let mut response = String::new();
    stream.read_to_string(&mut response).map_err(|e| e.to_string())?;
    let (head, body) = response.split_once("\r\n\r\n").ok_or("malformed HTTP response")?;
    let status = head.split_whitespace().nth(1).ok_or("no HTTP status")?;
    if status.starts_with('2') {
        Ok(body.to_string())
    } else {
        Err(format!("HTTP {status}: {body}"))
    }
}
