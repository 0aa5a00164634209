//! Real SigmaHQ rules (read from ../shared/sigma, never copied here) load
//! and compile, and what cannot load is reported with a reason.

use std::path::{Path, PathBuf};

use palisade_detect::{FieldMapping, Loader, RuleKind};

fn sigma_root() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/sigma");
    if root.join("rules").is_dir() {
        Some(root)
    } else {
        eprintln!(
            "skipped: the SigmaHQ rules are not at {} (they are read from the shared directory, never copied into the repository)",
            root.display()
        );
        None
    }
}

fn count_documents(dir: &Path) -> usize {
    let mut total = 0;
    for entry in std::fs::read_dir(dir).expect("readable") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            total += count_documents(&path);
        } else if path.extension().is_some_and(|e| e == "yml" || e == "yaml") {
            let text = std::fs::read_to_string(&path).expect("readable");
            total += text.split("\n---").filter(|d| d.contains("title:")).count();
        }
    }
    total
}

#[test]
fn sigmahq_cloudtrail_rules_load_and_compile() {
    let Some(root) = sigma_root() else { return };
    let dir = root.join("rules/cloud/aws/cloudtrail");
    let mut loader = Loader::new(FieldMapping::default());
    loader.add_path(&dir).expect("the directory is readable");
    let rules = loader.build();
    let loaded = rules
        .rules()
        .iter()
        .filter(|r| r.kind == RuleKind::Sigma)
        .count();
    let documents = count_documents(&dir);
    eprintln!(
        "SigmaHQ CloudTrail: {documents} rules, {loaded} loaded and compiled, {} not loaded",
        rules.problems().len()
    );
    for problem in rules.problems() {
        eprintln!("  not loaded: {problem}");
    }
    // Every rule is accounted for: compiled, or reported with its reason.
    assert_eq!(loaded + rules.problems().len(), documents);
    assert!(
        documents >= 50,
        "expected the SigmaHQ CloudTrail rules, found {documents}"
    );
    // Nearly all of them use only what palisade supports.
    assert!(
        loaded * 100 >= documents * 95,
        "only {loaded} of {documents} SigmaHQ CloudTrail rules compiled"
    );
    assert!(rules
        .rules()
        .iter()
        .all(|r| r.source.as_deref() == Some("cloudtrail")));
    assert!(rules
        .problems()
        .iter()
        .all(|p| !p.reason.is_empty() && p.origin.ends_with(".yml")));
}

#[test]
fn sigmahq_kubernetes_rules_load_and_other_products_are_reported() {
    let Some(root) = sigma_root() else { return };
    let k8s = root.join("rules/application/kubernetes");
    let mut loader = Loader::new(FieldMapping::default());
    loader.add_path(&k8s).expect("readable");
    let rules = loader.build();
    let documents = count_documents(&k8s);
    assert_eq!(rules.rules().len() + rules.problems().len(), documents);
    assert!(
        rules.rules().len() * 100 >= documents * 90,
        "{:?}",
        rules.problems()
    );
    assert!(rules
        .rules()
        .iter()
        .all(|r| r.source.as_deref() == Some("k8s_audit")));

    // Linux rules have no palisade source: each is reported, none silently dropped.
    let linux = root.join("rules/linux");
    let mut loader = Loader::new(FieldMapping::default());
    loader.add_path(&linux).expect("readable");
    let rules = loader.build();
    let documents = count_documents(&linux);
    assert_eq!(rules.rules().len(), 0);
    assert_eq!(rules.problems().len(), documents);
    assert!(rules
        .problems()
        .iter()
        .all(|p| p.reason.contains("has no palisade source") && p.rule.is_some()));
}
