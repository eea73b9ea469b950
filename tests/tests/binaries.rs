//! What each function's binary links, where it shows in the zip's size
//! (BENCHMARKS.md, "Package size per function"), and that the events
//! `make bench` times their cold starts with are handled as they are meant
//! to be. Reads the handler binaries of this build (`cargo build --workspace
//! --bins` first, as for every test that runs them).

use snaplake_tests::{FUNCTIONS, StandIn, functions_dir, repo_root};

/// Whether a binary holds `text` (through std's optimised string search:
/// a byte-window loop takes seconds per binary in a debug build).
fn contains(binary: &[u8], text: &str) -> bool {
    String::from_utf8_lossy(binary).contains(text)
}

fn binary(function: &str) -> Vec<u8> {
    let path = functions_dir().join(function);
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run `cargo build --workspace --bins` first (make test does)",
            path.display()
        )
    })
}

/// Only query-runner reads a secret (the salt of `hash_salted`, at its
/// start-up). A Secrets Manager client built for every function (in the
/// shared clients) put its code into all five zips. Any code that builds
/// one links the client's endpoint resolver, whose URL template is the mark
/// (the service's name alone also shows in debug info of code not linked).
#[test]
fn only_query_runner_links_a_secrets_manager_client() {
    for f in FUNCTIONS {
        let binary = binary(f);
        let linked = contains(&binary, "https://secretsmanager");
        assert_eq!(
            linked,
            f == "query-runner",
            "{f} {} a Secrets Manager client; only query-runner should (Env::start_with_salt)",
            if linked { "links" } else { "does not link" }
        );
    }
}

/// Reading an S3 object (GetObject) links the SDK's response checksum
/// validation and, through it, `crc-fast`: 0.5 MiB of a zip. snapshot-export
/// reads no object: it checks the pinned policy by the checksum S3 keeps
/// (HeadObject, `pinning::check_pinned`). The other four read objects. The
/// mark is a message of that validation's code.
#[test]
fn snapshot_export_does_not_link_s3s_response_checksum_code() {
    for f in FUNCTIONS {
        let linked = contains(&binary(f), "could not be base64 decoded. No checksum validation");
        assert_eq!(
            linked,
            f != "snapshot-export",
            "{f} {} S3's response checksum validation (a GetObject)",
            if linked { "links" } else { "does not link" }
        );
    }
}

/// `make bench` times each function's first event (local/bench/coldstart.py).
/// An event handled otherwise than it is made for (an error, or more work)
/// times something else: catalog-swap's was answered RawNotRegistered once
/// prepare read the raw table too, and only the bench noticed. One run of
/// each, through the stand-in's Runtime API, as the bench runs them.
#[tokio::test]
async fn the_cold_start_events_of_make_bench_are_handled_as_intended() {
    let standin = StandIn::acquire().await;
    let out = std::process::Command::new(snaplake_tests::python())
        .envs(standin.aws_env())
        .args([
            "-m",
            "bench.coldstart",
            "--endpoint",
            &standin.endpoint,
            "--runs",
            "1",
            "--functions",
        ])
        .arg(functions_dir())
        .current_dir(repo_root().join("local"))
        .output()
        .expect("running bench.coldstart");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let result: serde_json::Value = serde_json::from_slice(&out.stdout).expect("bench.coldstart prints JSON");
    for f in FUNCTIONS {
        let (rust, python) = (&result["functions"][f]["rust"], &result["functions"][f]["python"]);
        assert_eq!(rust["as_intended"], true, "{f} answered {}", rust["answer"]);
        // The Python handler makes the same calls, or the comparison is unfair.
        assert_eq!(
            (&rust["calls"], &rust["operations"]),
            (&python["calls"], &python["operations"]),
            "{f}"
        );
    }
}
