//! The OSV fixture records against the lockfile fixtures: the findings must
//! be exactly those in `fixtures/osv/expected-findings.tsv`.

use palisade_core::{FindingDetails, Severity};
use palisade_deps::matching::{match_packages, AdvisoryIndex, Exploitation};
use palisade_deps::osv::{read_records, ReadLimits};
use palisade_deps::{inventory_path, WalkOptions};

use crate::fixtures;

pub fn fixture_index() -> AdvisoryIndex {
    let mut index = AdvisoryIndex::default();
    let problems = read_records(
        &fixtures().join("osv"),
        &ReadLimits::default(),
        &mut |raw| index.insert(raw.record),
    )
    .expect("read fixtures");
    assert!(problems.is_empty(), "{problems:?}");
    index
}

fn render(findings: &[palisade_core::Finding]) -> String {
    let mut lines: Vec<String> = findings
        .iter()
        .map(|f| {
            let Some(FindingDetails::Vulnerability(d)) = &f.details else {
                panic!("finding without vulnerability details: {f:?}");
            };
            format!(
                "{}:{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
                f.location.as_ref().map_or("", |l| l.path.as_str()),
                f.location.as_ref().map_or(0, |l| l.start_line),
                d.package,
                d.installed_version,
                d.advisory_ids.join(","),
                f.severity,
                d.cvss_score.map_or("-".to_string(), |s| s.to_string()),
                if d.fixed_versions.is_empty() {
                    "-".to_string()
                } else {
                    d.fixed_versions.join(",")
                },
            )
        })
        .collect();
    lines.sort();
    lines.concat()
}

#[test]
fn fixture_lockfiles_give_exactly_the_expected_findings() {
    let index = fixture_index();
    let inventory =
        inventory_path(&fixtures().join("lockfiles"), &WalkOptions::default()).expect("walk");
    let output = match_packages(&inventory.packages, &index, &Exploitation::default());
    let got = render(&output.findings);
    let want = std::fs::read_to_string(fixtures().join("osv/expected-findings.tsv"))
        .expect("expected findings");
    assert_eq!(got, want, "--- got\n{got}");
    // PYSEC-2021-142 has a GIT range next to its ECOSYSTEM one.
    assert!(output.git_ranges_ignored.contains("PYSEC-2021-142"));
}

#[test]
fn aliases_merge_into_one_finding_named_by_its_cve() {
    let index = fixture_index();
    let packages = vec![palisade_deps::Package::new(
        palisade_deps::Ecosystem::PyPI,
        "PyYAML",
        "5.3.1",
        "requirements.txt",
    )];
    let output = match_packages(&packages, &index, &Exploitation::default());
    assert_eq!(output.findings.len(), 1);
    let Some(FindingDetails::Vulnerability(d)) = &output.findings[0].details else {
        panic!("no details");
    };
    assert_eq!(
        d.advisory_ids,
        vec!["CVE-2020-14343", "GHSA-8q59-q68h-6hv4", "PYSEC-2021-142"]
    );
    assert_eq!(output.findings[0].severity, Severity::Critical);
    assert!(output.findings[0].message.contains("fixed in 5.4"));
}

#[test]
fn known_exploited_and_epss_are_attached_by_cve() {
    let index = fixture_index();
    let packages = vec![palisade_deps::Package::new(
        palisade_deps::Ecosystem::Maven,
        "org.apache.logging.log4j:log4j-core",
        "2.14.1",
        "pom.xml",
    )];
    let mut exploitation = Exploitation::default();
    exploitation.known_exploited.insert("CVE-2021-44228".into());
    exploitation.epss.insert("CVE-2021-44228".into(), 0.94358);
    let output = match_packages(&packages, &index, &exploitation);
    let Some(FindingDetails::Vulnerability(d)) = &output.findings[0].details else {
        panic!("no details");
    };
    assert!(d.known_exploited);
    assert_eq!(d.epss, Some(0.94358));
}

#[test]
fn fixed_versions_and_unaffected_versions() {
    let index = fixture_index();
    let check = |name: &str, version: &str| {
        let packages = vec![palisade_deps::Package::new(
            palisade_deps::Ecosystem::Maven,
            name,
            version,
            "pom.xml",
        )];
        match_packages(&packages, &index, &Exploitation::default())
            .findings
            .len()
    };
    let log4j = "org.apache.logging.log4j:log4j-core";
    assert_eq!(check(log4j, "2.0-beta9"), 1);
    assert_eq!(check(log4j, "2.0-beta8"), 0);
    assert_eq!(check(log4j, "2.3.1"), 0);
    assert_eq!(check(log4j, "2.12.1"), 1);
    assert_eq!(check(log4j, "2.12.2"), 0);
    assert_eq!(check(log4j, "2.15.0"), 0);
    assert_eq!(check(log4j, "2.15.0-rc1"), 1);
}
