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

/// Only query-runner reads a secret (the salt of `hash_salted`, at its
/// start-up). A Secrets Manager client built for every function (in the
/// shared clients) put its code into all five zips. Any code that builds
/// one links the client's endpoint resolver, whose URL template is the mark
/// (the service's name alone also shows in debug info of code not linked).
#[test]
fn only_query_runner_links_a_secrets_manager_client() {
    for f in FUNCTIONS {
        let path = functions_dir().join(f);
        let binary = std::fs::read(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e}; run `cargo build --workspace --bins` first (make test does)",
                path.display()
            )
        });
        let linked = contains(&binary, "https://secretsmanager");
        assert_eq!(
            linked,
            f == "query-runner",
            "{f} {} a Secrets Manager client; only query-runner should (Env::start_with_salt)",
            if linked { "links" } else { "does not link" }
        );
    }
}
