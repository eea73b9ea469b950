//! The developer's loop (README "Developing a function"): `cargo lambda
//! watch` serves the functions with a deployment's configuration, against the
//! stand-in, and `cargo lambda invoke` sends them the examples of events/.
//! cargo-lambda is the one `make deps`' `.venv-lambda/` holds (pinned in
//! local/requirements-lambda.txt).

use std::net::TcpListener;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use snaplake_tests::{deploy, repo_root};

const STACK: &str = "snaplake-test";
const BUCKET: &str = "snaplake-cargo-lambda-test";

fn cargo_lambda() -> Command {
    let bin = repo_root().join(".venv-lambda/bin/cargo-lambda");
    assert!(
        bin.exists(),
        "{} is missing: run `make deps` (make test does)",
        bin.display()
    );
    let mut command = Command::new(bin);
    command.arg("lambda").current_dir(repo_root());
    command
}

/// `cargo lambda watch` and the function processes it starts, stopped on drop.
struct Watch(Child);

impl Drop for Watch {
    fn drop(&mut self) {
        // Its own process group: the `cargo run` it spawned and the function go too.
        let _ = Command::new("kill").arg("--").arg(format!("-{}", self.0.id())).status();
        let _ = self.0.wait();
    }
}

fn invoke(port: u16, function: &str, data: &[&str]) -> Output {
    cargo_lambda()
        .args([
            "invoke",
            function,
            "--invoke-address",
            "127.0.0.1",
            "--invoke-port",
            &port.to_string(),
        ])
        .args(data)
        .output()
        .unwrap()
}

/// The text of an answer, as one line (cargo-lambda wraps error messages).
fn text(out: &Output) -> String {
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    all.replace(['│', '×'], " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[tokio::test]
async fn cargo_lambda_invoke_runs_an_example_through_the_function_watch_serves() {
    let d = deploy(STACK, BUCKET).await;
    let config = aws_sdk_lambda::Client::new(&d.standin.sdk)
        .get_function_configuration()
        .function_name(format!("{STACK}-catalog-swap"))
        .send()
        .await
        .unwrap();
    let mut standin: Vec<(String, String)> = config
        .environment()
        .unwrap()
        .variables()
        .unwrap()
        .clone()
        .into_iter()
        .collect();
    standin.extend(
        [
            ("AWS_ENDPOINT_URL", d.standin.endpoint.as_str()),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_LAMBDA_LOG_FORMAT", "Text"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    let env_file = std::env::temp_dir().join(format!("snaplake-watch-{}.env", std::process::id()));
    std::fs::write(
        &env_file,
        standin.iter().map(|(k, v)| format!("{k}={v}\n")).collect::<String>(),
    )
    .unwrap();
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();

    let mut command = cargo_lambda();
    command
        .args([
            "watch",
            "--ignore-changes",
            "--invoke-address",
            "127.0.0.1",
            "--invoke-port",
            &port.to_string(),
        ])
        .arg("--env-file")
        .arg(&env_file)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let _watch = Watch(command.spawn().unwrap());

    // The first invocation waits for `cargo run` (the debug build is there already).
    let started = Instant::now();
    let out = loop {
        let out = invoke(port, "catalog-swap", &["--data-file", "events/catalog-swap-gc.json"]);
        let answer = text(&out);
        if out.status.success() || !(answer.contains("onnect") || answer.contains("not ready")) {
            break out;
        }
        assert!(
            started.elapsed() < Duration::from_secs(180),
            "cargo lambda watch never answered: {answer}"
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    assert!(out.status.success(), "{}", text(&out));
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(answer.is_object(), "{answer}");

    // A body that is not JSON reaches the function here (Lambda would refuse it).
    let out = invoke(port, "export-poller", &["--data-ascii", "hello"]);
    assert!(!out.status.success());
    let answer = text(&out);
    assert!(
        answer.contains("InvalidInput") && answer.contains("`payload` is not JSON"),
        "{answer}"
    );
    let _ = std::fs::remove_file(env_file);
}
