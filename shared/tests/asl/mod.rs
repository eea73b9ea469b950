//! Reading the state machine definition, for the tests that check it
//! against the code (`retries.rs`, `contract.rs`).

// Each test crate uses only some of these.
#![allow(dead_code)]

use serde_json::Value;

pub fn repo_file(path: &str) -> String {
    std::fs::read_to_string(format!("{}/../{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// The definition with every `${...}` template variable set: a number to
/// 1, one inside a string (a function's ARN) to its name,
/// `${catalog_swap_arn}` to `catalog_swap_arn`.
pub fn definition() -> Value {
    let mut text = repo_file("infra/modules/snaplake/pipeline.asl.json");
    while let Some(start) = text.find("${") {
        let end = start + text[start..].find('}').unwrap();
        let value = if text[..start].ends_with('"') {
            text[start + 2..end].to_string()
        } else {
            "1".to_string()
        };
        text.replace_range(start..=end, &value);
    }
    serde_json::from_str(&text).unwrap()
}

/// Every state, nested ones (Map item processors) included, with its name.
pub fn states(machine: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for (name, state) in machine["States"].as_object().unwrap() {
        out.push((name.clone(), state.clone()));
        for inner in ["ItemProcessor", "Iterator"] {
            if state.get(inner).is_some() {
                out.extend(states(&state[inner]));
            }
        }
    }
    out
}
