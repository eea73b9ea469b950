//! `make standin` / `make standin-stop`: start prints a working endpoint, a
//! second start reuses it, stop leaves no process behind.

use std::path::Path;
use std::process::Command;

use snaplake_tests::{control, python, repo_root};

fn standin(state_dir: &Path, command: &str) -> (bool, String) {
    let out = Command::new(python())
        .args(["-m", "standin", command])
        .current_dir(repo_root().join("local"))
        .env("SNAPLAKE_STANDIN_DIR", state_dir)
        .env_remove("SNAPLAKE_STANDIN_PORT")
        .output()
        .expect("running python -m standin");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).trim().to_string(),
    )
}

fn alive(pid: u64) -> bool {
    // A zombie has exited; only a running process counts.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| stat.split_whitespace().nth(2) != Some("Z"))
        .unwrap_or(false)
}

#[test]
fn start_reuse_stop_leaves_nothing_behind() {
    let dir = repo_root().join(format!(".local/test-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);

    let (ok, endpoint) = standin(&dir, "start");
    assert!(
        ok && endpoint.starts_with("http://127.0.0.1:"),
        "start printed {endpoint:?}"
    );
    control(&endpoint, "GET", "/_snaplake/health", "").expect("the started stand-in answers");
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("state.json")).unwrap()).unwrap();
    let pid = state["pid"].as_u64().unwrap();
    assert!(alive(pid));

    let (ok, again) = standin(&dir, "start");
    assert!(ok);
    assert_eq!(again, endpoint, "a second start reuses the running stand-in");
    assert_eq!(standin(&dir, "status"), (true, endpoint.clone()));

    let (ok, said) = standin(&dir, "stop");
    assert!(ok && said.contains(&pid.to_string()), "{said}");
    assert!(!alive(pid), "pid {pid} still running after stop");
    assert!(
        control(&endpoint, "GET", "/_snaplake/health", "").is_err(),
        "the port still answers"
    );
    assert!(!dir.join("state.json").exists());
    assert!(!standin(&dir, "status").0, "status after stop must say not running");
    assert_eq!(standin(&dir, "stop"), (true, "standin: not running".to_string()));
    let _ = std::fs::remove_dir_all(&dir);
}
