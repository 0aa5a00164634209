//! `terraform show -json` plans and states.
//!
//! A plan holds the exact values Terraform will apply, so it needs no
//! evaluation; what it lacks are values known only after apply (`null` in
//! `values`, `true` in `after_unknown`). For those, the configuration's
//! `references` say which resource the value comes from, and a
//! `"${address.attr}"` placeholder keeps such links followable by checks,
//! exactly as in the HCL path.

use std::collections::HashMap;

use serde_json::{Map, Value as Json};

use crate::model::{Framework, IacResource, ParsedSet};

/// Modules nest as deep as configurations do; this bounds hostile input.
const MAX_MODULE_DEPTH: usize = 64;

/// Resources of a plan's `planned_values` (all modules), or of a state's
/// `values`.
pub fn parse_plan(rel_path: &str, content: &str) -> ParsedSet {
    let doc: Json = match serde_json::from_str(content) {
        Ok(doc) => doc,
        Err(e) => {
            return ParsedSet::error(
                rel_path,
                u32::try_from(e.line()).ok().filter(|&l| l > 0),
                format!("invalid plan JSON: {e}"),
            )
        }
    };
    let Some(values) = doc
        .get("planned_values")
        .or_else(|| doc.get("values"))
        .and_then(|v| v.get("root_module"))
    else {
        return ParsedSet::error(
            rel_path,
            None,
            "not a Terraform plan or state: no planned_values.root_module or values.root_module",
        );
    };
    let unknowns = after_unknown_by_address(&doc);
    let mut config = Config::default();
    if let Some(root) = doc.get("configuration").and_then(|c| c.get("root_module")) {
        config.collect(root, String::new(), None, 0);
    }
    let lines = LineIndex::new(content);
    let mut out = ParsedSet::default();
    walk_module(
        values,
        &Ctx {
            rel_path,
            unknowns: &unknowns,
            config: &config,
            lines: &lines,
        },
        &mut out,
        0,
    );
    out
}

struct Ctx<'a> {
    rel_path: &'a str,
    unknowns: &'a HashMap<String, &'a Json>,
    config: &'a Config<'a>,
    lines: &'a LineIndex<'a>,
}

fn walk_module(module: &Json, ctx: &Ctx, out: &mut ParsedSet, depth: usize) {
    if depth > MAX_MODULE_DEPTH {
        return;
    }
    for resource in module
        .get("resources")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
    {
        if resource
            .get("mode")
            .and_then(Json::as_str)
            .unwrap_or("managed")
            != "managed"
        {
            continue;
        }
        let (Some(address), Some(kind)) = (
            resource.get("address").and_then(Json::as_str),
            resource.get("type").and_then(Json::as_str),
        ) else {
            continue;
        };
        let name = resource
            .get("name")
            .and_then(Json::as_str)
            .unwrap_or_default();
        let mut attributes = resource
            .get("values")
            .cloned()
            .unwrap_or_else(|| Json::Object(Map::new()));
        fill_unknowns(&mut attributes, address, ctx);
        let line = ctx.lines.line_of_address(address);
        out.resources.push(IacResource {
            framework: Framework::TerraformPlan,
            kind: kind.to_string(),
            address: address.to_string(),
            name: name.to_string(),
            file: ctx.rel_path.to_string(),
            start_line: line,
            end_line: line,
            attributes,
        });
    }
    for child in module
        .get("child_modules")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
    {
        walk_module(child, ctx, out, depth + 1);
    }
}

/// Replaces values the plan marks unknown (`after_unknown`) with a
/// placeholder naming the resource attribute they come from: the first
/// resource reference of the configuration expression (followed through
/// module variables), else the attribute itself. Only values that are
/// present as `null` or that have such a reference are filled, so an unknown
/// nested block does not turn into a string where checks expect blocks.
fn fill_unknowns(attributes: &mut Json, address: &str, ctx: &Ctx) {
    let Some(after_unknown) = ctx.unknowns.get(address) else {
        return;
    };
    let config_address = strip_instance_keys(address);
    let (expressions, module) = match ctx.config.resources.get(&config_address) {
        Some((e, m)) => (Some(*e), Some(*m)),
        None => (None, None),
    };
    fill(
        attributes,
        after_unknown,
        expressions,
        module,
        address,
        ctx.config,
        0,
    );
}

fn fill(
    values: &mut Json,
    unknown: &Json,
    config: Option<&Json>,
    module: Option<usize>,
    path: &str,
    cfg: &Config,
    depth: usize,
) {
    if depth > MAX_MODULE_DEPTH {
        return;
    }
    match (values, unknown) {
        (Json::Object(values), Json::Object(unknown)) => {
            for (key, u) in unknown {
                let sub_config = config.and_then(|c| c.get(key));
                let sub_path = format!("{path}.{key}");
                if u == &Json::Bool(true) {
                    let reference = sub_config
                        .and_then(|c| c.get("references"))
                        .and_then(|r| cfg.resolve(r, module?, 0));
                    let present_null = matches!(values.get(key), Some(Json::Null));
                    if present_null || reference.is_some() {
                        let target = reference.unwrap_or(sub_path);
                        values.insert(key.clone(), Json::String(format!("${{{target}}}")));
                    }
                } else if let Some(v) = values.get_mut(key) {
                    fill(v, u, sub_config, module, &sub_path, cfg, depth + 1);
                }
            }
        }
        (Json::Array(values), Json::Array(unknown)) => {
            for (i, (v, u)) in values.iter_mut().zip(unknown).enumerate() {
                let sub_config = config
                    .and_then(Json::as_array)
                    .and_then(|c| c.get(i).or_else(|| c.first()));
                fill(
                    v,
                    u,
                    sub_config,
                    module,
                    &format!("{path}.{i}"),
                    cfg,
                    depth + 1,
                );
            }
        }
        _ => {}
    }
}

/// `resource_changes[].change.after_unknown` by resource address.
fn after_unknown_by_address(doc: &Json) -> HashMap<String, &Json> {
    doc.get("resource_changes")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .filter_map(|rc| {
            let address = rc.get("address")?.as_str()?.to_string();
            let unknown = rc.get("change")?.get("after_unknown")?;
            Some((address, unknown))
        })
        .collect()
}

/// The plan's `configuration`: expressions of each resource, and for each
/// module the call that created it, to follow `var.x` to the caller's value.
#[derive(Default)]
struct Config<'a> {
    modules: Vec<ConfigModule<'a>>,
    /// Config address (with module prefix, no instance keys) to the
    /// resource's `expressions` and its module index.
    resources: HashMap<String, (&'a Json, usize)>,
}

struct ConfigModule<'a> {
    prefix: String,
    /// The calling `module_calls.<name>.expressions` and the caller's index.
    call: Option<(&'a Json, usize)>,
}

impl<'a> Config<'a> {
    fn collect(
        &mut self,
        module: &'a Json,
        prefix: String,
        call: Option<(&'a Json, usize)>,
        depth: usize,
    ) {
        if depth > MAX_MODULE_DEPTH {
            return;
        }
        let index = self.modules.len();
        self.modules.push(ConfigModule {
            prefix: prefix.clone(),
            call,
        });
        for resource in module
            .get("resources")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
        {
            if let (Some(address), Some(expressions)) = (
                resource.get("address").and_then(Json::as_str),
                resource.get("expressions"),
            ) {
                self.resources
                    .insert(format!("{prefix}{address}"), (expressions, index));
            }
        }
        if let Some(calls) = module.get("module_calls").and_then(Json::as_object) {
            for (name, c) in calls {
                if let Some(child) = c.get("module") {
                    let exprs = c.get("expressions");
                    self.collect(
                        child,
                        format!("{prefix}module.{name}."),
                        exprs.map(|e| (e, index)),
                        depth + 1,
                    );
                }
            }
        }
    }

    /// The first reference naming a resource, as a full address; `var.x`
    /// references are followed into the calling module's argument.
    fn resolve(&self, references: &Json, module: usize, depth: usize) -> Option<String> {
        if depth > MAX_MODULE_DEPTH {
            return None;
        }
        let m = self.modules.get(module)?;
        for r in references.as_array()?.iter().filter_map(Json::as_str) {
            if let Some(var) = r.strip_prefix("var.") {
                let name = var.split(['.', '[']).next().unwrap_or(var);
                if let Some((call, parent)) = m.call {
                    if let Some(found) = call
                        .get(name)
                        .and_then(|e| e.get("references"))
                        .and_then(|refs| self.resolve(refs, parent, depth + 1))
                    {
                        return Some(found);
                    }
                }
                continue;
            }
            let root = r.split(['.', '[']).next().unwrap_or(r);
            let is_resource = r.contains('.')
                && !matches!(
                    root,
                    "local" | "each" | "count" | "path" | "module" | "self" | "terraform"
                );
            if is_resource {
                return Some(format!("{}{r}", m.prefix));
            }
        }
        None
    }
}

/// `module.a["x"].aws_s3_bucket.b[0]` to `module.a.aws_s3_bucket.b`, the
/// form `configuration` uses.
fn strip_instance_keys(address: &str) -> String {
    let mut out = String::with_capacity(address.len());
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for c in address.chars() {
        if depth > 0 {
            if in_string {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == '"' {
                    in_string = false;
                }
            } else if c == '"' {
                in_string = true;
            } else if c == ']' {
                depth -= 1;
            } else if c == '[' {
                depth += 1;
            }
            continue;
        }
        if c == '[' {
            depth = 1;
            continue;
        }
        out.push(c);
    }
    out
}

/// Finds the line on which a resource's `"address"` is written, so findings
/// point into the plan file rather than at its first line.
struct LineIndex<'a> {
    content: &'a str,
    line_starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    fn new(content: &'a str) -> Self {
        let line_starts = std::iter::once(0)
            .chain(content.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Self {
            content,
            line_starts,
        }
    }

    fn line_of_address(&self, address: &str) -> u32 {
        let Ok(needle) = serde_json::to_string(address) else {
            return 1;
        };
        let mut from = 0;
        while let Some(pos) = self.content[from..].find(&needle) {
            let at = from + pos;
            // Only a `"address": "<needle>"` occurrence counts.
            let before = self.content[..at].trim_end();
            if before.ends_with(':')
                && before[..before.len() - 1]
                    .trim_end()
                    .ends_with("\"address\"")
            {
                let line = self.line_starts.partition_point(|&s| s <= at);
                return u32::try_from(line.max(1)).unwrap_or(u32::MAX);
            }
            from = at + needle.len();
        }
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_keys_are_stripped() {
        assert_eq!(
            strip_instance_keys(r#"module.a["x]"].aws_s3_bucket.b[0]"#),
            "module.a.aws_s3_bucket.b"
        );
    }

    #[test]
    fn invalid_json_reports_line() {
        let parsed = parse_plan("plan.json", "{\n\"a\": [1,\n}");
        assert_eq!(parsed.errors.len(), 1);
        assert_eq!(parsed.errors[0].line, Some(3));
    }
}
