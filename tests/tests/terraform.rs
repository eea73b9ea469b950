//! The Terraform roots read against what the code and Terraform itself
//! accept, without running Terraform: the version each root declares, and
//! the module's `name` rule beside the functions' (one list of examples).

use std::path::{Path, PathBuf};

use snaplake::export_id::check_prefix;

fn infra() -> PathBuf {
    snaplake_tests::repo_root().join("infra")
}

/// Every `.tf` file under `dir` (Terraform's own `.terraform` folders left out).
fn tf_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if path.is_dir() && !name.starts_with('.') {
            tf_files(&path, out);
        } else if name.ends_with(".tf") {
            out.push(path);
        }
    }
}

/// The Terraform version a line of configuration needs, where it needs more
/// than 1.6: ephemeral variables came in 1.10, write-only arguments (`*_wo`)
/// in 1.11.
fn needs(line: &str) -> Option<(u32, u32)> {
    let line = line.trim();
    let key = line.split('=').next().unwrap_or("").trim();
    if line.starts_with('#') || !line.contains('=') {
        return None;
    }
    if key.ends_with("_wo") || key.ends_with("_wo_version") {
        return Some((1, 11));
    }
    if key == "ephemeral" && line.ends_with("true") {
        return Some((1, 10));
    }
    None
}

fn required_minimum(text: &str) -> Option<(u32, u32)> {
    let line = text.lines().find(|l| l.trim_start().starts_with("required_version"))?;
    let version = line.split('"').nth(1)?.trim().strip_prefix(">=")?.trim();
    let mut parts = version.split('.').map(|p| p.parse::<u32>().ok());
    Some((parts.next()??, parts.next()??))
}

#[test]
fn every_root_requires_the_terraform_its_configuration_needs() {
    let mut files = Vec::new();
    tf_files(&infra(), &mut files);
    let needed = files
        .iter()
        .flat_map(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            text.lines()
                .filter_map(needs)
                .map(|v| (v, f.clone()))
                .collect::<Vec<_>>()
        })
        .max_by_key(|(v, _)| *v)
        .expect("the module uses an ephemeral variable and a write-only argument");
    assert_eq!(needed.0, (1, 11), "found the newest feature in {}", needed.1.display());
    // The roots use the module, so each needs what the module needs.
    for root in ["modules/snaplake/versions.tf", "envs/aws/main.tf", "envs/local/main.tf"] {
        let text = std::fs::read_to_string(infra().join(root)).unwrap();
        let declared = required_minimum(&text)
            .unwrap_or_else(|| panic!("infra/{root} declares no `required_version = \">= x.y\"`"));
        assert!(
            declared >= needed.0,
            "infra/{root} requires Terraform >= {}.{}, but {} needs {}.{}: older versions fail at init",
            declared.0,
            declared.1,
            needed.1.display(),
            needed.0.0,
            needed.0.1
        );
    }
}

/// The module test's `name_*` runs: (name, whether the module refuses it).
fn name_examples() -> Vec<(String, bool)> {
    let text = std::fs::read_to_string(infra().join("modules/snaplake/tests/module.tftest.hcl")).unwrap();
    text.split("\nrun \"")
        .skip(1)
        .filter(|block| block.starts_with("name_"))
        .map(|block| {
            let name = block
                .lines()
                .find_map(|l| l.trim().strip_prefix("name = \"").and_then(|v| v.strip_suffix('"')))
                .unwrap_or_else(|| panic!("run {block:.40} sets no name"));
            (name.to_string(), block.contains("expect_failures = [var.name]"))
        })
        .collect()
}

#[test]
fn the_module_and_the_functions_accept_the_same_names() {
    let examples = name_examples();
    let refused = examples.iter().filter(|(_, refused)| *refused).count();
    assert!(
        refused >= 5 && examples.len() - refused >= 2,
        "too few examples: {examples:?}"
    );
    for (name, module_refuses) in examples {
        let functions = check_prefix(&name);
        assert_eq!(
            functions.is_err(),
            module_refuses,
            "name {name:?}: the module {} it, the functions {} it ({functions:?})",
            if module_refuses { "refuses" } else { "accepts" },
            if functions.is_err() { "refuse" } else { "accept" },
        );
    }
}
