//! Expression evaluation over [`Val`], tolerant of the unknown.
//!
//! `hcl::eval` stops at the first unresolvable reference, but a scanner sees
//! mostly incomplete worlds (resource attributes are computed, data sources
//! are remote), so this evaluator treats unknowns as values: they flow through
//! operators and functions and surface as `"${...}"` placeholders naming the
//! reference, which is what checks follow. Errors (a type mismatch, a missing
//! key) are `Err` so that `try`/`can` behave as in Terraform; callers turn a
//! final error into a placeholder for the whole expression.

use std::collections::BTreeMap;

use hcl::expr::{
    BinaryOperator, Expression, ForExpr, FuncCall, ObjectKey, Operation, TemplateExpr,
    TraversalOperator, UnaryOperator,
};
use hcl::template::{Directive, Element, Template};

use super::funcs;
use super::value::{index_text, placeholder, Val};

pub(crate) type EvalResult = Result<Val, String>;

/// Evaluation depth limit per thread: expressions are bounded by the parser,
/// but locals, module outputs and modules chain through each other, and each
/// link re-enters the evaluator. Counted per thread rather than per
/// evaluator so that the chain as a whole is bounded.
const MAX_DEPTH: usize = 1_000;

thread_local! {
    static DEPTH: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}
/// Upper bound on elements produced by `range`, `for` and friends, so a
/// hostile input cannot make the scanner allocate without bound.
pub(crate) const MAX_COLLECTION: usize = 100_000;

/// Clears the thread's depth count, so a panic caught mid-evaluation does
/// not leave later modules on this thread with a spent budget.
pub(crate) fn reset_depth() {
    DEPTH.with(|d| d.set(0));
}

/// What expressions can reference outside their own lexical scope.
pub(crate) trait Env {
    /// `var.<name>`; `None` when it cannot be known.
    fn var(&self, name: &str) -> Option<Val>;
    /// `local.<name>`.
    fn local(&self, name: &str) -> Option<Val>;
    /// `module.<name>`: the call's outputs object (or list/map of them).
    fn module(&self, name: &str) -> Option<Val>;
    /// `data.<type>.<name>` when the data source can be rendered statically.
    fn data(&self, kind: &str, name: &str) -> Option<Val>;
    /// Address prefix of the module (`module.a.`), for resource references.
    fn prefix(&self) -> &str;
    /// `path.module` / `path.root` / `path.cwd`.
    fn path(&self, which: &str) -> Option<String>;
    /// `file()`: reads a file relative to the root module, within bounds.
    fn read_file(&self, path: &str) -> Result<String, String>;
}

/// An `Env` with nothing in it, for `.tfvars` files and tests.
pub(crate) struct EmptyEnv;

impl Env for EmptyEnv {
    fn var(&self, _: &str) -> Option<Val> {
        None
    }
    fn local(&self, _: &str) -> Option<Val> {
        None
    }
    fn module(&self, _: &str) -> Option<Val> {
        None
    }
    fn data(&self, _: &str, _: &str) -> Option<Val> {
        None
    }
    fn prefix(&self) -> &str {
        ""
    }
    fn path(&self, _: &str) -> Option<String> {
        None
    }
    fn read_file(&self, _: &str) -> Result<String, String> {
        Err("file() is not available here".into())
    }
}

/// Lexical bindings: `each`, `count`, for-expression and `dynamic` iterators.
pub(crate) struct Scope<'s> {
    parent: Option<&'s Scope<'s>>,
    binding: Option<(String, Val)>,
}

impl<'s> Scope<'s> {
    pub(crate) fn root() -> Scope<'static> {
        Scope {
            parent: None,
            binding: None,
        }
    }

    pub(crate) fn with(&'s self, name: impl Into<String>, value: Val) -> Scope<'s> {
        Scope {
            parent: Some(self),
            binding: Some((name.into(), value)),
        }
    }

    fn lookup(&self, name: &str) -> Option<&Val> {
        let mut scope = Some(self);
        while let Some(s) = scope {
            if let Some((n, v)) = &s.binding {
                if n == name {
                    return Some(v);
                }
            }
            scope = s.parent;
        }
        None
    }
}

pub(crate) struct Evaluator<'e> {
    pub(crate) env: &'e dyn Env,
}

impl<'e> Evaluator<'e> {
    pub(crate) fn new(env: &'e dyn Env) -> Self {
        Self { env }
    }

    /// Evaluates and never fails: an error becomes a placeholder for the
    /// whole expression, so one odd expression never costs the resource.
    pub(crate) fn eval_lenient(&self, expr: &Expression, scope: &Scope) -> Val {
        match self.eval(expr, scope) {
            Ok(v) => v,
            Err(_) => Val::Unknown(expr_text(expr)),
        }
    }

    pub(crate) fn eval(&self, expr: &Expression, scope: &Scope) -> EvalResult {
        let depth = DEPTH.with(|d| d.get());
        if depth > MAX_DEPTH {
            return Err("expression nesting too deep".into());
        }
        DEPTH.with(|d| d.set(depth + 1));
        let result = self.eval_inner(expr, scope);
        DEPTH.with(|d| d.set(depth));
        result
    }

    fn eval_inner(&self, expr: &Expression, scope: &Scope) -> EvalResult {
        match expr {
            Expression::Null => Ok(Val::Null),
            Expression::Bool(b) => Ok(Val::Bool(*b)),
            Expression::Number(n) => Ok(n.as_f64().map_or(Val::Null, Val::Num)),
            Expression::String(s) => Ok(Val::Str(s.clone())),
            Expression::Array(items) => items
                .iter()
                .map(|e| self.eval(e, scope))
                .collect::<Result<Vec<_>, _>>()
                .map(Val::List),
            Expression::Object(object) => {
                let mut map = BTreeMap::new();
                for (key, value) in object.iter() {
                    let key = match key {
                        ObjectKey::Identifier(ident) => ident.as_str().to_string(),
                        ObjectKey::Expression(Expression::Variable(v)) => v.as_str().to_string(),
                        ObjectKey::Expression(e) => match self.eval(e, scope)? {
                            Val::Unknown(t) => placeholder(&t),
                            k => k.as_string().ok_or_else(|| {
                                format!("object key must be a string, got {}", k.type_name())
                            })?,
                        },
                        #[allow(unreachable_patterns)]
                        _ => return Err("unsupported object key".into()),
                    };
                    map.insert(key, self.eval(value, scope)?);
                }
                Ok(Val::Map(map))
            }
            Expression::TemplateExpr(template) => self.eval_template_expr(template, scope),
            Expression::Variable(v) => self.eval_root(v.as_str(), &[], scope),
            Expression::Traversal(t) => match &t.expr {
                Expression::Variable(v) => self.eval_root(v.as_str(), &t.operators, scope),
                other => {
                    let base = self.eval(other, scope)?;
                    self.apply_ops(base, &t.operators, scope)
                }
            },
            Expression::FuncCall(call) => self.eval_call(call, scope),
            Expression::Parenthesis(inner) => self.eval(inner, scope),
            Expression::Conditional(cond) => {
                let c = self.eval(&cond.cond_expr, scope)?;
                match c {
                    Val::Unknown(_) => {
                        // Both branches may still agree, or one may be the
                        // reference a check wants to follow.
                        let t = self.eval(&cond.true_expr, scope).unwrap_or(Val::Null);
                        let f = self.eval(&cond.false_expr, scope).unwrap_or(Val::Null);
                        if t == f || (t.is_unknown() && f == Val::Null) {
                            Ok(t)
                        } else if f.is_unknown() && t == Val::Null {
                            Ok(f)
                        } else {
                            Ok(c)
                        }
                    }
                    other => match other.as_bool() {
                        Some(true) => self.eval(&cond.true_expr, scope),
                        Some(false) => self.eval(&cond.false_expr, scope),
                        None => Err(format!("condition must be bool, got {}", other.type_name())),
                    },
                }
            }
            Expression::Operation(op) => self.eval_operation(op, scope),
            Expression::ForExpr(for_expr) => self.eval_for(for_expr, scope),
            #[allow(unreachable_patterns)]
            _ => Err("unsupported expression".into()),
        }
    }

    /// Resolves a traversal rooted at a bare name: scope bindings first, then
    /// Terraform's reference roots; anything else is a resource reference.
    fn eval_root(&self, name: &str, ops: &[TraversalOperator], scope: &Scope) -> EvalResult {
        if let Some(value) = scope.lookup(name) {
            return self.apply_ops(value.clone(), ops, scope);
        }
        let first_attr = match ops.first() {
            Some(TraversalOperator::GetAttr(a)) => Some(a.as_str()),
            _ => None,
        };
        let rest = if ops.is_empty() { ops } else { &ops[1..] };
        match (name, first_attr) {
            ("var", Some(attr)) => {
                let v = self
                    .env
                    .var(attr)
                    .unwrap_or_else(|| Val::Unknown(format!("var.{attr}")));
                self.apply_ops(v, rest, scope)
            }
            ("local", Some(attr)) => {
                let v = self
                    .env
                    .local(attr)
                    .unwrap_or_else(|| Val::Unknown(format!("local.{attr}")));
                self.apply_ops(v, rest, scope)
            }
            ("module", Some(attr)) => match self.env.module(attr) {
                Some(v) => self.apply_ops(v, rest, scope),
                None => Ok(Val::Unknown(format!(
                    "{}module.{attr}{}",
                    self.env.prefix(),
                    self.ops_text(rest, scope)
                ))),
            },
            ("path", Some(attr)) => match self.env.path(attr) {
                Some(p) => self.apply_ops(Val::Str(p), rest, scope),
                None => Ok(Val::Unknown(format!("path.{attr}"))),
            },
            ("terraform", Some("workspace")) => Ok(Val::Str("default".into())),
            ("data", Some(kind)) => {
                if let Some(TraversalOperator::GetAttr(data_name)) = rest.first() {
                    if let Some(v) = self.env.data(kind, data_name) {
                        return self.apply_ops(v, &rest[1..], scope);
                    }
                }
                Ok(Val::Unknown(format!(
                    "{}data{}",
                    self.env.prefix(),
                    self.ops_text(ops, scope)
                )))
            }
            ("each" | "count" | "self" | "var" | "local" | "path" | "terraform", _) => {
                Ok(Val::Unknown(format!("{name}{}", self.ops_text(ops, scope))))
            }
            _ => {
                // A resource reference: `aws_kms_key.k.arn`, with the module
                // prefix so it names one resource in the whole scan.
                let prefix = if ops.is_empty() {
                    ""
                } else {
                    self.env.prefix()
                };
                Ok(Val::Unknown(format!(
                    "{prefix}{name}{}",
                    self.ops_text(ops, scope)
                )))
            }
        }
    }

    /// Renders traversal operators as reference text, evaluating indexes
    /// where possible (`[count.index]` becomes `[0]`).
    fn ops_text(&self, ops: &[TraversalOperator], scope: &Scope) -> String {
        let mut out = String::new();
        for op in ops {
            match op {
                TraversalOperator::GetAttr(a) => {
                    out.push('.');
                    out.push_str(a.as_str());
                }
                TraversalOperator::Index(e) => match self.eval(e, scope) {
                    Ok(v) => out.push_str(&index_text(&v)),
                    Err(_) => out.push_str(&format!("[{}]", expr_text(e))),
                },
                TraversalOperator::LegacyIndex(i) => out.push_str(&format!("[{i}]")),
                TraversalOperator::AttrSplat => out.push_str(".*"),
                TraversalOperator::FullSplat => out.push_str("[*]"),
            }
        }
        out
    }

    pub(crate) fn apply_ops(
        &self,
        mut value: Val,
        ops: &[TraversalOperator],
        scope: &Scope,
    ) -> EvalResult {
        let mut i = 0;
        while i < ops.len() {
            if let Val::Unknown(text) = &value {
                return Ok(Val::Unknown(format!(
                    "{text}{}",
                    self.ops_text(&ops[i..], scope)
                )));
            }
            match &ops[i] {
                TraversalOperator::GetAttr(attr) => {
                    value = get_attr(value, attr.as_str())?;
                }
                TraversalOperator::Index(e) => {
                    let key = self.eval(e, scope)?;
                    value = index(value, &key)?;
                }
                TraversalOperator::LegacyIndex(n) => {
                    value = index(value, &Val::Num(*n as f64))?;
                }
                TraversalOperator::AttrSplat | TraversalOperator::FullSplat => {
                    // Splat applies the following attribute accesses (all
                    // following operators for `[*]`) to each element.
                    let full = matches!(ops[i], TraversalOperator::FullSplat);
                    let mut end = i + 1;
                    while end < ops.len()
                        && (full || matches!(ops[end], TraversalOperator::GetAttr(_)))
                    {
                        end += 1;
                    }
                    let sub = &ops[i + 1..end];
                    let items = match value {
                        Val::List(items) => items,
                        Val::Null => Vec::new(),
                        other => vec![other],
                    };
                    value = Val::List(
                        items
                            .into_iter()
                            .map(|item| self.apply_ops(item, sub, scope))
                            .collect::<Result<Vec<_>, _>>()?,
                    );
                    i = end;
                    continue;
                }
            }
            i += 1;
        }
        Ok(value)
    }

    fn eval_template_expr(&self, template: &TemplateExpr, scope: &Scope) -> EvalResult {
        let parsed = Template::from_expr(template).map_err(|e| e.to_string())?;
        let elements = parsed.elements();
        if let [Element::Interpolation(interp)] = elements {
            // A template that is one interpolation yields the value itself.
            return self.eval(&interp.expr, scope);
        }
        self.render_template(&parsed, scope).map(Val::Str)
    }

    /// Renders a template to a string. Unknown parts are written inline as
    /// `${...}` so a partially known string (an ARN built from a reference,
    /// a policy document) stays readable to checks.
    pub(crate) fn render_template(
        &self,
        template: &Template,
        scope: &Scope,
    ) -> Result<String, String> {
        let mut out = String::new();
        let mut strip_next = false;
        let elements = template.elements();
        for element in elements {
            match element {
                Element::Literal(lit) => {
                    if strip_next {
                        out.push_str(lit.trim_start());
                    } else {
                        out.push_str(lit);
                    }
                    strip_next = false;
                }
                Element::Interpolation(interp) => {
                    if interp.strip.strip_start() {
                        truncate_trailing_ws(&mut out);
                    }
                    let v = self.eval(&interp.expr, scope)?;
                    out.push_str(&template_string(&v)?);
                    strip_next = interp.strip.strip_end();
                }
                Element::Directive(directive) => match directive.as_ref() {
                    Directive::If(d) => {
                        if d.if_strip.strip_start() {
                            truncate_trailing_ws(&mut out);
                        }
                        let c = self.eval(&d.cond_expr, scope)?;
                        let rendered = match c.as_bool() {
                            Some(true) => self.render_template(&d.true_template, scope)?,
                            Some(false) => match &d.false_template {
                                Some(t) => self.render_template(t, scope)?,
                                None => String::new(),
                            },
                            None => placeholder(&expr_text(&d.cond_expr)),
                        };
                        out.push_str(rendered.trim_start_matches(|c: char| {
                            d.if_strip.strip_end() && c.is_whitespace()
                        }));
                        strip_next = d.endif_strip.strip_end();
                    }
                    Directive::For(d) => {
                        if d.for_strip.strip_start() {
                            truncate_trailing_ws(&mut out);
                        }
                        let collection = self.eval(&d.collection_expr, scope)?;
                        for (k, v) in iterate(&collection)? {
                            let s1;
                            let s0 = scope.with(d.value_var.as_str(), v);
                            let inner = if let Some(kv) = &d.key_var {
                                s1 = s0.with(kv.as_str(), k);
                                self.render_template(&d.template, &s1)?
                            } else {
                                self.render_template(&d.template, &s0)?
                            };
                            if d.for_strip.strip_end() {
                                out.push_str(inner.trim_start());
                            } else {
                                out.push_str(&inner);
                            }
                            if d.endfor_strip.strip_start() {
                                truncate_trailing_ws(&mut out);
                            }
                            if out.len() > 10 * 1024 * 1024 {
                                return Err("template output too large".into());
                            }
                        }
                        strip_next = d.endfor_strip.strip_end();
                    }
                },
            }
        }
        Ok(out)
    }

    fn eval_operation(&self, op: &Operation, scope: &Scope) -> EvalResult {
        match op {
            Operation::Unary(u) => {
                let v = self.eval(&u.expr, scope)?;
                if v.is_unknown() {
                    return Ok(v);
                }
                match u.operator {
                    UnaryOperator::Neg => v
                        .as_number()
                        .map(|n| Val::Num(-n))
                        .ok_or_else(|| "negation of a non-number".to_string()),
                    UnaryOperator::Not => v
                        .as_bool()
                        .map(|b| Val::Bool(!b))
                        .ok_or_else(|| "`!` of a non-bool".to_string()),
                }
            }
            Operation::Binary(b) => {
                let lhs = self.eval(&b.lhs_expr, scope)?;
                let rhs = self.eval(&b.rhs_expr, scope)?;
                binary(b.operator, lhs, rhs)
            }
        }
    }

    fn eval_for(&self, f: &ForExpr, scope: &Scope) -> EvalResult {
        let collection = self.eval(&f.collection_expr, scope)?;
        if collection.is_unknown() {
            return Ok(collection);
        }
        let mut list = Vec::new();
        let mut map: BTreeMap<String, Val> = BTreeMap::new();
        let mut groups: BTreeMap<String, Vec<Val>> = BTreeMap::new();
        for (k, v) in iterate(&collection)? {
            let s0 = scope.with(f.value_var.as_str(), v);
            let s1;
            let inner = match &f.key_var {
                Some(kv) => {
                    s1 = s0.with(kv.as_str(), k);
                    &s1
                }
                None => &s0,
            };
            if let Some(cond) = &f.cond_expr {
                let c = self.eval(cond, inner)?;
                match c {
                    Val::Unknown(_) => return Ok(c),
                    other => {
                        if !other.as_bool().ok_or("for condition must be bool")? {
                            continue;
                        }
                    }
                }
            }
            let value = self.eval(&f.value_expr, inner)?;
            match &f.key_expr {
                Some(key_expr) => {
                    let key = match self.eval(key_expr, inner)? {
                        Val::Unknown(t) => return Ok(Val::Unknown(t)),
                        k => k.as_string().ok_or("for key must be a string")?,
                    };
                    if f.grouping {
                        groups.entry(key).or_default().push(value);
                    } else {
                        if map.contains_key(&key) {
                            return Err(format!("duplicate key {key:?} in for expression"));
                        }
                        map.insert(key, value);
                    }
                }
                None => list.push(value),
            }
        }
        Ok(match (&f.key_expr, f.grouping) {
            (Some(_), true) => {
                Val::Map(groups.into_iter().map(|(k, v)| (k, Val::List(v))).collect())
            }
            (Some(_), false) => Val::Map(map),
            (None, _) => Val::List(list),
        })
    }

    fn eval_call(&self, call: &FuncCall, scope: &Scope) -> EvalResult {
        let name = call.name.name.as_str();
        if !call.name.namespace.is_empty() {
            return Ok(Val::Unknown(expr_text(&Expression::FuncCall(Box::new(
                call.clone(),
            )))));
        }
        // `try` and `can` look at errors, so they evaluate lazily.
        match name {
            "try" => {
                let mut last = String::from("no expression succeeded");
                for arg in &call.args {
                    match self.eval(arg, scope) {
                        Ok(v) => return Ok(v),
                        Err(e) => last = e,
                    }
                }
                return Err(last);
            }
            "can" => {
                let arg = call.args.first().ok_or("can() needs one argument")?;
                return Ok(match self.eval(arg, scope) {
                    Ok(v @ Val::Unknown(_)) => v,
                    Ok(_) => Val::Bool(true),
                    Err(_) => Val::Bool(false),
                });
            }
            "templatefile" => return self.templatefile(call, scope),
            _ => {}
        }
        let mut args = call
            .args
            .iter()
            .map(|a| self.eval(a, scope))
            .collect::<Result<Vec<_>, _>>()?;
        if call.expand_final {
            match args.pop() {
                Some(Val::List(items)) => args.extend(items),
                Some(u @ Val::Unknown(_)) => return Ok(u),
                Some(_) => return Err("`...` needs a list".into()),
                None => {}
            }
        }
        funcs::call(name, args, self.env)
    }

    fn templatefile(&self, call: &FuncCall, scope: &Scope) -> EvalResult {
        let path = match call.args.first().map(|a| self.eval(a, scope)).transpose()? {
            Some(Val::Str(p)) => p,
            Some(u @ Val::Unknown(_)) => return Ok(u),
            _ => return Err("templatefile() needs a path".into()),
        };
        let vars = match call.args.get(1).map(|a| self.eval(a, scope)).transpose()? {
            Some(Val::Map(m)) => m,
            Some(u @ Val::Unknown(_)) => return Ok(u),
            None => BTreeMap::new(),
            Some(_) => return Err("templatefile() vars must be an object".into()),
        };
        let content = self.env.read_file(&path)?;
        let template: Template = content.parse().map_err(|e: hcl::Error| e.to_string())?;
        // Template files see only the variables passed in, not the module.
        let empty = EmptyEnv;
        let inner = Evaluator::new(&empty);
        let root = Scope::root();
        fn render(
            ev: &Evaluator,
            template: &Template,
            vars: &[(&String, &Val)],
            scope: &Scope,
        ) -> Result<String, String> {
            match vars.split_first() {
                None => ev.render_template(template, scope),
                Some(((k, v), rest)) => {
                    let s = scope.with(k.as_str(), (*v).clone());
                    render(ev, template, rest, &s)
                }
            }
        }
        let pairs: Vec<(&String, &Val)> = vars.iter().collect();
        if let [Element::Interpolation(interp)] = template.elements() {
            fn bind_eval(
                ev: &Evaluator,
                expr: &Expression,
                vars: &[(&String, &Val)],
                scope: &Scope,
            ) -> EvalResult {
                match vars.split_first() {
                    None => ev.eval(expr, scope),
                    Some(((k, v), rest)) => {
                        let s = scope.with(k.as_str(), (*v).clone());
                        bind_eval(ev, expr, rest, &s)
                    }
                }
            }
            return bind_eval(&inner, &interp.expr, &pairs, &root);
        }
        render(&inner, &template, &pairs, &root).map(Val::Str)
    }
}

fn truncate_trailing_ws(s: &mut String) {
    let trimmed = s.trim_end().len();
    s.truncate(trimmed);
}

/// How a value prints inside a template.
fn template_string(v: &Val) -> Result<String, String> {
    match v {
        Val::Unknown(t) => Ok(placeholder(t)),
        Val::Null => Err("null value in string template".into()),
        Val::List(_) | Val::Map(_) => Err(format!(
            "cannot include a {} in a string template",
            v.type_name()
        )),
        other => other.as_string().ok_or_else(|| "not a string".into()),
    }
}

/// `(key, value)` pairs of a collection the way `for` sees them.
pub(crate) fn iterate(collection: &Val) -> Result<Vec<(Val, Val)>, String> {
    match collection {
        Val::List(items) => Ok(items
            .iter()
            .take(MAX_COLLECTION)
            .enumerate()
            .map(|(i, v)| (Val::Num(i as f64), v.clone()))
            .collect()),
        Val::Map(map) => Ok(map
            .iter()
            .take(MAX_COLLECTION)
            .map(|(k, v)| (Val::Str(k.clone()), v.clone()))
            .collect()),
        Val::Null => Err("cannot iterate over null".into()),
        other => Err(format!("cannot iterate over a {}", other.type_name())),
    }
}

fn get_attr(value: Val, attr: &str) -> EvalResult {
    match value {
        Val::Map(mut map) => map
            .remove(attr)
            .ok_or_else(|| format!("no attribute {attr:?}")),
        Val::Unknown(t) => Ok(Val::Unknown(format!("{t}.{attr}"))),
        other => Err(format!(
            "cannot read attribute {attr:?} of a {}",
            other.type_name()
        )),
    }
}

fn index(value: Val, key: &Val) -> EvalResult {
    if let Val::Unknown(t) = key {
        return Ok(match value {
            Val::Unknown(v) => Val::Unknown(format!("{v}[{t}]")),
            _ => Val::Unknown(t.clone()),
        });
    }
    match value {
        Val::List(mut items) => {
            let i = key.as_number().ok_or("list index must be a number")?;
            if i < 0.0 || i.fract() != 0.0 || i as usize >= items.len() {
                return Err("index out of range".into());
            }
            Ok(items.swap_remove(i as usize))
        }
        Val::Map(mut map) => {
            let k = key.as_string().ok_or("map key must be a string")?;
            map.remove(&k).ok_or_else(|| format!("no key {k:?}"))
        }
        Val::Unknown(t) => Ok(Val::Unknown(format!("{t}{}", index_text(key)))),
        other => Err(format!("cannot index a {}", other.type_name())),
    }
}

fn binary(op: BinaryOperator, lhs: Val, rhs: Val) -> EvalResult {
    use BinaryOperator::*;
    // `false && x` and `true || x` are known whatever x is.
    match (op, lhs.as_bool(), rhs.as_bool()) {
        (And, Some(false), _) | (And, _, Some(false)) => return Ok(Val::Bool(false)),
        (Or, Some(true), _) | (Or, _, Some(true)) => return Ok(Val::Bool(true)),
        _ => {}
    }
    if lhs.is_unknown() {
        return Ok(lhs);
    }
    if rhs.is_unknown() {
        return Ok(rhs);
    }
    match op {
        Eq => Ok(Val::Bool(values_equal(&lhs, &rhs))),
        NotEq => Ok(Val::Bool(!values_equal(&lhs, &rhs))),
        And | Or => {
            let (a, b) = (
                lhs.as_bool().ok_or("logical operator needs bools")?,
                rhs.as_bool().ok_or("logical operator needs bools")?,
            );
            Ok(Val::Bool(if matches!(op, And) { a && b } else { a || b }))
        }
        _ => {
            let a = lhs
                .as_number()
                .ok_or_else(|| format!("arithmetic on a {}", lhs.type_name()))?;
            let b = rhs
                .as_number()
                .ok_or_else(|| format!("arithmetic on a {}", rhs.type_name()))?;
            Ok(match op {
                Less => Val::Bool(a < b),
                LessEq => Val::Bool(a <= b),
                Greater => Val::Bool(a > b),
                GreaterEq => Val::Bool(a >= b),
                Plus => Val::Num(a + b),
                Minus => Val::Num(a - b),
                Mul => Val::Num(a * b),
                Div => {
                    if b == 0.0 {
                        return Err("division by zero".into());
                    }
                    Val::Num(a / b)
                }
                Mod => {
                    if b == 0.0 {
                        return Err("modulo by zero".into());
                    }
                    Val::Num(a % b)
                }
                _ => return Err("unsupported operator".into()),
            })
        }
    }
}

/// Equality as Terraform sees it for the cases configs use: numbers by value,
/// everything else structurally.
pub(crate) fn values_equal(a: &Val, b: &Val) -> bool {
    a == b
}

/// The source text of an expression, for placeholders.
pub(crate) fn expr_text(expr: &Expression) -> String {
    hcl::format::to_string(expr)
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "?".into())
}
