//! Lockfile and manifest parsers, and the walk that finds them.
//!
//! Each parser turns one file's text into [`Package`]s and never reads
//! anything else, except `requirements*.txt`, whose `-r` includes are read
//! through the caller's reader (so they stay inside the scanned tree).

mod cargo;
mod composer;
mod gem;
mod go;
mod gradle;
mod maven;
mod npm;
mod pnpm;
mod python;
mod yarn;

use std::path::{Component, Path, PathBuf};

use palisade_core::ScanError;

use crate::error::{Error, Result};
use crate::inventory::Package;

/// Reads an included file: `(including file, name)` to `(shown path, text)`.
pub type IncludeReader<'a> = dyn FnMut(&str, &str) -> Option<(String, String)> + 'a;

pub use maven::PomFinder;

/// Lockfiles and manifests larger than this are reported, not read.
pub const DEFAULT_MAX_LOCKFILE_SIZE: u64 = 64 * 1024 * 1024;

/// The file formats palisade inventories.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LockfileKind {
    CargoLock,
    /// `package-lock.json` or `npm-shrinkwrap.json`, lockfileVersion 1 to 3.
    NpmLock,
    /// `yarn.lock`, classic (v1) or berry (v2+).
    YarnLock,
    PnpmLock,
    /// `requirements*.txt`: pinned requirements (`==`), hashes, `-r` includes.
    Requirements,
    PoetryLock,
    PipfileLock,
    UvLock,
    GoMod,
    /// `go.sum`, read only where no `go.mod` sits next to it.
    GoSum,
    GemfileLock,
    ComposerLock,
    GradleLockfile,
    /// `pom.xml`: its dependencies, versions resolved through parents and BOMs.
    PomXml,
}

impl LockfileKind {
    /// Recognises a lockfile by its file name.
    pub fn from_file_name(name: &str) -> Option<LockfileKind> {
        Some(match name {
            "Cargo.lock" => LockfileKind::CargoLock,
            "package-lock.json" | "npm-shrinkwrap.json" => LockfileKind::NpmLock,
            "yarn.lock" => LockfileKind::YarnLock,
            "pnpm-lock.yaml" => LockfileKind::PnpmLock,
            "poetry.lock" => LockfileKind::PoetryLock,
            "Pipfile.lock" => LockfileKind::PipfileLock,
            "uv.lock" => LockfileKind::UvLock,
            "go.mod" => LockfileKind::GoMod,
            "go.sum" => LockfileKind::GoSum,
            "Gemfile.lock" | "gems.locked" => LockfileKind::GemfileLock,
            "composer.lock" => LockfileKind::ComposerLock,
            "gradle.lockfile" => LockfileKind::GradleLockfile,
            "pom.xml" => LockfileKind::PomXml,
            name if name.starts_with("requirements") && name.ends_with(".txt") => {
                LockfileKind::Requirements
            }
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            LockfileKind::CargoLock => "Cargo.lock",
            LockfileKind::NpmLock => "package-lock.json",
            LockfileKind::YarnLock => "yarn.lock",
            LockfileKind::PnpmLock => "pnpm-lock.yaml",
            LockfileKind::Requirements => "requirements.txt",
            LockfileKind::PoetryLock => "poetry.lock",
            LockfileKind::PipfileLock => "Pipfile.lock",
            LockfileKind::UvLock => "uv.lock",
            LockfileKind::GoMod => "go.mod",
            LockfileKind::GoSum => "go.sum",
            LockfileKind::GemfileLock => "Gemfile.lock",
            LockfileKind::ComposerLock => "composer.lock",
            LockfileKind::GradleLockfile => "gradle.lockfile",
            LockfileKind::PomXml => "pom.xml",
        }
    }
}

/// Parses one lockfile's `content`; `path` is how packages name their source.
///
/// `read_include(from, name)` reads the file `name`, relative to the file
/// `from` (requirements `-r` includes), and returns its shown path and text;
/// `None` when it is outside the scanned tree or cannot be read.
pub fn parse(
    kind: LockfileKind,
    path: &str,
    content: &str,
    read_include: &mut IncludeReader<'_>,
) -> Result<Vec<Package>> {
    parse_with_poms(kind, path, content, read_include, &mut |_, _, _| None)
}

/// [`parse`], where `find_pom(group, artifact, version)` finds the parent
/// POMs and imported BOMs a `pom.xml` names by coordinates.
pub fn parse_with_poms(
    kind: LockfileKind,
    path: &str,
    content: &str,
    read_include: &mut IncludeReader<'_>,
    find_pom: &mut PomFinder<'_>,
) -> Result<Vec<Package>> {
    match kind {
        LockfileKind::CargoLock => cargo::parse(path, content),
        LockfileKind::NpmLock => npm::parse(path, content),
        LockfileKind::YarnLock => yarn::parse(path, content),
        LockfileKind::PnpmLock => pnpm::parse(path, content),
        LockfileKind::Requirements => python::parse_requirements(path, content, read_include),
        LockfileKind::PoetryLock => python::parse_poetry(path, content),
        LockfileKind::PipfileLock => python::parse_pipfile(path, content),
        LockfileKind::UvLock => python::parse_uv(path, content),
        LockfileKind::GoMod => go::parse_mod(path, content),
        LockfileKind::GoSum => go::parse_sum(path, content),
        LockfileKind::GemfileLock => gem::parse(path, content),
        LockfileKind::ComposerLock => composer::parse(path, content),
        LockfileKind::GradleLockfile => gradle::parse(path, content),
        LockfileKind::PomXml => maven::parse(path, content, read_include, find_pom),
    }
}

/// Options of a directory inventory.
#[derive(Debug, Clone)]
pub struct WalkOptions {
    pub max_file_size: u64,
    /// Globs (relative to the root) of paths to leave out.
    pub skip_paths: Vec<String>,
}

impl Default for WalkOptions {
    fn default() -> Self {
        Self {
            max_file_size: DEFAULT_MAX_LOCKFILE_SIZE,
            skip_paths: Vec::new(),
        }
    }
}

/// What a directory inventory found.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    pub packages: Vec<Package>,
    pub errors: Vec<ScanError>,
    /// Lockfiles and manifests read (including ones that failed).
    pub files: Vec<String>,
}

/// Directories never descended into: installed copies, not declarations.
const SKIPPED_DIRS: [&str; 4] = ["node_modules", ".git", "target", ".venv"];

/// Finds every lockfile and manifest under `root` (or `root` itself, if it
/// is a file) and inventories them. A file that cannot be read or parsed
/// becomes a [`ScanError`]; the walk goes on.
pub fn inventory_path(root: &Path, options: &WalkOptions) -> Result<Inventory> {
    let mut inventory = Inventory::default();
    if root.is_file() {
        let name = root
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let Some(kind) = LockfileKind::from_file_name(&name) else {
            return Err(Error::Unsupported {
                path: root.display().to_string(),
                what: "file: not a known lockfile or manifest name".into(),
            });
        };
        let base = root.parent().unwrap_or(Path::new("."));
        let found = [(PathBuf::from(&name), kind)];
        let poms = PomIndex::new(base, &found, options.max_file_size);
        read_one(base, Path::new(&name), kind, options, &poms, &mut inventory);
        return Ok(inventory);
    }
    if !root.is_dir() {
        return Err(Error::io(
            &root.display().to_string(),
            std::io::Error::new(std::io::ErrorKind::NotFound, "no such file or directory"),
        ));
    }
    let mut skip = globset::GlobSetBuilder::new();
    for glob in &options.skip_paths {
        if let Ok(glob) = globset::Glob::new(glob) {
            skip.add(glob);
        }
    }
    let skip = skip.build().unwrap_or_else(|_| globset::GlobSet::empty());
    let walker = ignore::WalkBuilder::new(root)
        .standard_filters(false)
        .follow_links(false)
        .sort_by_file_name(|a, b| a.cmp(b))
        .filter_entry(|entry| {
            !(entry.file_type().is_some_and(|t| t.is_dir())
                && SKIPPED_DIRS.contains(&entry.file_name().to_string_lossy().as_ref()))
        })
        .build();
    let mut found = Vec::new();
    for entry in walker {
        let entry = match entry {
            Ok(entry) => entry,
            Err(error) => {
                inventory.errors.push(ScanError {
                    path: root.display().to_string(),
                    line: None,
                    message: error.to_string(),
                });
                continue;
            }
        };
        if !entry.file_type().is_some_and(|t| t.is_file()) {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(kind) = LockfileKind::from_file_name(&name) else {
            continue;
        };
        let Ok(relative) = entry.path().strip_prefix(root) else {
            continue;
        };
        if skip.is_match(relative) {
            continue;
        }
        found.push((relative.to_path_buf(), kind));
    }
    let poms = PomIndex::new(root, &found, options.max_file_size);
    for (relative, kind) in &found {
        if *kind == LockfileKind::GoSum
            && found
                .iter()
                .any(|(p, k)| *k == LockfileKind::GoMod && p.parent() == relative.parent())
        {
            continue;
        }
        read_one(root, relative, *kind, options, &poms, &mut inventory);
    }
    Ok(inventory)
}

/// Where a `pom.xml` finds the parents and BOMs it names by coordinates:
/// the POMs of the scanned tree, then the local Maven repository
/// (`$MAVEN_REPO_LOCAL`, else `~/.m2/repository`).
struct PomIndex {
    /// Shown path and text, by `group:artifact:version`.
    in_tree: std::collections::HashMap<String, (String, String)>,
    repository: Option<PathBuf>,
    max_file_size: u64,
}

impl PomIndex {
    fn new(root: &Path, found: &[(PathBuf, LockfileKind)], max_file_size: u64) -> PomIndex {
        let mut in_tree = std::collections::HashMap::new();
        let has_poms = found.iter().any(|(_, k)| *k == LockfileKind::PomXml);
        for (relative, _) in found.iter().filter(|(_, k)| *k == LockfileKind::PomXml) {
            let shown = display(relative);
            if let Ok(text) = read_limited(&root.join(relative), &shown, max_file_size) {
                if let Some((group, artifact, version)) = maven::coordinates(&text) {
                    in_tree
                        .entry(format!("{group}:{artifact}:{version}"))
                        .or_insert((shown, text));
                }
            }
        }
        let repository = has_poms
            .then(|| {
                std::env::var_os("MAVEN_REPO_LOCAL")
                    .map(PathBuf::from)
                    .or_else(|| {
                        std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".m2/repository"))
                    })
            })
            .flatten();
        PomIndex {
            in_tree,
            repository,
            max_file_size,
        }
    }

    fn find(&self, group: &str, artifact: &str, version: &str) -> Option<(String, String)> {
        if let Some(found) = self.in_tree.get(&format!("{group}:{artifact}:{version}")) {
            return Some(found.clone());
        }
        let repository = self.repository.as_ref()?;
        // Coordinates become path segments: nothing may climb out of the repository.
        let safe = |s: &str| !s.is_empty() && !s.contains(['/', '\\']) && s != "." && s != "..";
        if !(group.split('.').all(safe) && safe(artifact) && safe(version)) {
            return None;
        }
        let path = repository
            .join(group.replace('.', "/"))
            .join(artifact)
            .join(version)
            .join(format!("{artifact}-{version}.pom"));
        let shown = path.display().to_string();
        read_limited(&path, &shown, self.max_file_size)
            .ok()
            .map(|text| (shown, text))
    }
}

fn display(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}

fn read_one(
    root: &Path,
    relative: &Path,
    kind: LockfileKind,
    options: &WalkOptions,
    poms: &PomIndex,
    inventory: &mut Inventory,
) {
    let shown = display(relative);
    inventory.files.push(shown.clone());
    let result =
        read_limited(&root.join(relative), &shown, options.max_file_size).and_then(|content| {
            let mut read_include = |from: &str, name: &str| -> Option<(String, String)> {
                let dir = Path::new(from).parent().unwrap_or(Path::new(""));
                let target = normalize(&dir.join(name))?;
                let shown = display(&target);
                read_limited(&root.join(&target), &shown, options.max_file_size)
                    .ok()
                    .map(|content| (shown, content))
            };
            let mut find_pom =
                |group: &str, artifact: &str, version: &str| poms.find(group, artifact, version);
            parse_with_poms(kind, &shown, &content, &mut read_include, &mut find_pom)
        });
    match result {
        Ok(packages) => inventory.packages.extend(packages),
        Err(error) => inventory.errors.push(scan_error(&shown, error)),
    }
}

/// Resolves `..` lexically; `None` when the path leaves the root.
fn normalize(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => out.push(part),
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

/// Reads a text file of at most `limit` bytes.
pub(crate) fn read_limited(path: &Path, shown: &str, limit: u64) -> Result<String> {
    let metadata = std::fs::metadata(path).map_err(|e| Error::io(shown, e))?;
    if metadata.len() > limit {
        return Err(Error::TooLarge {
            path: shown.to_string(),
            what: "file".into(),
            limit,
        });
    }
    let bytes = std::fs::read(path).map_err(|e| Error::io(shown, e))?;
    String::from_utf8(bytes).map_err(|_| Error::parse(shown, "not UTF-8 text"))
}

/// An error as the scan reports it.
pub fn scan_error(path: &str, error: Error) -> ScanError {
    let line = match &error {
        Error::Parse { line, .. } => *line,
        _ => None,
    };
    let full = error.to_string();
    // The error text starts with the path (and line); keep only the message.
    let message = full
        .strip_prefix(path)
        .map(|rest| {
            let rest = rest.trim_start_matches(':');
            let rest = match line {
                Some(l) => rest
                    .strip_prefix(&l.to_string())
                    .map(|r| r.trim_start_matches(':'))
                    .unwrap_or(rest),
                None => rest,
            };
            rest.trim().to_string()
        })
        .unwrap_or(full);
    ScanError {
        path: path.to_string(),
        line,
        message,
    }
}

/// The 1-based line of byte offset `offset` in `content`.
pub(crate) fn line_at(content: &str, offset: usize) -> u32 {
    let offset = offset.min(content.len());
    u32::try_from(
        content.as_bytes()[..offset]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1,
    )
    .unwrap_or(u32::MAX)
}

/// Finds needles in the order their entries appear, so that finding the
/// line of every entry of a large file stays one pass over it.
pub(crate) struct LineFinder<'a> {
    content: &'a str,
    cursor: usize,
    line: u32,
}

impl<'a> LineFinder<'a> {
    pub(crate) fn new(content: &'a str) -> Self {
        Self {
            content,
            cursor: 0,
            line: 1,
        }
    }

    /// The line of the next occurrence of `needle` after the previous find.
    pub(crate) fn find(&mut self, needle: &str) -> Option<u32> {
        let at = self.content[self.cursor..].find(needle)? + self.cursor;
        let end = at + needle.len();
        let before = count_newlines(&self.content.as_bytes()[self.cursor..at]);
        let line = self.line + before;
        self.line = line + count_newlines(&self.content.as_bytes()[at..end]);
        self.cursor = end;
        Some(line)
    }

    /// The line of the next line that starts with `prefix`.
    pub(crate) fn find_line(&mut self, prefix: &str) -> Option<u32> {
        if self.cursor == 0 && self.content.starts_with(prefix) {
            return self.find(prefix);
        }
        self.find(&format!("\n{prefix}")).map(|line| line + 1)
    }
}

fn count_newlines(bytes: &[u8]) -> u32 {
    u32::try_from(bytes.iter().filter(|&&b| b == b'\n').count()).unwrap_or(u32::MAX)
}
