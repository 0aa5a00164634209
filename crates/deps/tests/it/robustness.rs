//! Damaged and unknown inputs: one clear error for the file, the walk goes on.

use palisade_deps::{inventory_path, WalkOptions};

fn write(dir: &std::path::Path, path: &str, content: &str) {
    let path = dir.join(path);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, content).expect("write");
}

#[test]
fn corrupt_and_unknown_lockfiles_are_errors_and_the_rest_is_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "a/package-lock.json",
        "{\"lockfileVersion\": 3, \"packages\": {",
    );
    write(
        dir.path(),
        "b/package-lock.json",
        "{\"lockfileVersion\": 7, \"packages\": {}}",
    );
    write(dir.path(), "c/Cargo.lock", "[[package]\nname = ");
    write(dir.path(), "d/pnpm-lock.yaml", "lockfileVersion: '3.0'\n");
    write(
        dir.path(),
        "e/yarn.lock",
        "lodash@^4:\n  version \"4.17.21\"\nnot a header\n",
    );
    write(
        dir.path(),
        "f/Gemfile.lock",
        "GEM\n  specs:\n    rack 2.2.3\n",
    );
    write(
        dir.path(),
        "g/go.mod",
        "module x\nrequire (\n\tgithub.com/a/b v1.0.0\n",
    );
    write(dir.path(), "h/uv.lock", "version = 9\n");
    write(dir.path(), "i/Pipfile.lock", "\u{0}\u{1}binary");
    write(
        dir.path(),
        "ok/go.mod",
        "module ok\nrequire github.com/gorilla/websocket v1.4.0\n",
    );
    let inventory = inventory_path(dir.path(), &WalkOptions::default()).expect("walk");
    let mut errors: Vec<String> = inventory.errors.iter().map(|e| e.to_string()).collect();
    errors.sort();
    assert_eq!(errors.len(), 9, "{errors:#?}");
    assert!(errors[0].starts_with("a/package-lock.json:"), "{errors:#?}");
    assert!(
        errors[1].contains("unsupported lockfileVersion 7"),
        "{errors:#?}"
    );
    assert!(
        errors[3].contains("unsupported lockfileVersion 3.0"),
        "{errors:#?}"
    );
    assert!(errors[4].starts_with("e/yarn.lock:3:"), "{errors:#?}");
    assert!(
        errors[7].contains("unsupported uv.lock version 9"),
        "{errors:#?}"
    );
    assert!(errors.iter().all(|e| !e.contains('\n')), "{errors:#?}");
    assert_eq!(inventory.packages.len(), 1);
    assert_eq!(inventory.packages[0].name, "github.com/gorilla/websocket");
}

#[test]
fn oversized_lockfiles_are_reported_not_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "go.sum",
        &"github.com/a/b v1.0.0 h1:x=\n".repeat(100),
    );
    let options = WalkOptions {
        max_file_size: 100,
        ..WalkOptions::default()
    };
    let inventory = inventory_path(dir.path(), &options).expect("walk");
    assert_eq!(inventory.packages.len(), 0);
    assert_eq!(inventory.errors.len(), 1);
    assert!(inventory.errors[0]
        .message
        .contains("larger than the 100-byte limit"));
}

#[test]
fn requirements_includes_cannot_leave_the_scanned_tree() {
    let outside = tempfile::tempdir().expect("tempdir");
    write(outside.path(), "secret.txt", "leaked==1.0\n");
    let dir = tempfile::tempdir().expect("tempdir");
    let escape = format!(
        "-r ../../../../../../../../..{}/secret.txt\n",
        outside.path().display()
    );
    write(
        dir.path(),
        "requirements.txt",
        &format!("{escape}-r /etc/passwd\nok==1.0\n"),
    );
    let inventory = inventory_path(dir.path(), &WalkOptions::default()).expect("walk");
    let names: Vec<&str> = inventory.packages.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, vec!["ok"]);
}

#[test]
fn yaml_alias_bombs_are_refused() {
    // "Billion laughs": nine levels of nine aliases each.
    let mut yaml = String::from("lockfileVersion: '9.0'\na: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
    let mut previous = 'a';
    for level in ['b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'] {
        let refs = vec![format!("*{previous}"); 9].join(",");
        yaml.push_str(&format!("{level}: &{level} [{refs}]\n"));
        previous = level;
    }
    yaml.push_str("packages:\n  lodash@4.17.21: *i\n");
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "pnpm-lock.yaml", &yaml);
    write(
        dir.path(),
        "yarn.lock",
        &format!("__metadata:\n  version: 8\n{yaml}"),
    );
    let started = std::time::Instant::now();
    let inventory = inventory_path(dir.path(), &WalkOptions::default()).expect("walk");
    assert!(started.elapsed().as_secs() < 10);
    assert_eq!(inventory.errors.len(), 2, "{:?}", inventory.errors);
    assert!(inventory.packages.is_empty());
}

/// Every prefix of every fixture (truncated downloads, half-written files)
/// and every fixture with bytes flipped parses to packages or an error, never a panic.
#[test]
fn truncated_and_mangled_lockfiles_never_panic() {
    use palisade_deps::lockfile::{parse, LockfileKind};
    let root = crate::fixtures().join("lockfiles");
    let mut checked = 0;
    for dir in std::fs::read_dir(&root).expect("fixtures") {
        for file in std::fs::read_dir(dir.expect("dir").path()).expect("files") {
            let path = file.expect("file").path();
            let name = path
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            let Some(kind) = LockfileKind::from_file_name(&name) else {
                continue;
            };
            let content = std::fs::read_to_string(&path).expect("utf-8 fixture");
            let boundaries: Vec<usize> = (0..=content.len())
                .filter(|i| content.is_char_boundary(*i))
                .collect();
            for &end in boundaries.iter().step_by(5) {
                let _ = parse(kind, &name, &content[..end], &mut |_, _| None);
                checked += 1;
            }
            for (i, _) in content.char_indices().step_by(19) {
                let mut mangled = content.clone();
                let replacement = ["\"", "{", "\n", ":", "(", "<", "[", "@", "=", "\\"][i % 10];
                let end = i + content[i..].chars().next().map_or(0, char::len_utf8);
                mangled.replace_range(i..end, replacement);
                let _ = parse(kind, &name, &mangled, &mut |_, _| None);
                checked += 1;
            }
        }
    }
    assert!(checked > 3_000, "only {checked} variants checked");
}
