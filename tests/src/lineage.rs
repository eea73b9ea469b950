//! A run's lineage as the tests read it: the events the stand-in's Glue
//! accepted, its lineage graph (GetLineageNode), and the OpenLineage
//! client's own validation of the events (`local/lineage_check.py`, with
//! openlineage-python from PyPI: a client nobody on the team wrote).

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::{StandIn, control, repo_root};

/// The events the stand-in's PostLineageEvent accepted since its last reset.
pub fn posted(standin: &StandIn) -> Vec<Value> {
    let text = control(&standin.endpoint, "GET", "/_snaplake/glue/lineage", "")
        .unwrap_or_else(|e| panic!("stand-in lineage events: {e}"));
    let answer: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
    answer["events"].as_array().cloned().unwrap_or_default()
}

/// Glue's GetLineageNode, by a node id or a source identifier (a Glue
/// table's ARN).
pub fn node(standin: &StandIn, identifier: &str) -> Result<Value, String> {
    crate::json_api_call(
        standin,
        "glue",
        "AWSGlue.GetLineageNode",
        &json!({ "Identifier": identifier }),
    )
}

/// The source identifiers of the nodes directly upstream of `identifier`.
pub fn upstream(standin: &StandIn, identifier: &str) -> Vec<String> {
    let node = node(standin, identifier).unwrap_or_else(|e| panic!("GetLineageNode {identifier}: {e}"));
    node["UpstreamNodes"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|up| {
            let id = up["Id"].as_str().unwrap_or_default();
            let up = self::node(standin, id).unwrap_or_else(|e| panic!("GetLineageNode {id}: {e}"));
            up["SourceIdentifier"].as_str().unwrap_or_default().to_string()
        })
        .collect()
}

/// Validates events with the OpenLineage Python client; Err with its report.
pub fn check_with_openlineage_client(events: &[Value]) -> Result<String, String> {
    let root = repo_root();
    let mut child = Command::new(root.join(".venv/bin/python"))
        .arg(root.join("local/lineage_check.py"))
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("running local/lineage_check.py (make deps installs .venv): {e}"));
    child
        .stdin
        .take()
        .expect("piped")
        .write_all(Value::from(events.to_vec()).to_string().as_bytes())
        .expect("the checker reads its input");
    let out = child.wait_with_output().expect("the checker ends");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() { Ok(report) } else { Err(report) }
}
