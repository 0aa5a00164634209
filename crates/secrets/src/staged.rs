//! Scanning what is staged for the next commit (`git add`ed content), for a
//! pre-commit hook: index entries whose blob differs from HEAD's.

use std::path::Path;

use gix::bstr::ByteSlice;
use palisade_core::{ScanError, ScanOutput};

use crate::detector::Detector;
use crate::error::Error;
use crate::findings::{Collector, Occurrence};
use crate::history::{one_line, scan_blob};
use crate::ScanOptions;

pub fn scan_staged(
    repo_path: &Path,
    detector: &Detector,
    options: &ScanOptions,
) -> Result<ScanOutput, Error> {
    let display = repo_path.display().to_string();
    let repo = gix::discover(repo_path).map_err(|e| Error::Repository {
        path: display.clone(),
        message: one_line(&e),
    })?;
    let index = repo.index_or_empty().map_err(|e| Error::Git {
        path: display.clone(),
        message: format!("cannot read the index: {}", one_line(&e)),
    })?;
    // No HEAD yet (first commit): everything staged is new.
    let head_tree = repo.head_tree().ok();
    let mut collector = Collector::default();
    let mut errors = Vec::new();
    let mut inputs = 0;
    for entry in index.entries() {
        if !matches!(
            entry.mode,
            gix::index::entry::Mode::FILE | gix::index::entry::Mode::FILE_EXECUTABLE
        ) {
            continue;
        }
        let path = entry.path(&index).to_str_lossy().into_owned();
        let unchanged = head_tree.as_ref().is_some_and(|tree| {
            tree.lookup_entry_by_path(path.as_str())
                .ok()
                .flatten()
                .is_some_and(|e| e.object_id() == entry.id)
        });
        if unchanged {
            continue;
        }
        inputs += 1;
        match scan_blob(&repo, entry.id, &path, detector, options) {
            Ok(found) => {
                for found in found {
                    collector.add(Occurrence {
                        path: path.clone(),
                        commit: None,
                        found,
                    });
                }
            }
            Err(message) => errors.push(ScanError {
                path,
                line: None,
                message,
            }),
        }
    }
    Ok(ScanOutput {
        findings: crate::finish(collector, detector, options),
        errors,
        inputs_scanned: inputs,
    })
}
