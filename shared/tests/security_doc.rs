//! SECURITY.md names the test behind each claim; this keeps those names true. Every
//! `module::test_name` it quotes must be a function in the workspace, and every browser test it
//! quotes by title (`name.spec.mjs` "title") must be a test in that file. A renamed or deleted
//! test then fails here instead of leaving a claim without proof.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::path::{Path, PathBuf};

const DOC: &str = include_str!("../../SECURITY.md");

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every file under `dir` with extension `ext`, outside build output and dependencies.
fn sources(dir: &Path, ext: &str, found: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if path.is_dir() {
            if !matches!(name.to_str(), Some("target" | "node_modules" | ".git")) {
                sources(&path, ext, found);
            }
        } else if path.extension().and_then(|e| e.to_str()) == Some(ext) {
            found.push(std::fs::read_to_string(&path).unwrap_or_default());
        }
    }
}

/// The spans between backticks.
fn quoted(doc: &str) -> impl Iterator<Item = &str> {
    doc.split('`').skip(1).step_by(2)
}

fn is_ident(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[test]
fn every_test_security_md_names_exists() {
    let mut rust = Vec::new();
    for dir in ["server", "client", "shared", "argon2"] {
        sources(&root().join(dir), "rs", &mut rust);
    }
    let names: Vec<&str> = quoted(DOC)
        .filter(|span| span.contains("::"))
        .filter(|span| span.split("::").all(is_ident))
        .filter_map(|span| span.rsplit("::").next())
        .collect();
    assert!(names.len() > 30, "too few test names found: {names:?}");
    let missing: Vec<&&str> = names
        .iter()
        .filter(|name| {
            !rust
                .iter()
                .any(|file| file.contains(&format!("fn {name}(")))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "SECURITY.md names missing tests: {missing:?}"
    );
}

#[test]
fn every_browser_test_security_md_names_exists() {
    // Lines are wrapped anywhere: one space for every run of white space.
    let doc = DOC.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut titles = Vec::new();
    for (at, _) in doc.match_indices(".spec.mjs` \"") {
        let file_start = doc[..at].rfind('`').unwrap() + 1;
        let file = &doc[file_start..at];
        let title_start = at + ".spec.mjs` \"".len();
        let title = &doc[title_start..title_start + doc[title_start..].find('"').unwrap()];
        titles.push((format!("{file}.spec.mjs"), title.to_owned()));
    }
    assert!(titles.len() >= 4, "{titles:?}");
    for (file, title) in titles {
        let name = Path::new(&file)
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        let spec = std::fs::read_to_string(root().join("e2e/tests").join(&name)).unwrap();
        assert!(
            spec.contains(&format!("test(\"{title}\"")),
            "SECURITY.md names a test {name} does not have: {title}"
        );
    }
}
