//! What each function's binary links, where it shows in the zip's size
//! (BENCHMARKS.md, "Package size per function"). Reads the handler binaries
//! of this build (`cargo build --workspace --bins` first, as for every test
//! that runs them).

use snaplake_tests::{FUNCTIONS, functions_dir};

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
