//! Every lockfile fixture against the inventory written next to it
//! (`<file>.expected`: ecosystem, name, version, direct, line[, source]).

use std::path::Path;

use palisade_deps::{inventory_path, Package, WalkOptions};

use crate::fixtures;

fn render(packages: &[Package], own_source: &str) -> String {
    packages
        .iter()
        .map(|p| {
            let mut line = format!(
                "{}\t{}\t{}\t{}\t{}",
                p.ecosystem,
                p.name,
                p.version,
                p.direct.map_or("-".to_string(), |d| d.to_string()),
                p.line.map_or("-".to_string(), |l| l.to_string()),
            );
            if p.source != own_source {
                line.push('\t');
                line.push_str(&p.source);
            }
            line.push('\n');
            line
        })
        .collect()
}

fn expected_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("fixture dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            out.extend(expected_files(&path));
        } else if path.extension().is_some_and(|e| e == "expected") {
            out.push(path);
        }
    }
    out.sort();
    out
}

#[test]
fn every_lockfile_fixture_gives_its_expected_inventory() {
    let expected = expected_files(&fixtures().join("lockfiles"));
    assert!(expected.len() >= 18, "fixtures missing: {}", expected.len());
    let mut failures = Vec::new();
    for expected_path in expected {
        let lockfile = expected_path.with_extension("");
        let name = lockfile
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let inventory = inventory_path(&lockfile, &WalkOptions::default()).expect("inventory");
        assert!(
            inventory.errors.is_empty(),
            "{}: {:?}",
            lockfile.display(),
            inventory.errors
        );
        let got = render(&inventory.packages, &name);
        let want = std::fs::read_to_string(&expected_path).expect("expected file");
        if got != want {
            failures.push(format!(
                "{}\n--- want\n{want}--- got\n{got}",
                lockfile.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_directory_walk_finds_every_format_and_skips_go_sum_next_to_go_mod() {
    let root = fixtures().join("lockfiles");
    let inventory = inventory_path(&root, &WalkOptions::default()).expect("inventory");
    assert!(inventory.errors.is_empty(), "{:?}", inventory.errors);
    let sources: std::collections::BTreeSet<&str> = inventory
        .packages
        .iter()
        .map(|p| p.source.as_str())
        .collect();
    for expected in [
        "cargo/Cargo.lock",
        "npm-v1/package-lock.json",
        "npm-v3/package-lock.json",
        "npm-shrinkwrap/npm-shrinkwrap.json",
        "yarn-classic/yarn.lock",
        "yarn-berry/yarn.lock",
        "pnpm-v6/pnpm-lock.yaml",
        "pnpm-v9/pnpm-lock.yaml",
        "requirements/requirements.txt",
        "requirements/requirements-base.txt",
        "poetry/poetry.lock",
        "pipfile/Pipfile.lock",
        "uv/uv.lock",
        "go/go.mod",
        "gosum-only/go.sum",
        "gem/Gemfile.lock",
        "composer/composer.lock",
        "gradle/gradle.lockfile",
        "maven/pom.xml",
    ] {
        assert!(sources.contains(expected), "{expected} not in {sources:?}");
    }
    assert!(!sources.contains("go/go.sum"));
}

#[test]
fn skip_globs_leave_files_out() {
    let root = fixtures().join("lockfiles");
    let options = WalkOptions {
        skip_paths: vec!["npm-*/**".into()],
        ..WalkOptions::default()
    };
    let inventory = inventory_path(&root, &options).expect("inventory");
    assert!(inventory
        .packages
        .iter()
        .all(|p| !p.source.starts_with("npm-")));
    assert!(inventory
        .packages
        .iter()
        .any(|p| p.source == "cargo/Cargo.lock"));
}

#[test]
fn cargo_lock_keeps_the_dependency_graph() {
    let inventory = inventory_path(
        &fixtures().join("lockfiles/cargo/Cargo.lock"),
        &WalkOptions::default(),
    )
    .expect("inventory");
    let time = inventory
        .packages
        .iter()
        .find(|p| p.name == "time" && p.version == "0.1.45")
        .expect("time 0.1.45");
    assert_eq!(
        time.dependencies,
        vec!["pkg:cargo/libc@0.2.150", "pkg:cargo/time@0.3.30"]
    );
    assert_eq!(
        time.hashes,
        vec!["sha256:1b797afad3f312d1c66a56d11d0316f916356d11bd158fbc6ca6389ff6bf805a"]
    );
}

#[test]
fn package_lock_dependency_edges_follow_node_resolution() {
    let inventory = inventory_path(
        &fixtures().join("lockfiles/npm-v3/package-lock.json"),
        &WalkOptions::default(),
    )
    .expect("inventory");
    let mkdirp = inventory
        .packages
        .iter()
        .find(|p| p.name == "mkdirp")
        .expect("mkdirp");
    // mkdirp's own nested copy of minimist wins over the top-level one.
    assert_eq!(mkdirp.dependencies, vec!["pkg:npm/minimist@1.2.0"]);
}

#[test]
fn poetry_and_uv_dependency_edges_resolve_names_to_locked_versions() {
    let edges = |file: &str, name: &str| {
        inventory_path(&fixtures().join(file), &WalkOptions::default())
            .expect("inventory")
            .packages
            .into_iter()
            .find(|p| p.name == name)
            .expect("package")
            .dependencies
    };
    assert_eq!(
        edges("lockfiles/poetry/poetry.lock", "requests"),
        vec!["pkg:pypi/certifi@2022.12.7", "pkg:pypi/urllib3@1.26.4"]
    );
    assert_eq!(
        edges("lockfiles/uv/uv.lock", "anyio"),
        vec!["pkg:pypi/idna@3.6", "pkg:pypi/sniffio@1.3.1"]
    );
}

/// `<file>.edges`: the dependency edges (`purl -> purl`, sorted) the
/// lockfile gives, as the SBOM's dependency graph lists them.
#[test]
fn dependency_edges_match_their_expected_files() {
    let mut checked = 0;
    for expected_path in expected_files(&fixtures().join("lockfiles")) {
        let lockfile = expected_path.with_extension("");
        let edges_path = lockfile.with_file_name(format!(
            "{}.edges",
            lockfile.file_name().expect("name").to_string_lossy()
        ));
        let Ok(want) = std::fs::read_to_string(&edges_path) else {
            continue;
        };
        let inventory = inventory_path(&lockfile, &WalkOptions::default()).expect("inventory");
        let mut got: Vec<String> = inventory
            .packages
            .iter()
            .flat_map(|p| {
                let from = p.purl();
                p.dependencies
                    .iter()
                    .map(move |to| format!("{from} -> {to}\n"))
            })
            .collect();
        got.sort();
        assert_eq!(got.concat(), want, "{}", edges_path.display());
        checked += 1;
    }
    assert!(checked >= 4, "edge fixtures missing: {checked}");
}

/// A multi-module Maven project: versions from the parent's properties and
/// `<dependencyManagement>`, an imported BOM (a module of the tree), a
/// parent found by `<relativePath>` and one by coordinates; plugin and
/// profile dependencies left out (`maven-multi/expected-inventory.tsv`).
#[test]
fn maven_versions_resolve_through_parents_and_imported_boms() {
    let root = fixtures().join("maven-multi");
    let inventory = inventory_path(&root, &WalkOptions::default()).expect("inventory");
    assert!(inventory.errors.is_empty(), "{:?}", inventory.errors);
    let got = render(&inventory.packages, "");
    let want = std::fs::read_to_string(root.join("expected-inventory.tsv")).expect("expected");
    assert_eq!(got, want, "--- got\n{got}");
}
