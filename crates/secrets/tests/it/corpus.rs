//! Recall and precision on the labelled corpus in `tests/fixtures/corpus`:
//! planted secrets listed in `corpus.expected.tsv`, and decoys (everything
//! else) that a good scanner must not report.

use std::collections::BTreeSet;
use std::path::PathBuf;

use palisade_secrets::{tree, ScanOptions};

use crate::builtin_detector;

#[test]
fn recall_and_precision_on_the_labelled_corpus() {
    let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let expected_text =
        std::fs::read_to_string(fixtures.join("corpus.expected.tsv")).expect("expected file");
    let expected: BTreeSet<(String, u32)> = expected_text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let mut parts = l.split('\t');
            let path = parts.next().expect("path").to_string();
            let line = parts
                .next()
                .expect("line")
                .trim()
                .parse()
                .expect("line number");
            (path, line)
        })
        .collect();
    let detector = builtin_detector();
    let options = ScanOptions {
        no_ignore: true,
        ..ScanOptions::default()
    };
    let output = tree::scan_paths(&[fixtures.join("corpus")], detector, &options).expect("scans");
    let reported: BTreeSet<(String, u32)> = output
        .findings
        .iter()
        .flat_map(|f| f.location.iter().chain(&f.other_locations))
        .map(|l| (l.path.clone(), l.start_line))
        .collect();
    let true_positives = reported.intersection(&expected).count();
    let missed: Vec<_> = expected.difference(&reported).collect();
    let false_positives: Vec<_> = reported.difference(&expected).collect();
    let recall = true_positives as f64 / expected.len() as f64;
    let precision = true_positives as f64 / reported.len().max(1) as f64;
    eprintln!(
        "corpus: {} planted, {} reported, recall {:.3}, precision {:.3}\nmissed: {missed:?}\nfalse positives: {false_positives:?}",
        expected.len(),
        reported.len(),
        recall,
        precision
    );
    assert!(
        expected.len() >= 50,
        "the corpus plants {} secrets",
        expected.len()
    );
    assert!(recall >= 0.95, "recall {recall:.3}; missed {missed:?}");
    assert!(
        precision >= 0.95,
        "precision {precision:.3}; false positives {false_positives:?}"
    );
}
