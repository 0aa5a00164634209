//! Terraform: HCL modules evaluated to resources, and plan JSON.
//!
//! A directory of `.tf` files is one module. Directories that another scanned
//! directory calls as a local module are evaluated only through that call,
//! because their variables come from the caller: evaluated alone they would
//! show defaults nobody deploys, and report each resource twice. Every other
//! directory is a root module, evaluated with its `.tfvars`.
//!
//! Files are parsed one by one so that one broken file costs only itself, and
//! evaluation is lenient throughout: whatever cannot be known becomes a
//! `"${reference}"` placeholder, never an error that hides a resource.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use palisade_core::ScanError;
use rayon::prelude::*;

use crate::model::ParsedSet;

mod eval;
mod funcs;
mod module;
mod plan;
mod policy;
mod types;
mod value;

pub use plan::parse_plan;

use eval::{EmptyEnv, Evaluator, Scope};
use module::{is_local_source, ModuleEval};
use value::Val;

/// Files above this size are reported and skipped: no hand-written module is
/// that large, and parsing generated blobs would stall the scan.
pub(crate) const MAX_FILE_BYTES: u64 = 5 * 1024 * 1024;

/// Module instances evaluated per scan at most (each a module call instance).
const MAX_MODULE_INSTANCES: usize = 20_000;

/// Evaluation recurses (locals into locals, modules into modules); a large
/// stack keeps deep but legitimate configurations from overflowing.
const EVAL_STACK_BYTES: usize = 64 * 1024 * 1024;

/// Evaluates the Terraform modules in `dirs` (absolute directories holding
/// `.tf` files). Paths in the result are relative to `root`.
pub fn scan_dirs(root: &Path, dirs: &[PathBuf]) -> ParsedSet {
    let mut all = ParsedSet::default();
    for set in scan_dirs_by_root(root, dirs) {
        all.extend(set);
    }
    all
}

/// Like [`scan_dirs`], one set per root module (with the child modules it
/// calls): references resolve within a root, never across roots, so checks
/// that follow them must see one root at a time. Errors of modules no root
/// reached come last, in a set of their own.
pub fn scan_dirs_by_root(root: &Path, dirs: &[PathBuf]) -> Vec<ParsedSet> {
    scan_dirs_by_root_with(root, dirs, |set| set)
}

/// Like [`scan_dirs_by_root`], handing each set to `each` as soon as it is
/// evaluated (from the evaluation threads, in parallel) and returning what
/// `each` made of them, in the same order. A caller that checks a root and
/// keeps only its findings never holds every root's resources at once.
pub fn scan_dirs_by_root_with<T: Send>(
    root: &Path,
    dirs: &[PathBuf],
    each: impl Fn(ParsedSet) -> T + Sync,
) -> Vec<T> {
    let run = || scan_dirs_inner(root, dirs, &each);
    match rayon::ThreadPoolBuilder::new()
        .stack_size(EVAL_STACK_BYTES)
        .thread_name(|i| format!("palisade-terraform-{i}"))
        .build()
    {
        Ok(pool) => pool.install(run),
        Err(_) => run(),
    }
}

fn scan_dirs_inner<T: Send>(
    root: &Path,
    dirs: &[PathBuf],
    each: &(impl Fn(ParsedSet) -> T + Sync),
) -> Vec<T> {
    let root = absolute(root);
    let mut unique: Vec<PathBuf> = Vec::new();
    let mut seen = HashSet::new();
    for d in dirs {
        let d = absolute(d);
        if seen.insert(d.clone()) {
            unique.push(d);
        }
    }
    let loaded: Vec<(PathBuf, Arc<LoadedModule>)> = unique
        .par_iter()
        .map(|d| (d.clone(), Arc::new(load_module(&root, d))))
        .collect();

    let mut loading = ParsedSet::default();
    let mut called = HashSet::new();
    for (dir, module) in &loaded {
        loading.errors.extend(module.errors.iter().cloned());
        for source in module.local_sources() {
            let target = normalize(&dir.join(source));
            if &target != dir {
                called.insert(target);
            }
        }
    }
    let loader = Loader {
        root: root.clone(),
        preloaded: loaded.iter().cloned().collect(),
        extra: Mutex::default(),
        instances: AtomicUsize::new(0),
    };
    let roots: Vec<&PathBuf> = unique.iter().filter(|d| !called.contains(*d)).collect();
    let mut results: Vec<T> = roots
        .par_iter()
        .map(|dir| {
            eval::reset_depth();
            let set = catch_unwind(AssertUnwindSafe(|| evaluate_root(&loader, dir)))
                .unwrap_or_else(|_| {
                    ParsedSet::error(
                        &relative(&loader.root, dir),
                        None,
                        "internal error while evaluating this Terraform module; its resources were skipped",
                    )
                });
            each(set)
        })
        .collect();
    let extra = loader.extra.lock().unwrap_or_else(|e| e.into_inner());
    let mut extra: Vec<_> = extra.values().flatten().collect();
    extra.sort_by(|a, b| a.dir.cmp(&b.dir));
    for m in extra {
        loading.errors.extend(m.errors.iter().cloned());
    }
    results.push(each(loading));
    results
}

fn evaluate_root(loader: &Loader, dir: &Path) -> ParsedSet {
    let Some(module) = loader.module(dir) else {
        return ParsedSet::default();
    };
    let (inputs, errors) = load_tfvars(loader.root(), dir);
    let result = ModuleEval::new(
        loader,
        module,
        String::new(),
        dir.to_path_buf(),
        vec![dir.to_path_buf()],
        inputs,
    )
    .run();
    ParsedSet {
        resources: result.resources,
        errors,
    }
}

/// A top-level block of a `.tf` file with where it came from.
pub(crate) struct TopBlock {
    pub block: hcl::Block,
    pub file: Arc<str>,
    pub start_line: u32,
    pub end_line: u32,
}

/// The parsed files of one module directory.
pub(crate) struct LoadedModule {
    pub dir: PathBuf,
    pub blocks: Vec<TopBlock>,
    pub errors: Vec<ScanError>,
}

impl LoadedModule {
    /// The literal local `source` paths of the module's calls.
    fn local_sources(&self) -> Vec<String> {
        let mut out = Vec::new();
        for top in &self.blocks {
            if top.block.identifier() != "module" {
                continue;
            }
            let Some(attr) = top
                .block
                .body()
                .attributes()
                .find(|a| a.key.as_str() == "source")
            else {
                continue;
            };
            let empty = EmptyEnv;
            if let Val::Str(s) = Evaluator::new(&empty).eval_lenient(&attr.expr, &Scope::root()) {
                if is_local_source(&s) {
                    out.push(s);
                }
            }
        }
        out
    }
}

/// Module directories by path: those the engine found, plus local modules
/// outside the scan root loaded on first use.
pub(crate) struct Loader {
    root: PathBuf,
    preloaded: HashMap<PathBuf, Arc<LoadedModule>>,
    extra: Mutex<HashMap<PathBuf, Option<Arc<LoadedModule>>>>,
    /// Module instances evaluated so far: nested `for_each` multiplies, and
    /// a hostile tree must not turn that into unbounded work.
    instances: AtomicUsize,
}

impl Loader {
    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    /// Takes one module instance from the scan's budget; `false` when spent.
    pub(crate) fn take_instance(&self) -> bool {
        self.instances.fetch_add(1, Ordering::Relaxed) < MAX_MODULE_INSTANCES
    }

    /// A directory inside the root that the engine did not list was skipped
    /// on purpose (or holds no `.tf` files), so it is not loaded behind its back.
    pub(crate) fn module(&self, dir: &Path) -> Option<Arc<LoadedModule>> {
        if let Some(m) = self.preloaded.get(dir) {
            return Some(Arc::clone(m));
        }
        if dir.starts_with(&self.root) {
            return None;
        }
        let mut extra = self.extra.lock().unwrap_or_else(|e| e.into_inner());
        extra
            .entry(dir.to_path_buf())
            .or_insert_with(|| dir.is_dir().then(|| Arc::new(load_module(&self.root, dir))))
            .clone()
    }
}

fn load_module(root: &Path, dir: &Path) -> LoadedModule {
    let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "tf") && p.is_file())
            .collect(),
        Err(e) => {
            return LoadedModule {
                dir: dir.to_path_buf(),
                blocks: Vec::new(),
                errors: vec![ScanError {
                    path: relative(root, dir),
                    line: None,
                    message: format!("cannot read directory: {e}"),
                }],
            }
        }
    };
    files.sort();
    let mut module = LoadedModule {
        dir: dir.to_path_buf(),
        blocks: Vec::new(),
        errors: Vec::new(),
    };
    let mut overrides = Vec::new();
    for path in files {
        let rel: Arc<str> = Arc::from(relative(root, &path));
        let is_override = path
            .file_stem()
            .and_then(|s| s.to_str())
            .is_some_and(|s| s == "override" || s.ends_with("_override"));
        match read_text(&path) {
            Ok(text) => match parse_file(&text, &rel) {
                Ok(blocks) if is_override => overrides.extend(blocks),
                Ok(blocks) => module.blocks.extend(blocks),
                Err(e) => module.errors.push(e),
            },
            Err((line, message)) => module.errors.push(ScanError {
                path: rel.to_string(),
                line,
                message,
            }),
        }
    }
    for o in overrides {
        apply_override(&mut module.blocks, o.block);
    }
    module
}

/// Terraform's override files: a block merges into the block of the same
/// type and labels, its arguments replacing the original's and its nested
/// blocks replacing all original nested blocks of that type. Without this,
/// the overridden resource would be reported twice, once with stale values.
fn apply_override(blocks: &mut [TopBlock], o: hcl::Block) {
    let Some(target) = blocks.iter_mut().find(|t| {
        t.block.identifier() == o.identifier()
            && t.block
                .labels()
                .iter()
                .map(|l| l.as_str())
                .eq(o.labels().iter().map(|l| l.as_str()))
    }) else {
        return;
    };
    let body = &mut target.block.body.0;
    for structure in o.body.0 {
        match structure {
            hcl::Structure::Attribute(attr) => {
                match body.iter_mut().find(|s| {
                    matches!(s, hcl::Structure::Attribute(a) if a.key.as_str() == attr.key.as_str())
                }) {
                    Some(existing) => *existing = hcl::Structure::Attribute(attr),
                    None => body.push(hcl::Structure::Attribute(attr)),
                }
            }
            hcl::Structure::Block(block) => {
                let ident = block.identifier().to_string();
                body.retain(|s| !matches!(s, hcl::Structure::Block(b) if b.identifier() == ident));
                body.push(hcl::Structure::Block(block));
            }
        }
    }
}

/// Reads a file as text, refusing huge, binary and non-UTF-8 files with an
/// error that says which (and where, when a line is known).
fn read_text(path: &Path) -> Result<String, (Option<u32>, String)> {
    let meta = std::fs::metadata(path).map_err(|e| (None, format!("cannot read file: {e}")))?;
    if meta.len() > MAX_FILE_BYTES {
        return Err((
            None,
            format!(
                "file is {} bytes, over the {} byte limit; skipped",
                meta.len(),
                MAX_FILE_BYTES
            ),
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| (None, format!("cannot read file: {e}")))?;
    if let Some(pos) = bytes.iter().position(|&b| b == 0) {
        return Err((
            Some(line_at(&bytes, pos)),
            "binary content (NUL byte), not a Terraform file".to_string(),
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        let pos = e.utf8_error().valid_up_to();
        (
            Some(line_at(e.as_bytes(), pos)),
            "invalid UTF-8; Terraform files must be UTF-8 text".to_string(),
        )
    })
}

fn line_at(bytes: &[u8], pos: usize) -> u32 {
    let newlines = bytes[..pos.min(bytes.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count();
    u32::try_from(newlines + 1).unwrap_or(u32::MAX)
}

/// Parses one file into its top-level blocks with their line ranges.
fn parse_file(text: &str, rel: &Arc<str>) -> Result<Vec<TopBlock>, ScanError> {
    use hcl::edit::Span;
    // Editors on Windows write a byte-order mark; Terraform ignores it. It is
    // blanked rather than removed so byte offsets still match the file.
    let unbommed;
    let text = match text.strip_prefix('\u{feff}') {
        Some(rest) => {
            unbommed = format!("   {rest}");
            unbommed.as_str()
        }
        None => text,
    };
    let body = hcl::edit::parser::parse_body(text).map_err(|e| {
        let loc = e.location();
        ScanError {
            path: rel.to_string(),
            line: u32::try_from(loc.line()).ok(),
            message: format!(
                "invalid HCL at line {}, column {}: {}",
                loc.line(),
                loc.column(),
                e.message()
            ),
        }
    })?;
    let line_starts: Vec<usize> = std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    let line_of = |offset: usize| -> u32 {
        u32::try_from(line_starts.partition_point(|&s| s <= offset).max(1)).unwrap_or(u32::MAX)
    };
    let mut out = Vec::new();
    for structure in body {
        if let hcl::edit::structure::Structure::Block(block) = structure {
            let (start_line, end_line) = match block.span() {
                Some(span) => (
                    line_of(span.start),
                    line_of(span.end.saturating_sub(1).max(span.start)),
                ),
                None => (1, 1),
            };
            out.push(TopBlock {
                block: hcl::Block::from(block),
                file: Arc::clone(rel),
                start_line,
                end_line,
            });
        }
    }
    Ok(out)
}

/// Root module inputs in Terraform's precedence order: `terraform.tfvars`,
/// `terraform.tfvars.json`, then `*.auto.tfvars(.json)` lexically; later wins.
fn load_tfvars(root: &Path, dir: &Path) -> (BTreeMap<String, Val>, Vec<ScanError>) {
    let mut files: Vec<PathBuf> = ["terraform.tfvars", "terraform.tfvars.json"]
        .iter()
        .map(|f| dir.join(f))
        .filter(|p| p.is_file())
        .collect();
    let mut auto: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                        n.ends_with(".auto.tfvars") || n.ends_with(".auto.tfvars.json")
                    }) && p.is_file()
                })
                .collect()
        })
        .unwrap_or_default();
    auto.sort();
    files.extend(auto);
    let mut vars = BTreeMap::new();
    let mut errors = Vec::new();
    for path in files {
        let rel = relative(root, &path);
        let text = match read_text(&path) {
            Ok(t) => t,
            Err((line, message)) => {
                errors.push(ScanError {
                    path: rel,
                    line,
                    message,
                });
                continue;
            }
        };
        if path.extension().is_some_and(|e| e == "json") {
            match serde_json::from_str::<serde_json::Value>(&text) {
                Ok(serde_json::Value::Object(map)) => {
                    vars.extend(map.iter().map(|(k, v)| (k.clone(), Val::from_json(v))));
                }
                Ok(_) => errors.push(ScanError {
                    path: rel,
                    line: Some(1),
                    message: "a .tfvars.json file must hold a JSON object".into(),
                }),
                Err(e) => errors.push(ScanError {
                    path: rel,
                    line: u32::try_from(e.line()).ok(),
                    message: format!("invalid JSON: {e}"),
                }),
            }
            continue;
        }
        match hcl::edit::parser::parse_body(&text) {
            Ok(body) => {
                let body = hcl::Body::from(body);
                let empty = EmptyEnv;
                let ev = Evaluator::new(&empty);
                for attr in body.attributes() {
                    vars.insert(
                        attr.key.as_str().to_string(),
                        ev.eval_lenient(&attr.expr, &Scope::root()),
                    );
                }
            }
            Err(e) => errors.push(ScanError {
                path: rel,
                line: u32::try_from(e.location().line()).ok(),
                message: format!("invalid HCL: {}", e.message()),
            }),
        }
    }
    (vars, errors)
}

fn absolute(p: &Path) -> PathBuf {
    normalize(&std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf()))
}

/// Lexical normalisation (`a/./b/../c` to `a/c`) without touching the file
/// system, so symlinked checkouts keep the paths the user sees.
pub(crate) fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// `to` relative to `from`, with forward slashes (`..` where needed).
pub(crate) fn relative(from: &Path, to: &Path) -> String {
    let from: Vec<Component> = from.components().collect();
    let to_c: Vec<Component> = to.components().collect();
    let common = from.iter().zip(&to_c).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = Vec::new();
    for _ in common..from.len() {
        parts.push("..".into());
    }
    for c in &to_c[common..] {
        parts.push(c.as_os_str().to_string_lossy().into_owned());
    }
    if parts.is_empty() {
        ".".into()
    } else {
        parts.join("/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<TopBlock>, ScanError> {
        parse_file(text, &Arc::from("main.tf"))
    }

    #[test]
    fn block_lines_with_crlf_and_bom() {
        let text = "\u{feff}# c\r\nresource \"a\" \"b\" {\r\n  x = 1\r\n}\r\n\r\nresource \"a\" \"c\" {}\r\n";
        let blocks = parse(text).unwrap();
        assert_eq!((blocks[0].start_line, blocks[0].end_line), (2, 4));
        assert_eq!((blocks[1].start_line, blocks[1].end_line), (6, 6));
    }

    #[test]
    fn parse_errors_carry_the_line() {
        let err = parse("locals {\n  a = 1\n  b = \n}\n").err().unwrap();
        assert_eq!(err.line, Some(3));
        assert!(
            err.message.starts_with("invalid HCL at line 3"),
            "{}",
            err.message
        );
    }

    #[test]
    fn override_files_merge_into_their_block() {
        let dir = std::env::temp_dir().join(format!("palisade-tf-override-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("main.tf"),
            "resource \"a\" \"b\" {\n  x = 1\n  y = 2\n  nested { v = 1 }\n}\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("main_override.tf"),
            "resource \"a\" \"b\" {\n  y = 3\n  nested { v = 2 }\n}\n",
        )
        .unwrap();
        let set = scan_dirs(&dir, std::slice::from_ref(&dir));
        std::fs::remove_dir_all(&dir).ok();
        assert_eq!(set.resources.len(), 1);
        assert_eq!(
            set.resources[0].attributes,
            serde_json::json!({"x": 1, "y": 3, "nested": [{"v": 2}]})
        );
        assert_eq!(set.resources[0].file, "main.tf");
    }

    #[test]
    fn paths_are_relative_with_forward_slashes() {
        assert_eq!(
            relative(Path::new("/a/b"), Path::new("/a/b/c/d.tf")),
            "c/d.tf"
        );
        assert_eq!(relative(Path::new("/a/b"), Path::new("/a/x/y")), "../x/y");
        assert_eq!(relative(Path::new("/a/b"), Path::new("/a/b")), ".");
        assert_eq!(
            normalize(Path::new("/a/b/../c/./d")),
            PathBuf::from("/a/c/d")
        );
    }
}
