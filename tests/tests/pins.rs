//! What the project installs is pinned to the byte: every Python package of
//! `make deps` (and `make bench`'s cargo-lambda) by version and hash, and
//! pip told to refuse anything else.

fn repo(path: &str) -> String {
    std::fs::read_to_string(snaplake_tests::repo_root().join(path)).unwrap()
}

const REQUIREMENTS: [&str; 3] = [
    "local/requirements.txt",
    "local/requirements-tools.txt",
    "local/requirements-lambda.txt",
];

#[test]
fn every_python_requirement_is_pinned_with_its_hashes() {
    for file in REQUIREMENTS {
        let text = repo(file).replace("\\\n", " ");
        let requirements: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect();
        assert!(!requirements.is_empty(), "{file} lists nothing");
        for line in requirements {
            let name = line.split_whitespace().next().unwrap();
            assert!(name.contains("=="), "{file}: {name} is not pinned with ==");
            assert!(line.contains("--hash=sha256:"), "{file}: {name} has no --hash");
        }
    }
}

#[test]
fn the_makefile_installs_each_requirements_file_requiring_hashes() {
    let makefile = repo("Makefile");
    for file in REQUIREMENTS {
        let installs: Vec<&str> = makefile
            .lines()
            .filter(|l| l.contains("pip install") && l.contains(file))
            .collect();
        assert!(!installs.is_empty(), "the Makefile never installs {file}");
        for line in installs {
            assert!(
                line.contains("--require-hashes"),
                "installs {file} without --require-hashes: {line}"
            );
        }
    }
}
