//! Scanning files on disk (a working tree) and standard input.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use globset::{Glob, GlobSet, GlobSetBuilder};
use palisade_core::{ScanError, ScanOutput};
use rayon::prelude::*;

use crate::detector::{is_binary, Detector, Source};
use crate::error::Error;
use crate::findings::{Collector, Occurrence};
use crate::ScanOptions;

/// Scans files and directories. Directories are walked honouring
/// `.gitignore` (unless `no_ignore`), hidden files included, `.git` skipped.
pub fn scan_paths(
    paths: &[PathBuf],
    detector: &Detector,
    options: &ScanOptions,
) -> Result<ScanOutput, Error> {
    let skip = skip_set(&options.skip_paths)?;
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for root in paths {
        collect_files(root, options.no_ignore, &skip, &mut files, &mut errors);
    }
    let collector = Mutex::new(Collector::default());
    let file_errors: Vec<ScanError> = files
        .par_iter()
        .filter_map(|file| scan_file(file, detector, options, &collector).err())
        .collect();
    errors.extend(file_errors);
    errors.sort_by(|a, b| a.path.cmp(&b.path));
    let collector = collector.into_inner().unwrap_or_else(|e| e.into_inner());
    Ok(ScanOutput {
        findings: crate::finish(collector, detector, options),
        errors,
        inputs_scanned: files.len(),
    })
}

/// Scans one buffer read from standard input, reported as `name`.
pub fn scan_bytes(
    name: &str,
    content: &[u8],
    detector: &Detector,
    options: &ScanOptions,
) -> ScanOutput {
    let mut collector = Collector::default();
    for found in detector.scan(
        content,
        Source {
            path: name,
            commit: None,
        },
    ) {
        collector.add(Occurrence {
            path: name.to_string(),
            commit: None,
            found,
        });
    }
    ScanOutput {
        findings: crate::finish(collector, detector, options),
        errors: Vec::new(),
        inputs_scanned: 1,
    }
}

/// A file to scan and the path it is reported under.
struct FileEntry {
    path: PathBuf,
    display: String,
    size: u64,
}

fn collect_files(
    root: &Path,
    no_ignore: bool,
    skip: &GlobSet,
    files: &mut Vec<FileEntry>,
    errors: &mut Vec<ScanError>,
) {
    let root_is_dir = root.is_dir();
    let walker = ignore::WalkBuilder::new(root)
        .hidden(false)
        .ignore(!no_ignore)
        .git_ignore(!no_ignore)
        .git_global(!no_ignore)
        .git_exclude(!no_ignore)
        .parents(!no_ignore)
        .require_git(false)
        .follow_links(false)
        .filter_entry(|entry| entry.file_name() != ".git")
        .build();
    for entry in walker {
        let entry = match entry {
            Ok(entry) => entry,
            Err(error) => {
                errors.push(ScanError {
                    path: error_path(&error).unwrap_or_else(|| root.display().to_string()),
                    line: None,
                    message: first_line(&error.to_string()),
                });
                continue;
            }
        };
        if !entry.file_type().is_some_and(|t| t.is_file()) {
            continue;
        }
        let path = entry.path();
        let display = if root_is_dir {
            path.strip_prefix(root)
                .unwrap_or(path)
                .to_string_lossy()
                .replace('\\', "/")
        } else {
            path.to_string_lossy().into_owned()
        };
        if skip.is_match(&display) {
            continue;
        }
        let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
        files.push(FileEntry {
            path: path.to_path_buf(),
            display,
            size,
        });
    }
}

fn scan_file(
    file: &FileEntry,
    detector: &Detector,
    options: &ScanOptions,
    collector: &Mutex<Collector>,
) -> Result<(), ScanError> {
    let error = |message: String| ScanError {
        path: file.display.clone(),
        line: None,
        message,
    };
    if detector.skips_path(&file.display) {
        return Ok(());
    }
    for rule in detector.path_only_rules(&file.display) {
        add(
            collector,
            &file.display,
            detector.path_match(rule, &file.display),
        );
    }
    if file.size > options.max_file_size {
        return Err(error(format!(
            "not scanned: {} bytes is over the {}-byte limit (--max-file-size)",
            file.size, options.max_file_size
        )));
    }
    let content = std::fs::read(&file.path).map_err(|e| error(format!("cannot read: {e}")))?;
    if is_binary(&content) {
        return Ok(());
    }
    let found = detector.scan(
        &content,
        Source {
            path: &file.display,
            commit: None,
        },
    );
    for found in found {
        add(collector, &file.display, found);
    }
    Ok(())
}

fn add(collector: &Mutex<Collector>, path: &str, found: crate::detector::SecretMatch) {
    let mut collector = collector.lock().unwrap_or_else(|e| e.into_inner());
    collector.add(Occurrence {
        path: path.to_string(),
        commit: None,
        found,
    });
}

pub(crate) fn skip_set(globs: &[String]) -> Result<GlobSet, Error> {
    let mut builder = GlobSetBuilder::new();
    for glob in globs {
        let glob = glob.trim_end_matches('/');
        for pattern in [glob.to_string(), format!("{glob}/**")] {
            builder.add(Glob::new(&pattern).map_err(|e| Error::Config {
                origin: "skip paths".to_string(),
                message: e.to_string(),
                line: None,
            })?);
        }
    }
    builder.build().map_err(|e| Error::Config {
        origin: "skip paths".to_string(),
        message: e.to_string(),
        line: None,
    })
}

fn error_path(error: &ignore::Error) -> Option<String> {
    match error {
        ignore::Error::WithPath { path, .. } => Some(path.display().to_string()),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            error_path(err)
        }
        _ => None,
    }
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or(text).to_string()
}
