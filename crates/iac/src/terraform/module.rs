//! One module instance evaluated: variables, locals, module calls, resources.
//!
//! Locals, module outputs and renderable data sources are resolved lazily and
//! memoised, so declaration order never matters and each is computed once; a
//! reference cycle yields an unknown instead of looping.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

use hcl::expr::Expression;
use hcl::{Block, Body, Structure};
use serde_json::{Map, Value as Json};

use super::eval::{iterate, EmptyEnv, Env, Evaluator, Scope};
use super::types::convert;
use super::value::{index_text, Val};
use super::{normalize, relative, Loader, TopBlock, MAX_FILE_BYTES};
use crate::model::{Framework, IacResource};

/// Deepest module nesting followed; real configurations stay far below.
const MAX_MODULE_DEPTH: usize = 12;
/// Most instances one `count`/`for_each` expands to.
const MAX_INSTANCES: usize = 1_000;

/// Arguments of resources that steer Terraform rather than describe the
/// resource; they are not part of the plan's `values`.
const RESOURCE_META_ATTRS: &[&str] = &["count", "for_each", "depends_on", "provider"];
const RESOURCE_META_BLOCKS: &[&str] = &["lifecycle", "provisioner", "connection"];
const MODULE_META_ATTRS: &[&str] = &[
    "source",
    "version",
    "count",
    "for_each",
    "providers",
    "depends_on",
];

/// What evaluating a module instance yields.
pub(crate) struct ModuleResult {
    pub resources: Vec<IacResource>,
    pub outputs: Val,
}

enum Memo {
    InProgress,
    Done(Option<Val>),
}

pub(crate) struct ModuleEval<'c> {
    loader: &'c Loader,
    module: Arc<super::LoadedModule>,
    /// Address prefix: `""` or `module.a.` or `module.a["k"].module.b.`.
    prefix: String,
    /// The root module directory: Terraform's working directory.
    root_dir: PathBuf,
    /// Module directories from the root down to this one (cycle guard).
    chain: Vec<PathBuf>,
    vars: BTreeMap<String, Val>,
    locals: HashMap<String, usize>,
    calls: HashMap<String, usize>,
    data: HashMap<(String, String), usize>,
    /// (index into `module.blocks`, attribute name) of each local.
    local_exprs: Vec<(usize, String)>,
    local_memo: RefCell<HashMap<String, Memo>>,
    call_memo: RefCell<HashMap<String, Memo>>,
    data_memo: RefCell<HashMap<(String, String), Memo>>,
    child_resources: RefCell<Vec<IacResource>>,
}

impl<'c> ModuleEval<'c> {
    /// `inputs` are tfvars (root) or module call arguments (child).
    pub(crate) fn new(
        loader: &'c Loader,
        module: Arc<super::LoadedModule>,
        prefix: String,
        root_dir: PathBuf,
        chain: Vec<PathBuf>,
        inputs: BTreeMap<String, Val>,
    ) -> Self {
        let mut vars = BTreeMap::new();
        let mut locals = HashMap::new();
        let mut local_exprs = Vec::new();
        let mut calls = HashMap::new();
        let mut data = HashMap::new();
        let empty = EmptyEnv;
        let ev = Evaluator::new(&empty);
        for (i, top) in module.blocks.iter().enumerate() {
            let b = &top.block;
            match (b.identifier(), b.labels()) {
                ("variable", [name]) => {
                    let name = name.as_str().to_string();
                    let attr = |k: &str| b.body().attributes().find(|a| a.key.as_str() == k);
                    let default = attr("default").map(|a| ev.eval_lenient(&a.expr, &Scope::root()));
                    let nullable = attr("nullable")
                        .map(|a| !matches!(a.expr, Expression::Bool(false)))
                        .unwrap_or(true);
                    let ty = attr("type").map(|a| &a.expr);
                    let provided = inputs.get(&name).cloned();
                    let value = match (provided, default) {
                        (Some(Val::Null), Some(d)) if !nullable => d,
                        (Some(v), _) => v,
                        (None, Some(d)) => d,
                        (None, None) => Val::Unknown(format!("var.{name}")),
                    };
                    let value = match ty {
                        Some(ty) => convert(value, ty),
                        None => value,
                    };
                    vars.insert(name, value);
                }
                ("locals", []) => {
                    for attr in b.body().attributes() {
                        locals.insert(attr.key.as_str().to_string(), local_exprs.len());
                        local_exprs.push((i, attr.key.as_str().to_string()));
                    }
                }
                ("module", [name]) => {
                    calls.insert(name.as_str().to_string(), i);
                }
                ("data", [kind, name]) => {
                    data.insert((kind.as_str().to_string(), name.as_str().to_string()), i);
                }
                _ => {}
            }
        }
        Self {
            loader,
            module,
            prefix,
            root_dir,
            chain,
            vars,
            locals,
            calls,
            data,
            local_exprs,
            local_memo: RefCell::default(),
            call_memo: RefCell::default(),
            data_memo: RefCell::default(),
            child_resources: RefCell::default(),
        }
    }

    /// Evaluates every resource of the module (and of its local module calls).
    pub(crate) fn run(self) -> ModuleResult {
        let module = Arc::clone(&self.module);
        let mut resources = Vec::new();
        for top in &module.blocks {
            if top.block.identifier() == "resource" {
                if let [kind, name] = top.block.labels() {
                    self.expand_resource(top, kind.as_str(), name.as_str(), &mut resources);
                }
            }
        }
        let mut names: Vec<&String> = self.calls.keys().collect();
        names.sort();
        for name in names {
            let _ = self.module(name);
        }
        let ev = Evaluator::new(&self);
        let mut outputs = BTreeMap::new();
        for top in &module.blocks {
            if let ("output", [name]) = (top.block.identifier(), top.block.labels()) {
                if let Some(a) = top
                    .block
                    .body()
                    .attributes()
                    .find(|a| a.key.as_str() == "value")
                {
                    outputs.insert(
                        name.as_str().to_string(),
                        ev.eval_lenient(&a.expr, &Scope::root()),
                    );
                }
            }
        }
        resources.extend(self.child_resources.take());
        ModuleResult {
            resources,
            outputs: Val::Map(outputs),
        }
    }

    fn expand_resource(&self, top: &TopBlock, kind: &str, name: &str, out: &mut Vec<IacResource>) {
        let base = format!("{}{kind}.{name}", self.prefix);
        for (suffix, binding) in self.instances(top.block.body()) {
            let root = Scope::root();
            let scope = match &binding {
                Some((n, v)) => root.with(n.clone(), v.clone()),
                None => Scope::root(),
            };
            let ev = Evaluator::new(self);
            let attributes = body_to_json(&ev, top.block.body(), &scope, true);
            out.push(IacResource {
                framework: Framework::Terraform,
                kind: kind.to_string(),
                address: format!("{base}{suffix}"),
                name: name.to_string(),
                file: top.file.to_string(),
                start_line: top.start_line,
                end_line: top.end_line,
                attributes: Json::Object(attributes),
            });
        }
    }

    /// The instances `count`/`for_each` ask for: address suffix and the
    /// `count`/`each` binding. Unknown counts give one unexpanded instance,
    /// so the resource is still checked.
    fn instances(&self, body: &Body) -> Vec<(String, Option<(String, Val)>)> {
        let ev = Evaluator::new(self);
        let attr = |k: &str| body.attributes().find(|a| a.key.as_str() == k);
        if let Some(count) = attr("count") {
            let unknown = vec![(
                String::new(),
                Some((
                    "count".to_string(),
                    obj([("index", Val::unknown("count.index"))]),
                )),
            )];
            return match ev.eval_lenient(&count.expr, &Scope::root()).as_number() {
                Some(n) if n >= 0.0 => (0..(n as usize).min(MAX_INSTANCES))
                    .map(|i| {
                        (
                            format!("[{i}]"),
                            Some(("count".to_string(), obj([("index", Val::Num(i as f64))]))),
                        )
                    })
                    .collect(),
                _ => unknown,
            };
        }
        if let Some(for_each) = attr("for_each") {
            let unknown = vec![(
                String::new(),
                Some((
                    "each".to_string(),
                    obj([
                        ("key", Val::unknown("each.key")),
                        ("value", Val::unknown("each.value")),
                    ]),
                )),
            )];
            let pairs: Option<Vec<(String, Val)>> =
                match ev.eval_lenient(&for_each.expr, &Scope::root()) {
                    Val::Map(m) => Some(m.into_iter().collect()),
                    Val::List(items) => items
                        .into_iter()
                        .map(|v| v.as_string().map(|s| (s, v)))
                        .collect(),
                    _ => None,
                };
            return match pairs {
                Some(pairs) => pairs
                    .into_iter()
                    .take(MAX_INSTANCES)
                    .map(|(k, v)| {
                        (
                            index_text(&Val::Str(k.clone())),
                            Some((
                                "each".to_string(),
                                obj([("key", Val::Str(k)), ("value", v)]),
                            )),
                        )
                    })
                    .collect(),
                None => unknown,
            };
        }
        vec![(String::new(), None)]
    }

    /// Evaluates a module call (all its instances) and returns its outputs.
    fn eval_call(&self, name: &str) -> Option<Val> {
        let top = &self.module.blocks[*self.calls.get(name)?];
        let body = top.block.body();
        let ev = Evaluator::new(self);
        let source = body.attributes().find(|a| a.key.as_str() == "source")?;
        let Val::Str(source) = ev.eval_lenient(&source.expr, &Scope::root()) else {
            return None;
        };
        if !is_local_source(&source) {
            return None;
        }
        let dir = normalize(&self.module.dir.join(&source));
        if self.chain.len() >= MAX_MODULE_DEPTH || self.chain.contains(&dir) {
            return None;
        }
        let child = self.loader.module(&dir)?;
        let counted = body.attributes().any(|a| a.key.as_str() == "count");
        let each = body.attributes().any(|a| a.key.as_str() == "for_each");
        let mut list = Vec::new();
        let mut map = BTreeMap::new();
        let mut single = None;
        for (suffix, binding) in self.instances(body) {
            if !self.loader.take_instance() {
                tracing::warn!(
                    module = name,
                    "module instance budget spent; instance skipped"
                );
                continue;
            }
            let root = Scope::root();
            let scope = match &binding {
                Some((n, v)) => root.with(n.clone(), v.clone()),
                None => Scope::root(),
            };
            let mut inputs = BTreeMap::new();
            for attr in body.attributes() {
                if !MODULE_META_ATTRS.contains(&attr.key.as_str()) {
                    inputs.insert(
                        attr.key.as_str().to_string(),
                        ev.eval_lenient(&attr.expr, &scope),
                    );
                }
            }
            let mut chain = self.chain.clone();
            chain.push(dir.clone());
            let result = ModuleEval::new(
                self.loader,
                Arc::clone(&child),
                format!("{}module.{name}{suffix}.", self.prefix),
                self.root_dir.clone(),
                chain,
                inputs,
            )
            .run();
            self.child_resources.borrow_mut().extend(result.resources);
            match (&binding, suffix.is_empty()) {
                (Some((_, Val::Map(b))), false) if each => {
                    if let Some(Val::Str(k)) = b.get("key") {
                        map.insert(k.clone(), result.outputs);
                    }
                }
                (Some(_), false) if counted => list.push(result.outputs),
                _ => single = Some(result.outputs),
            }
        }
        Some(match single {
            Some(v) => v,
            None if each => Val::Map(map),
            None => Val::List(list),
        })
    }

    /// `data.aws_iam_policy_document.x`: rendered to its `json`, because most
    /// real IAM policies are written that way and checks need the document.
    fn eval_data(&self, kind: &str, name: &str) -> Option<Val> {
        if kind != "aws_iam_policy_document" {
            return None;
        }
        let top = &self.module.blocks[*self.data.get(&(kind.to_string(), name.to_string()))?];
        let body = top.block.body();
        let counted = body.attributes().any(|a| a.key.as_str() == "count");
        let each = body.attributes().any(|a| a.key.as_str() == "for_each");
        let ev = Evaluator::new(self);
        let mut list = Vec::new();
        let mut map = BTreeMap::new();
        for (suffix, binding) in self.instances(body) {
            if (counted || each) && suffix.is_empty() {
                // Unknown count: which instances exist is unknown too.
                return None;
            }
            let root = Scope::root();
            let scope = match &binding {
                Some((n, v)) => root.with(n.clone(), v.clone()),
                None => Scope::root(),
            };
            let attrs = body_to_json(&ev, body, &scope, true);
            let json = super::policy::render_policy_document(&attrs)?;
            let rendered = obj([
                ("json", Val::Str(json.clone())),
                ("minified_json", Val::Str(json)),
                (
                    "id",
                    Val::unknown(format!("{}data.{kind}.{name}{suffix}.id", self.prefix)),
                ),
            ]);
            match binding {
                Some((_, Val::Map(b))) if each => {
                    if let Some(Val::Str(k)) = b.get("key") {
                        map.insert(k.clone(), rendered);
                    }
                }
                _ if counted => list.push(rendered),
                _ => return Some(rendered),
            }
        }
        Some(if each { Val::Map(map) } else { Val::List(list) })
    }

    /// Runs `f` once per key; re-entry while running (a cycle) yields `None`.
    fn memoised<K: std::hash::Hash + Eq + Clone>(
        memo: &RefCell<HashMap<K, Memo>>,
        key: K,
        f: impl FnOnce() -> Option<Val>,
    ) -> Option<Val> {
        match memo.borrow().get(&key) {
            Some(Memo::InProgress) => return None,
            Some(Memo::Done(v)) => return v.clone(),
            None => {}
        }
        memo.borrow_mut().insert(key.clone(), Memo::InProgress);
        let v = f();
        memo.borrow_mut().insert(key, Memo::Done(v.clone()));
        v
    }
}

impl Env for ModuleEval<'_> {
    fn var(&self, name: &str) -> Option<Val> {
        self.vars.get(name).cloned()
    }

    fn local(&self, name: &str) -> Option<Val> {
        let &idx = self.locals.get(name)?;
        Self::memoised(&self.local_memo, name.to_string(), || {
            let (block, key) = &self.local_exprs[idx];
            let attr = self.module.blocks[*block]
                .block
                .body()
                .attributes()
                .find(|a| a.key.as_str() == key)?;
            Some(Evaluator::new(self).eval_lenient(&attr.expr, &Scope::root()))
        })
    }

    fn module(&self, name: &str) -> Option<Val> {
        if !self.calls.contains_key(name) {
            return None;
        }
        Self::memoised(&self.call_memo, name.to_string(), || self.eval_call(name))
    }

    fn data(&self, kind: &str, name: &str) -> Option<Val> {
        Self::memoised(
            &self.data_memo,
            (kind.to_string(), name.to_string()),
            || self.eval_data(kind, name),
        )
    }

    fn prefix(&self) -> &str {
        &self.prefix
    }

    fn path(&self, which: &str) -> Option<String> {
        match which {
            "module" => Some(relative(&self.root_dir, &self.module.dir)),
            "root" | "cwd" => Some(".".to_string()),
            _ => None,
        }
    }

    /// Reads files only inside the scan root or the module itself, so a
    /// hostile configuration cannot pull `/etc/shadow` into a report.
    fn read_file(&self, path: &str) -> Result<String, String> {
        let candidate = normalize(&self.root_dir.join(path));
        let allowed = [
            self.loader.root(),
            self.module.dir.as_path(),
            self.root_dir.as_path(),
        ];
        let canonical = candidate
            .canonicalize()
            .map_err(|e| format!("file({path}): {e}"))?;
        let inside = allowed.iter().any(|base| {
            base.canonicalize()
                .map(|b| canonical.starts_with(b))
                .unwrap_or(false)
        });
        if !inside {
            return Err(format!("file({path}): outside the scanned tree"));
        }
        let meta = std::fs::metadata(&canonical).map_err(|e| e.to_string())?;
        if !meta.is_file() || meta.len() > MAX_FILE_BYTES {
            return Err(format!("file({path}): not a regular file or too large"));
        }
        let bytes = std::fs::read(&canonical).map_err(|e| e.to_string())?;
        String::from_utf8(bytes).map_err(|_| format!("file({path}): not UTF-8"))
    }
}

fn obj<const N: usize>(pairs: [(&str, Val); N]) -> Val {
    Val::Map(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

/// A block body in plan `values` shape: arguments as values, nested blocks
/// as arrays of objects, `dynamic` blocks expanded. Null arguments are
/// dropped: `x = null` means "not set", and a present-but-null attribute
/// would look set to a check testing for presence.
pub(crate) fn body_to_json(
    ev: &Evaluator,
    body: &Body,
    scope: &Scope,
    top: bool,
) -> Map<String, Json> {
    let mut out = Map::new();
    for structure in body.iter() {
        match structure {
            Structure::Attribute(attr) => {
                let key = attr.key.as_str();
                if top && RESOURCE_META_ATTRS.contains(&key) {
                    continue;
                }
                let value = ev.eval_lenient(&attr.expr, scope);
                if value != Val::Null {
                    out.insert(key.to_string(), value.to_json());
                }
            }
            Structure::Block(block) => {
                let ident = block.identifier();
                if top && RESOURCE_META_BLOCKS.contains(&ident) {
                    continue;
                }
                if ident == "dynamic" {
                    if let Some(label) = block.labels().first() {
                        for item in expand_dynamic(ev, block, scope) {
                            push_block(&mut out, label.as_str(), Json::Object(item));
                        }
                    }
                    continue;
                }
                let item = body_to_json(ev, block.body(), scope, false);
                push_block(&mut out, ident, Json::Object(item));
            }
        }
    }
    out
}

fn push_block(out: &mut Map<String, Json>, key: &str, item: Json) {
    match out.get_mut(key) {
        Some(Json::Array(items)) => items.push(item),
        _ => {
            out.insert(key.to_string(), Json::Array(vec![item]));
        }
    }
}

/// `dynamic "x" { for_each = ...; iterator = it; content { ... } }` as the
/// repeated `x` blocks it stands for. An unknown collection gives one block
/// with unknown iterator values: the block most likely exists.
fn expand_dynamic(ev: &Evaluator, block: &Block, scope: &Scope) -> Vec<Map<String, Json>> {
    let Some(label) = block.labels().first() else {
        return Vec::new();
    };
    let body = block.body();
    let iterator = body
        .attributes()
        .find(|a| a.key.as_str() == "iterator")
        .and_then(|a| match &a.expr {
            Expression::Variable(v) => Some(v.as_str().to_string()),
            _ => None,
        })
        .unwrap_or_else(|| label.as_str().to_string());
    let Some(content) = body.blocks().find(|b| b.identifier() == "content") else {
        return Vec::new();
    };
    let Some(for_each) = body.attributes().find(|a| a.key.as_str() == "for_each") else {
        return Vec::new();
    };
    // A collection that fails to evaluate (as opposed to one that is merely
    // unknown) means the configuration takes a path we cannot follow; no
    // block is a safer guess than a block of invented values.
    let Ok(collection) = ev.eval(&for_each.expr, scope) else {
        return Vec::new();
    };
    let items = match &collection {
        Val::Null => Vec::new(),
        Val::Unknown(text) => vec![(
            Val::unknown(format!("{text}.key")),
            Val::Unknown(text.clone()),
        )],
        other => iterate(other).unwrap_or_default(),
    };
    // Sets of strings iterate with key = value, as in Terraform.
    let set_like = matches!(collection, Val::List(_));
    items
        .into_iter()
        .take(MAX_INSTANCES)
        .map(|(k, v)| {
            let key = if set_like && matches!(v, Val::Str(_)) {
                v.clone()
            } else {
                k
            };
            let binding = obj([("key", key), ("value", v)]);
            let inner = scope.with(iterator.clone(), binding);
            body_to_json(ev, content.body(), &inner, false)
        })
        .collect()
}

/// Whether a string is a local module source (`./x`, `../x`).
pub(crate) fn is_local_source(source: &str) -> bool {
    source.starts_with("./") || source.starts_with("../") || source == "." || source == ".."
}
