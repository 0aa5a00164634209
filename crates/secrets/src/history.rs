//! Scanning a git repository's history: every commit reachable from any ref
//! (branches, tags, remotes, stash, a detached HEAD), each unique blob read once.
//!
//! 1. Walk commits from every ref tip, stopping at commits a previous run
//!    scanned (incremental) or that `--since` excludes.
//! 2. For each commit, list the files whose blob differs from its first
//!    parent's (for a merge: from every parent's, so a merge does not take
//!    credit for its branches' changes).
//! 3. Scan each distinct blob once, in parallel.
//! 4. A secret is attributed to a commit where it is in the new blob and
//!    not in the parent's blob at the same path: the commit that introduced it.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use chrono::{DateTime, NaiveDate, Utc};
use gix::bstr::{BStr, ByteSlice};
use gix::objs::tree::EntryMode;
use gix::ObjectId;
use palisade_core::{ScanError, ScanOutput};
use rayon::prelude::*;

use crate::detector::{is_binary, Detector, SecretMatch, Source};
use crate::error::Error;
use crate::findings::{Collector, CommitInfo, Occurrence};
use crate::ScanOptions;

/// Bytes of git objects each worker keeps decoded: trees are read once per
/// commit that touches them, and deltas share bases.
const OBJECT_CACHE_BYTES: usize = 32 * 1024 * 1024;

/// Where the walk starts from besides the beginning of history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Since {
    /// Only commits not reachable from this revision (`REV..` in git's terms).
    Revision(String),
    /// Only commits made on or after this day (commit time, UTC).
    Date(NaiveDate),
}

impl Since {
    /// `2026-01-31` is a date, anything else a revision.
    pub fn parse(text: &str) -> Self {
        match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            Ok(day) => Since::Date(day),
            Err(_) => Since::Revision(text.to_string()),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct HistoryOptions {
    pub since: Option<Since>,
    /// Commits (hex ids) scanned by earlier runs: neither they nor their
    /// ancestors are read again.
    pub already_scanned: Vec<String>,
}

/// What a history scan returns.
#[derive(Debug)]
pub struct HistoryScan {
    pub output: ScanOutput,
    /// Every commit this run read (hex), to skip next time.
    pub commits_scanned: Vec<String>,
    /// The repository's root (work tree, or git dir when bare).
    pub repository: std::path::PathBuf,
}

/// A blob as found at one path: the path decides which rules apply.
type BlobAtPath<'a> = (ObjectId, &'a str);
/// What a blob held at one of its paths, or why it could not be read.
type BlobScan<'a> = (BlobAtPath<'a>, Result<Vec<SecretMatch>, String>);

/// A distinct secret: its rule and the keyed hash of its value.
type SecretKey = (usize, [u8; 32]);

struct CommitNode {
    id: ObjectId,
    tree: ObjectId,
    parents: Vec<ObjectId>,
    info: CommitInfo,
}

/// A file whose content a commit changed.
struct Change {
    commit: usize,
    path: String,
    blob: ObjectId,
    /// The blob at the same path in the first parent, if any.
    parent_blob: Option<ObjectId>,
}

pub fn scan_history(
    repo_path: &Path,
    detector: &Detector,
    options: &ScanOptions,
    history: &HistoryOptions,
) -> Result<HistoryScan, Error> {
    let display = repo_path.display().to_string();
    let repo_error = |message: String| Error::Repository {
        path: display.clone(),
        message,
    };
    let mut repo = gix::discover(repo_path).map_err(|e| repo_error(one_line(&e)))?;
    repo.object_cache_size_if_unset(OBJECT_CACHE_BYTES);
    let repository = repo
        .workdir()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| repo.git_dir().to_path_buf());
    let mut errors = Vec::new();
    // Commits at a shallow clone's boundary: their parents are not here.
    let boundary: HashSet<ObjectId> = repo
        .shallow_commits()
        .ok()
        .flatten()
        .map(|commits| commits.iter().copied().collect())
        .unwrap_or_default();
    if !boundary.is_empty() {
        errors.push(ScanError {
            path: display.clone(),
            line: None,
            message: "shallow clone: commits before the shallow boundary are not scanned \
                      (run `git fetch --unshallow` for the full history)"
                .to_string(),
        });
    }

    let mut hidden: HashSet<ObjectId> = history
        .already_scanned
        .iter()
        .filter_map(|hex| ObjectId::from_hex(hex.as_bytes()).ok())
        .collect();
    let mut since_day = None;
    match &history.since {
        Some(Since::Revision(rev)) => {
            let id = repo
                .rev_parse_single(BStr::new(rev.as_bytes()))
                .map_err(|e| Error::Git {
                    path: display.clone(),
                    message: format!("--since {rev}: {}", one_line(&e)),
                })?
                .detach();
            let id = peel_to_commit(&repo, id).ok_or_else(|| Error::Git {
                path: display.clone(),
                message: format!("--since {rev}: not a commit"),
            })?;
            hidden.extend(ancestors(&repo, id, &mut errors));
        }
        Some(Since::Date(day)) => since_day = day.and_hms_opt(0, 0, 0).map(|t| t.and_utc()),
        None => {}
    }

    let tips = ref_tips(&repo, &mut errors).map_err(|e| repo_error(one_line(&e)))?;
    let mut commits = walk(&repo, tips, &hidden, &boundary, since_day, &mut errors);
    number_generations(&mut commits);
    tracing::debug!(commits = commits.len(), "commits to scan");

    let shared = repo.clone().into_sync();
    let trees: HashMap<ObjectId, ObjectId> = commits.iter().map(|c| (c.id, c.tree)).collect();
    let changes: Vec<Change> = commits
        .par_iter()
        .enumerate()
        .map_init(
            || thread_repo(&shared),
            |repo, (index, commit)| commit_changes(repo, index, commit, &trees),
        )
        .collect::<Vec<_>>()
        .into_iter()
        .flat_map(|result| match result {
            Ok(changes) => changes,
            Err((commit, message)) => {
                errors.push(ScanError {
                    path: format!("commit {commit}"),
                    line: None,
                    message,
                });
                Vec::new()
            }
        })
        .collect();

    // Each distinct blob is read once, and scanned once per path it has
    // (the path decides which rules and allowlists apply).
    let mut wanted: HashMap<ObjectId, HashSet<&str>> = HashMap::new();
    for change in &changes {
        wanted
            .entry(change.blob)
            .or_default()
            .insert(change.path.as_str());
        if let Some(parent) = change.parent_blob {
            wanted
                .entry(parent)
                .or_default()
                .insert(change.path.as_str());
        }
    }
    let wanted: Vec<(ObjectId, Vec<&str>)> = wanted
        .into_iter()
        .map(|(blob, paths)| (blob, paths.into_iter().collect()))
        .collect();
    let scanned: Vec<Vec<BlobScan<'_>>> = wanted
        .par_iter()
        .map_init(
            || thread_repo(&shared),
            |repo, (blob, paths)| {
                // Paths an allowlist skips are not read, nor is a blob only they have.
                let paths: Vec<&str> = paths
                    .iter()
                    .copied()
                    .filter(|path| !detector.skips_path(path))
                    .collect();
                if paths.is_empty() {
                    return Vec::new();
                }
                let content = read_blob(repo, *blob, options);
                paths
                    .into_iter()
                    .map(|path| {
                        let found = content
                            .as_ref()
                            .map(|data| scan_content(detector, data.as_deref(), path))
                            .map_err(Clone::clone);
                        ((*blob, path), found)
                    })
                    .collect()
            },
        )
        .collect();
    let mut secrets: HashMap<BlobAtPath<'_>, Vec<SecretMatch>> = HashMap::new();
    for (key, result) in scanned.into_iter().flatten() {
        match result {
            Ok(found) => {
                secrets.insert(key, found);
            }
            Err(message) => errors.push(ScanError {
                path: format!("{} (blob {})", key.1, key.0.to_hex_with_len(12)),
                line: None,
                message,
            }),
        }
    }

    let mut collector = Collector::default();
    for change in &changes {
        let commit = &commits[change.commit];
        let Some(found) = secrets.get(&(change.blob, change.path.as_str())) else {
            continue;
        };
        let before: HashSet<SecretKey> = change
            .parent_blob
            .and_then(|p| secrets.get(&(p, change.path.as_str())))
            .map(|old| old.iter().map(|m| (m.rule, m.secret_hash)).collect())
            .unwrap_or_default();
        for m in found {
            if before.contains(&(m.rule, m.secret_hash)) {
                continue;
            }
            if commit_allowed(detector, &commit.info.id) {
                continue;
            }
            collector.add(Occurrence {
                path: change.path.clone(),
                commit: Some(commit.info.clone()),
                found: m.clone(),
            });
        }
    }
    mark_presence_at_head(&repo, &mut collector, &secrets, detector, options);

    errors.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(HistoryScan {
        output: ScanOutput {
            findings: crate::finish(collector, detector, options),
            errors,
            inputs_scanned: commits.len(),
        },
        commits_scanned: commits.iter().map(|c| c.id.to_string()).collect(),
        repository,
    })
}

fn thread_repo(shared: &gix::ThreadSafeRepository) -> gix::Repository {
    let mut repo = shared.to_thread_local();
    repo.object_cache_size_if_unset(OBJECT_CACHE_BYTES);
    repo
}

/// Allowlists that name commits drop everything those commits introduced.
fn commit_allowed(detector: &Detector, commit: &str) -> bool {
    detector.rule_set().allowlists.iter().any(|a| {
        a.paths.is_empty()
            && a.regexes.is_empty()
            && a.stopwords.is_empty()
            && a.commits.iter().any(|c| commit.starts_with(c.as_str()))
    })
}

/// The commit every ref (and HEAD) points at; refs to trees or blobs are skipped.
fn ref_tips(repo: &gix::Repository, errors: &mut Vec<ScanError>) -> gix::Result<Vec<ObjectId>> {
    let mut tips = Vec::new();
    if let Ok(head) = repo.head_id() {
        tips.push(head.detach());
    }
    let platform = repo.references()?;
    for reference in platform.all()? {
        let mut reference = match reference {
            Ok(reference) => reference,
            Err(e) => {
                errors.push(ScanError {
                    path: "refs".to_string(),
                    line: None,
                    message: format!("unreadable reference: {}", one_line(&e)),
                });
                continue;
            }
        };
        let name = reference.name().as_bstr().to_string();
        match reference.peel_to_id() {
            Ok(id) => {
                if let Some(commit) = peel_to_commit(repo, id.detach()) {
                    tips.push(commit);
                }
            }
            Err(e) => errors.push(ScanError {
                path: name,
                line: None,
                message: format!("cannot resolve: {}", one_line(&e)),
            }),
        }
    }
    tips.sort();
    tips.dedup();
    Ok(tips)
}

fn peel_to_commit(repo: &gix::Repository, id: ObjectId) -> Option<ObjectId> {
    let object = repo.find_object(id).ok()?;
    object.peel_to_commit().ok().map(|c| c.id)
}

/// Every commit reachable from `tips`, not in `hidden` and not older than `since`.
fn walk(
    repo: &gix::Repository,
    tips: Vec<ObjectId>,
    hidden: &HashSet<ObjectId>,
    boundary: &HashSet<ObjectId>,
    since: Option<DateTime<Utc>>,
    errors: &mut Vec<ScanError>,
) -> Vec<CommitNode> {
    let mut seen: HashSet<ObjectId> = HashSet::new();
    let mut stack = tips;
    let mut commits = Vec::new();
    while let Some(id) = stack.pop() {
        if hidden.contains(&id) || !seen.insert(id) {
            continue;
        }
        let mut node = match read_commit(repo, id) {
            Ok(node) => node,
            Err(message) => {
                // A missing parent is the shallow boundary or a broken repository;
                // either way the walk goes on with what it has.
                errors.push(ScanError {
                    path: format!("commit {id}"),
                    line: None,
                    message,
                });
                continue;
            }
        };
        if since.is_some_and(|since| node.info.time < since) {
            continue;
        }
        if boundary.contains(&id) {
            // Shallow boundary: diffed against nothing, as if it were a root.
            node.parents.clear();
        }
        stack.extend(node.parents.iter().copied());
        commits.push(node);
    }
    commits
}

/// Sets each commit's generation: 1 + the highest of its parents' within
/// `commits` (0 for parents outside it).
fn number_generations(commits: &mut [CommitNode]) {
    let index: HashMap<ObjectId, usize> =
        commits.iter().enumerate().map(|(i, c)| (c.id, i)).collect();
    let mut generation: Vec<Option<u32>> = vec![None; commits.len()];
    for start in 0..commits.len() {
        // Iterative post-order: a commit is numbered once its parents are.
        let mut stack = vec![start];
        while let Some(&current) = stack.last() {
            if generation[current].is_some() {
                stack.pop();
                continue;
            }
            let pending: Vec<usize> = commits[current]
                .parents
                .iter()
                .filter_map(|p| index.get(p).copied())
                .filter(|&p| generation[p].is_none())
                .collect();
            if pending.is_empty() {
                let highest = commits[current]
                    .parents
                    .iter()
                    .filter_map(|p| index.get(p).and_then(|&i| generation[i]))
                    .max();
                generation[current] = Some(highest.map_or(0, |g| g + 1));
                stack.pop();
            } else {
                stack.extend(pending);
            }
        }
    }
    for (commit, generation) in commits.iter_mut().zip(generation) {
        commit.info.generation = generation.unwrap_or(0);
    }
}

/// Every ancestor of `id`, itself included.
fn ancestors(
    repo: &gix::Repository,
    id: ObjectId,
    errors: &mut Vec<ScanError>,
) -> HashSet<ObjectId> {
    walk(
        repo,
        vec![id],
        &HashSet::new(),
        &HashSet::new(),
        None,
        errors,
    )
    .into_iter()
    .map(|c| c.id)
    .collect()
}

fn read_commit(repo: &gix::Repository, id: ObjectId) -> Result<CommitNode, String> {
    let object = repo.find_object(id).map_err(|e| one_line(&e))?;
    let commit = gix::objs::CommitRef::from_bytes(&object.data, repo.object_hash())
        .map_err(|e| format!("unreadable commit: {}", one_line(&e)))?;
    let author = commit
        .author()
        .map_err(|e| format!("unreadable author: {}", one_line(&e)))?;
    let seconds = author.time().map(|t| t.seconds).unwrap_or(0);
    Ok(CommitNode {
        id,
        tree: commit.tree(),
        parents: commit.parents().collect(),
        info: CommitInfo {
            id: id.to_string(),
            author: format!(
                "{} <{}>",
                author.name.trim().to_str_lossy(),
                author.email.trim().to_str_lossy()
            ),
            time: DateTime::from_timestamp(seconds, 0).unwrap_or_default(),
            generation: 0,
        },
    })
}

/// Files whose content `commit` changed relative to its parents.
fn commit_changes(
    repo: &gix::Repository,
    index: usize,
    commit: &CommitNode,
    trees: &HashMap<ObjectId, ObjectId>,
) -> Result<Vec<Change>, (String, String)> {
    let fail = |message: String| (commit.info.id.clone(), message);
    // Parents outside this walk (scanned before, or past --since) are read here.
    let parent_trees: Vec<ObjectId> = commit
        .parents
        .iter()
        .filter_map(|p| {
            trees
                .get(p)
                .copied()
                .or_else(|| read_commit(repo, *p).ok().map(|c| c.tree))
        })
        .collect();
    let mut changed = Vec::new();
    diff_trees(
        repo,
        parent_trees.first().copied(),
        commit.tree,
        "",
        &mut changed,
    )
    .map_err(fail)?;
    if parent_trees.len() > 1 {
        // A merge introduces only what differs from every parent (conflict
        // resolutions, evil merges); the rest came with the merged branches.
        let others: Vec<gix::Tree<'_>> = parent_trees[1..]
            .iter()
            .filter_map(|t| repo.find_tree(*t).ok())
            .collect();
        changed.retain(|(path, blob, _)| {
            !others.iter().any(|tree| {
                tree.lookup_entry_by_path(path.as_str())
                    .ok()
                    .flatten()
                    .is_some_and(|entry| entry.object_id() == *blob)
            })
        });
    }
    Ok(changed
        .into_iter()
        .map(|(path, blob, parent_blob)| Change {
            commit: index,
            path,
            blob,
            parent_blob,
        })
        .collect())
}

type TreeEntry = (Vec<u8>, EntryMode, ObjectId);

fn tree_entries(repo: &gix::Repository, id: ObjectId) -> Result<Vec<TreeEntry>, String> {
    let object = repo.find_object(id).map_err(|e| one_line(&e))?;
    gix::objs::TreeRefIter::from_bytes(&object.data, repo.object_hash())
        .map(|entry| {
            entry
                .map(|e| (e.filename.to_vec(), e.mode, e.oid.to_owned()))
                .map_err(|e| format!("unreadable tree {id}: {}", one_line(&e)))
        })
        .collect()
}

/// Blobs under `new` that differ from `old` at the same path: (path, blob, old blob).
fn diff_trees(
    repo: &gix::Repository,
    old: Option<ObjectId>,
    new: ObjectId,
    prefix: &str,
    out: &mut Vec<(String, ObjectId, Option<ObjectId>)>,
) -> Result<(), String> {
    if old == Some(new) {
        return Ok(());
    }
    let old_entries: HashMap<Vec<u8>, (EntryMode, ObjectId)> = match old {
        Some(old) => tree_entries(repo, old)?
            .into_iter()
            .map(|(name, mode, id)| (name, (mode, id)))
            .collect(),
        None => HashMap::new(),
    };
    for (name, mode, id) in tree_entries(repo, new)? {
        let previous = old_entries.get(&name);
        if previous.is_some_and(|(_, old_id)| *old_id == id) {
            continue;
        }
        let path = if prefix.is_empty() {
            name.to_str_lossy().into_owned()
        } else {
            format!("{prefix}/{}", name.to_str_lossy())
        };
        if mode.is_tree() {
            let old_tree = previous.filter(|(m, _)| m.is_tree()).map(|(_, id)| *id);
            diff_trees(repo, old_tree, id, &path, out)?;
        } else if mode.is_blob() || mode.is_executable() {
            let old_blob = previous
                .filter(|(m, _)| m.is_blob() || m.is_executable())
                .map(|(_, id)| *id);
            out.push((path, id, old_blob));
        }
        // Symlinks hold a path and submodules a commit id: nothing to scan.
    }
    Ok(())
}

pub(crate) fn scan_blob(
    repo: &gix::Repository,
    blob: ObjectId,
    path: &str,
    detector: &Detector,
    options: &ScanOptions,
) -> Result<Vec<SecretMatch>, String> {
    if detector.skips_path(path) {
        return Ok(Vec::new());
    }
    let content = read_blob(repo, blob, options)?;
    Ok(scan_content(detector, content.as_deref(), path))
}

/// A blob's content, or `None` when it is binary.
fn read_blob(
    repo: &gix::Repository,
    blob: ObjectId,
    options: &ScanOptions,
) -> Result<Option<Vec<u8>>, String> {
    let header = repo.find_header(blob).map_err(|e| one_line(&e))?;
    if header.size() > options.max_file_size {
        return Err(format!(
            "not scanned: {} bytes is over the {}-byte limit (--max-file-size)",
            header.size(),
            options.max_file_size
        ));
    }
    let mut object = repo.find_object(blob).map_err(|e| one_line(&e))?;
    Ok((!is_binary(&object.data)).then(|| std::mem::take(&mut object.data)))
}

/// The secrets in a blob's content (`None`: binary, or not read) found at `path`.
fn scan_content(detector: &Detector, content: Option<&[u8]>, path: &str) -> Vec<SecretMatch> {
    if detector.skips_path(path) {
        return Vec::new();
    }
    let mut found: Vec<SecretMatch> = detector
        .path_only_rules(path)
        .map(|rule| detector.path_match(rule, path))
        .collect();
    if let Some(content) = content {
        found.extend(detector.scan(content, Source { path, commit: None }));
    }
    found
}

/// Marks each secret as still present at HEAD when HEAD's blob at one of
/// its paths contains it. Blobs the history scan read are not read again.
fn mark_presence_at_head(
    repo: &gix::Repository,
    collector: &mut Collector,
    scanned: &HashMap<BlobAtPath<'_>, Vec<SecretMatch>>,
    detector: &Detector,
    options: &ScanOptions,
) {
    let Ok(head_tree) = repo.head_tree() else {
        return;
    };
    let mut blob_secrets: HashMap<(ObjectId, String), HashSet<SecretKey>> = HashMap::new();
    let mut updates = Vec::new();
    for (rule, _, occurrences) in collector.secrets() {
        let hash = occurrences[0].found.secret_hash;
        let mut present = false;
        let paths: HashSet<&str> = occurrences.iter().map(|o| o.path.as_str()).collect();
        for path in paths {
            let Ok(Some(entry)) = head_tree.lookup_entry_by_path(path) else {
                continue;
            };
            let key = (entry.object_id(), path.to_string());
            let in_blob = blob_secrets.entry(key).or_insert_with(|| {
                let keys = |found: &[SecretMatch]| -> HashSet<SecretKey> {
                    found.iter().map(|m| (m.rule, m.secret_hash)).collect()
                };
                match scanned.get(&(entry.object_id(), path)) {
                    Some(found) => keys(found),
                    None => keys(
                        &scan_blob(repo, entry.object_id(), path, detector, options)
                            .unwrap_or_default(),
                    ),
                }
            });
            if in_blob.contains(&(rule, hash)) {
                present = true;
                break;
            }
        }
        updates.push((rule, hash, present));
    }
    for (rule, hash, present) in updates {
        collector.set_present_at_head(rule, hash, present);
    }
}

pub(crate) fn one_line(error: &dyn std::fmt::Display) -> String {
    let text = error.to_string();
    text.lines().next().unwrap_or(&text).to_string()
}
