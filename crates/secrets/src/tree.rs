//! Scanning files on disk (a working tree) and standard input.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use globset::{Glob, GlobSet, GlobSetBuilder};
use ignore::WalkState;
use palisade_core::{ScanError, ScanOutput};

use crate::detector::{is_binary, Detector, Source};
use crate::error::Error;
use crate::findings::{Collector, Occurrence};
use crate::ScanOptions;

/// Scans files and directories. Directories are walked honouring
/// `.gitignore` (unless `no_ignore`), hidden files included, `.git` skipped.
///
/// Walking and scanning overlap: each walker thread scans the files it
/// finds, reading them into one buffer it keeps, so no core waits for the
/// directory walk and no file costs a fresh allocation.
pub fn scan_paths(
    paths: &[PathBuf],
    detector: &Detector,
    options: &ScanOptions,
) -> Result<ScanOutput, Error> {
    let skip = skip_set(&options.skip_paths)?;
    let collector = Mutex::new(Collector::default());
    let errors = Mutex::new(Vec::new());
    let scanned = AtomicUsize::new(0);
    for root in paths {
        let root_is_dir = root.is_dir();
        walker(root, options.no_ignore).run(|| {
            let mut buffer = Vec::new();
            let (collector, errors, scanned, skip) = (&collector, &errors, &scanned, &skip);
            Box::new(move |entry| {
                let file = match entry {
                    Ok(entry) => file_entry(&entry, root, root_is_dir),
                    Err(error) => {
                        lock(errors).push(ScanError {
                            path: error_path(&error).unwrap_or_else(|| root.display().to_string()),
                            line: None,
                            message: first_line(&error.to_string()),
                        });
                        return WalkState::Continue;
                    }
                };
                if let Some(file) = file.filter(|f| !skip.is_match(&f.display)) {
                    scanned.fetch_add(1, Ordering::Relaxed);
                    if let Err(error) = scan_file(&file, detector, options, collector, &mut buffer)
                    {
                        lock(errors).push(error);
                    }
                }
                WalkState::Continue
            })
        });
    }
    let mut errors = errors.into_inner().unwrap_or_else(|e| e.into_inner());
    errors.sort_by(|a, b| a.path.cmp(&b.path).then_with(|| a.message.cmp(&b.message)));
    let collector = collector.into_inner().unwrap_or_else(|e| e.into_inner());
    Ok(ScanOutput {
        findings: crate::finish(collector, detector, options),
        errors,
        inputs_scanned: scanned.into_inner(),
    })
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
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

/// Read buffers grow to the largest file read and are cut back to this.
const RETAINED_BUFFER: usize = 8 * 1024 * 1024;

/// A file to scan and the path it is reported under.
struct FileEntry {
    path: PathBuf,
    display: String,
    size: u64,
}

fn walker(root: &Path, no_ignore: bool) -> ignore::WalkParallel {
    ignore::WalkBuilder::new(root)
        .hidden(false)
        .ignore(!no_ignore)
        .git_ignore(!no_ignore)
        .git_global(!no_ignore)
        .git_exclude(!no_ignore)
        .parents(!no_ignore)
        .require_git(false)
        .follow_links(false)
        .filter_entry(|entry| entry.file_name() != ".git")
        .build_parallel()
}

/// The file an entry of the walk names, if it is a regular file.
fn file_entry(entry: &ignore::DirEntry, root: &Path, root_is_dir: bool) -> Option<FileEntry> {
    if !entry.file_type().is_some_and(|t| t.is_file()) {
        return None;
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
    let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
    Some(FileEntry {
        path: path.to_path_buf(),
        display,
        size,
    })
}

fn scan_file(
    file: &FileEntry,
    detector: &Detector,
    options: &ScanOptions,
    collector: &Mutex<Collector>,
    buffer: &mut Vec<u8>,
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
    read_into(&file.path, buffer).map_err(|e| error(format!("cannot read: {e}")))?;
    let content = buffer.as_slice();
    if is_binary(content) {
        return Ok(());
    }
    let found = detector.scan(
        content,
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

/// Reads a whole file into `buffer`, replacing its contents and keeping its
/// allocation (a file is read with one `read` when the buffer is big enough).
fn read_into(path: &Path, buffer: &mut Vec<u8>) -> std::io::Result<()> {
    buffer.clear();
    std::fs::File::open(path)?.read_to_end(buffer)?;
    // One unusually large file should not pin its memory for the rest of the walk.
    if buffer.capacity() > RETAINED_BUFFER && buffer.len() <= RETAINED_BUFFER {
        buffer.shrink_to(RETAINED_BUFFER);
    }
    Ok(())
}

fn add(collector: &Mutex<Collector>, path: &str, found: crate::detector::SecretMatch) {
    lock(collector).add(Occurrence {
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
