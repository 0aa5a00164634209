//! Terraform's built-in functions, the ones configurations use to build the
//! values checks look at (policies, names, tags, lists of rules).
//!
//! Functions whose result cannot matter to a check or cannot be computed
//! offline (`timestamp`, hashes, `cidrsubnet`) return an unknown rather than
//! an error, so the attribute is still present.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value as Json;

use super::eval::{Env, EvalResult, MAX_COLLECTION};
use super::value::{format_number, placeholder, Val};

/// Functions that look inside their arguments' unknowns themselves; every
/// other function returns the first unknown argument unchanged.
const UNKNOWN_AWARE: &[&str] = &[
    "jsonencode",
    "yamlencode",
    "format",
    "formatlist",
    "join",
    "coalesce",
    "concat",
    "length",
    "tolist",
    "toset",
    "distinct",
    "compact",
    "flatten",
    "merge",
    "lookup",
    "element",
    "contains",
    "keys",
    "values",
    "one",
    "tomap",
    "coalescelist",
    "slice",
    "reverse",
    "replace",
];

pub(crate) fn call(name: &str, args: Vec<Val>, env: &dyn Env) -> EvalResult {
    if !UNKNOWN_AWARE.contains(&name) {
        if let Some(u) = args.iter().find(|a| a.is_unknown()) {
            return Ok(u.clone());
        }
    }
    match name {
        "jsonencode" => {
            let v = one_arg(&args)?;
            Ok(Val::Str(json_encode(v)))
        }
        "jsondecode" => {
            let s = str_arg(&args, 0)?;
            let json: Json = serde_json::from_str(&s).map_err(|e| format!("jsondecode: {e}"))?;
            Ok(Val::from_json(&json))
        }
        "yamlencode" => {
            let v = one_arg(&args)?;
            serde_norway::to_string(&inline_unknowns(v))
                .map(Val::Str)
                .map_err(|e| e.to_string())
        }
        "yamldecode" => {
            let s = str_arg(&args, 0)?;
            let json: Json = serde_norway::from_str(&s).map_err(|e| format!("yamldecode: {e}"))?;
            Ok(Val::from_json(&json))
        }
        "merge" => {
            let mut out = BTreeMap::new();
            for a in args {
                match a {
                    Val::Map(m) => out.extend(m),
                    Val::Null => {}
                    u @ Val::Unknown(_) => return Ok(u),
                    other => return Err(format!("merge: argument is a {}", other.type_name())),
                }
            }
            Ok(Val::Map(out))
        }
        "concat" => {
            let mut out = Vec::new();
            for a in args {
                match a {
                    Val::List(items) => out.extend(items),
                    u @ Val::Unknown(_) => return Ok(u),
                    other => return Err(format!("concat: argument is a {}", other.type_name())),
                }
            }
            Ok(Val::List(out))
        }
        "lookup" => {
            let key = args.get(1).ok_or("lookup needs a key")?;
            match (args.first(), key) {
                (Some(u @ Val::Unknown(_)), _) | (_, u @ Val::Unknown(_)) => Ok(u.clone()),
                (Some(Val::Map(m)), k) => {
                    let k = k.as_string().ok_or("lookup key must be a string")?;
                    match m.get(&k) {
                        Some(v) => Ok(v.clone()),
                        None => args
                            .get(2)
                            .cloned()
                            .ok_or_else(|| format!("lookup: no key {k:?}")),
                    }
                }
                _ => Err("lookup needs a map".into()),
            }
        }
        "element" => match (args.first(), args.get(1)) {
            (Some(u @ Val::Unknown(_)), _) | (_, Some(u @ Val::Unknown(_))) => Ok(u.clone()),
            (Some(Val::List(items)), Some(i)) => {
                let i = i.as_number().ok_or("element index must be a number")?;
                if items.is_empty() || i < 0.0 {
                    return Err("element: empty list or negative index".into());
                }
                Ok(items[(i as usize) % items.len()].clone())
            }
            _ => Err("element needs a list and an index".into()),
        },
        "length" => match one_arg(&args)? {
            Val::List(items) => Ok(Val::Num(items.len() as f64)),
            Val::Map(m) => Ok(Val::Num(m.len() as f64)),
            Val::Str(s) => Ok(Val::Num(s.chars().count() as f64)),
            u @ Val::Unknown(_) => Ok(u.clone()),
            other => Err(format!("length of a {}", other.type_name())),
        },
        "format" => {
            let fmt = match args.first() {
                Some(u @ Val::Unknown(_)) => return Ok(u.clone()),
                Some(v) => v.as_string().ok_or("format string must be a string")?,
                None => return Err("format needs a format string".into()),
            };
            format(&fmt, &args[1..]).map(Val::Str)
        }
        "formatlist" => {
            let fmt = str_arg(&args, 0)?;
            let rest = &args[1..];
            let len = rest
                .iter()
                .filter_map(|a| match a {
                    Val::List(items) => Some(items.len()),
                    _ => None,
                })
                .max();
            let Some(len) = len else {
                return format(&fmt, rest).map(|s| Val::List(vec![Val::Str(s)]));
            };
            let mut out = Vec::new();
            for i in 0..len {
                let row: Vec<Val> = rest
                    .iter()
                    .map(|a| match a {
                        Val::List(items) => items.get(i).cloned().unwrap_or(Val::Null),
                        other => other.clone(),
                    })
                    .collect();
                out.push(Val::Str(format(&fmt, &row)?));
            }
            Ok(Val::List(out))
        }
        "join" => {
            let sep = str_arg(&args, 0)?;
            let mut parts = Vec::new();
            for list in &args[1..] {
                match list {
                    Val::List(items) => {
                        for item in items {
                            parts.push(match item {
                                Val::Unknown(t) => placeholder(t),
                                other => {
                                    other.as_string().ok_or("join: element is not a string")?
                                }
                            });
                        }
                    }
                    u @ Val::Unknown(_) => return Ok(u.clone()),
                    _ => return Err("join needs lists".into()),
                }
            }
            Ok(Val::Str(parts.join(&sep)))
        }
        "split" => {
            let sep = str_arg(&args, 0)?;
            let s = str_arg(&args, 1)?;
            if sep.is_empty() {
                return Ok(Val::List(
                    s.chars().map(|c| Val::Str(c.to_string())).collect(),
                ));
            }
            Ok(Val::List(
                s.split(sep.as_str())
                    .map(|p| Val::Str(p.to_string()))
                    .collect(),
            ))
        }
        "lower" => Ok(Val::Str(str_arg(&args, 0)?.to_lowercase())),
        "upper" => Ok(Val::Str(str_arg(&args, 0)?.to_uppercase())),
        "title" => Ok(Val::Str(title(&str_arg(&args, 0)?))),
        "replace" => {
            // A known document with an unknown substitute (a bucket ARN put
            // into a policy template) stays a document with a placeholder.
            if let Some(u) = args.iter().take(2).find(|a| a.is_unknown()) {
                return Ok(u.clone());
            }
            let s = str_arg(&args, 0)?;
            let from = str_arg(&args, 1)?;
            let to = match args.get(2) {
                Some(Val::Unknown(t)) => placeholder(t),
                _ => str_arg(&args, 2)?,
            };
            if from.len() > 2 && from.starts_with('/') && from.ends_with('/') {
                let re = regex::Regex::new(&from[1..from.len() - 1]).map_err(|e| e.to_string())?;
                // Terraform uses `$1`; the regex crate understands the same syntax.
                return Ok(Val::Str(re.replace_all(&s, to.as_str()).into_owned()));
            }
            if from.is_empty() {
                return Ok(Val::Str(s));
            }
            Ok(Val::Str(s.replace(&from, &to)))
        }
        "tostring" => match one_arg(&args)? {
            Val::Null => Ok(Val::Null),
            v => v
                .as_string()
                .map(Val::Str)
                .ok_or_else(|| "tostring: not a primitive".into()),
        },
        "tonumber" => match one_arg(&args)? {
            Val::Null => Ok(Val::Null),
            v => v
                .as_number()
                .map(Val::Num)
                .ok_or_else(|| "tonumber: not a number".into()),
        },
        "tobool" => match one_arg(&args)? {
            Val::Null => Ok(Val::Null),
            v => v
                .as_bool()
                .map(Val::Bool)
                .ok_or_else(|| "tobool: not a bool".into()),
        },
        "toset" => match one_arg(&args)? {
            Val::List(items) => Ok(Val::List(to_set(items.clone()))),
            Val::Null => Ok(Val::Null),
            u @ Val::Unknown(_) => Ok(u.clone()),
            _ => Err("toset needs a list".into()),
        },
        "tolist" => match one_arg(&args)? {
            v @ (Val::List(_) | Val::Null | Val::Unknown(_)) => Ok(v.clone()),
            _ => Err("tolist needs a list".into()),
        },
        "tomap" => match one_arg(&args)? {
            v @ (Val::Map(_) | Val::Null | Val::Unknown(_)) => Ok(v.clone()),
            _ => Err("tomap needs a map".into()),
        },
        "coalesce" => {
            for a in args {
                match a {
                    Val::Null => continue,
                    Val::Str(ref s) if s.is_empty() => continue,
                    other => return Ok(other),
                }
            }
            Err("coalesce: no non-null argument".into())
        }
        "coalescelist" => {
            for a in args {
                match a {
                    Val::List(ref items) if items.is_empty() => continue,
                    Val::Null => continue,
                    other => return Ok(other),
                }
            }
            Err("coalescelist: no non-empty list".into())
        }
        "contains" => match (args.first(), args.get(1)) {
            (Some(Val::List(items)), Some(v)) if !v.is_unknown() => {
                Ok(Val::Bool(items.contains(v)))
            }
            (Some(u @ Val::Unknown(_)), _) | (_, Some(u @ Val::Unknown(_))) => Ok(u.clone()),
            _ => Err("contains needs a list and a value".into()),
        },
        "keys" => match one_arg(&args)? {
            Val::Map(m) => Ok(Val::List(m.keys().map(|k| Val::Str(k.clone())).collect())),
            u @ Val::Unknown(_) => Ok(u.clone()),
            _ => Err("keys needs a map".into()),
        },
        "values" => match one_arg(&args)? {
            Val::Map(m) => Ok(Val::List(m.values().cloned().collect())),
            u @ Val::Unknown(_) => Ok(u.clone()),
            _ => Err("values needs a map".into()),
        },
        "flatten" => {
            fn flat(v: Val, out: &mut Vec<Val>) {
                match v {
                    Val::List(items) => items.into_iter().for_each(|i| flat(i, out)),
                    other => out.push(other),
                }
            }
            match one_arg(&args)? {
                Val::List(items) => {
                    let mut out = Vec::new();
                    items.iter().cloned().for_each(|i| flat(i, &mut out));
                    Ok(Val::List(out))
                }
                u @ Val::Unknown(_) => Ok(u.clone()),
                _ => Err("flatten needs a list".into()),
            }
        }
        "distinct" => match one_arg(&args)? {
            Val::List(items) => {
                let mut out: Vec<Val> = Vec::new();
                for i in items {
                    if !out.contains(i) {
                        out.push(i.clone());
                    }
                }
                Ok(Val::List(out))
            }
            u @ Val::Unknown(_) => Ok(u.clone()),
            _ => Err("distinct needs a list".into()),
        },
        "compact" => match one_arg(&args)? {
            Val::List(items) => Ok(Val::List(
                items
                    .iter()
                    .filter(|v| {
                        !matches!(v, Val::Null) && !matches!(v, Val::Str(s) if s.is_empty())
                    })
                    .cloned()
                    .collect(),
            )),
            u @ Val::Unknown(_) => Ok(u.clone()),
            _ => Err("compact needs a list".into()),
        },
        "min" | "max" => {
            let nums = numbers(&args)?;
            let r = if name == "min" {
                nums.iter().cloned().fold(f64::INFINITY, f64::min)
            } else {
                nums.iter().cloned().fold(f64::NEG_INFINITY, f64::max)
            };
            if nums.is_empty() {
                return Err(format!("{name} needs arguments"));
            }
            Ok(Val::Num(r))
        }
        "sum" => match one_arg(&args)? {
            Val::List(items) => Ok(Val::Num(numbers(items)?.iter().sum())),
            _ => Err("sum needs a list".into()),
        },
        "abs" => Ok(Val::Num(num_arg(&args, 0)?.abs())),
        "ceil" => Ok(Val::Num(num_arg(&args, 0)?.ceil())),
        "floor" => Ok(Val::Num(num_arg(&args, 0)?.floor())),
        "signum" => Ok(Val::Num(num_arg(&args, 0)?.signum())),
        "pow" => Ok(Val::Num(num_arg(&args, 0)?.powf(num_arg(&args, 1)?))),
        "parseint" => {
            let s = str_arg(&args, 0)?;
            let base = num_arg(&args, 1)? as u32;
            if !(2..=62).contains(&base) {
                return Err("parseint: bad base".into());
            }
            i64::from_str_radix(&s, base.min(36))
                .map(|n| Val::Num(n as f64))
                .map_err(|e| e.to_string())
        }
        "trimspace" => Ok(Val::Str(str_arg(&args, 0)?.trim().to_string())),
        "chomp" => Ok(Val::Str(
            str_arg(&args, 0)?
                .trim_end_matches(['\n', '\r'])
                .to_string(),
        )),
        "trim" => {
            let s = str_arg(&args, 0)?;
            let cut = str_arg(&args, 1)?;
            Ok(Val::Str(s.trim_matches(|c| cut.contains(c)).to_string()))
        }
        "trimprefix" => {
            let s = str_arg(&args, 0)?;
            let p = str_arg(&args, 1)?;
            Ok(Val::Str(
                s.strip_prefix(p.as_str()).unwrap_or(&s).to_string(),
            ))
        }
        "trimsuffix" => {
            let s = str_arg(&args, 0)?;
            let p = str_arg(&args, 1)?;
            Ok(Val::Str(
                s.strip_suffix(p.as_str()).unwrap_or(&s).to_string(),
            ))
        }
        "startswith" => Ok(Val::Bool(
            str_arg(&args, 0)?.starts_with(&str_arg(&args, 1)?),
        )),
        "endswith" => Ok(Val::Bool(str_arg(&args, 0)?.ends_with(&str_arg(&args, 1)?))),
        "strcontains" => Ok(Val::Bool(str_arg(&args, 0)?.contains(&str_arg(&args, 1)?))),
        "strrev" => Ok(Val::Str(str_arg(&args, 0)?.chars().rev().collect())),
        "substr" => {
            let s: Vec<char> = str_arg(&args, 0)?.chars().collect();
            let offset = num_arg(&args, 1)? as i64;
            let length = num_arg(&args, 2)? as i64;
            let len = s.len() as i64;
            let start = if offset < 0 {
                (len + offset).max(0)
            } else {
                offset.min(len)
            };
            let end = if length < 0 {
                len
            } else {
                (start + length).min(len)
            };
            Ok(Val::Str(
                s[start as usize..end.max(start) as usize].iter().collect(),
            ))
        }
        "regex" | "regexall" => {
            let pattern = str_arg(&args, 0)?;
            let s = str_arg(&args, 1)?;
            let re = regex::Regex::new(&pattern).map_err(|e| e.to_string())?;
            let capture = |caps: regex::Captures| -> Val {
                if re.captures_len() == 1 {
                    return Val::Str(caps.get(0).map_or("", |m| m.as_str()).to_string());
                }
                let named: Vec<_> = re.capture_names().flatten().collect();
                if !named.is_empty() {
                    Val::Map(
                        named
                            .iter()
                            .map(|n| {
                                (
                                    n.to_string(),
                                    caps.name(n)
                                        .map_or(Val::Null, |m| Val::Str(m.as_str().into())),
                                )
                            })
                            .collect(),
                    )
                } else {
                    Val::List(
                        (1..caps.len())
                            .map(|i| {
                                caps.get(i)
                                    .map_or(Val::Null, |m| Val::Str(m.as_str().into()))
                            })
                            .collect(),
                    )
                }
            };
            if name == "regex" {
                re.captures(&s)
                    .map(capture)
                    .ok_or_else(|| "regex: no match".into())
            } else {
                Ok(Val::List(
                    re.captures_iter(&s)
                        .take(MAX_COLLECTION)
                        .map(capture)
                        .collect(),
                ))
            }
        }
        "range" => {
            let nums = numbers(&args)?;
            let (start, limit, step) = match nums.as_slice() {
                [l] => (0.0, *l, 1.0),
                [s, l] => (*s, *l, if s <= l { 1.0 } else { -1.0 }),
                [s, l, st] => (*s, *l, *st),
                _ => return Err("range needs 1 to 3 numbers".into()),
            };
            if step == 0.0 {
                return Err("range: step is zero".into());
            }
            let mut out = Vec::new();
            let mut x = start;
            while (step > 0.0 && x < limit) || (step < 0.0 && x > limit) {
                out.push(Val::Num(x));
                if out.len() >= MAX_COLLECTION {
                    return Err("range too large".into());
                }
                x += step;
            }
            Ok(Val::List(out))
        }
        "zipmap" => match (args.first(), args.get(1)) {
            (Some(Val::List(k)), Some(Val::List(v))) => Ok(Val::Map(
                k.iter()
                    .zip(v.iter())
                    .filter_map(|(k, v)| Some((k.as_string()?, v.clone())))
                    .collect(),
            )),
            _ => Err("zipmap needs two lists".into()),
        },
        "slice" => match args.first() {
            Some(Val::List(items)) => {
                let start = num_arg(&args, 1)? as usize;
                let end = num_arg(&args, 2)? as usize;
                if start > end || end > items.len() {
                    return Err("slice out of range".into());
                }
                Ok(Val::List(items[start..end].to_vec()))
            }
            Some(u @ Val::Unknown(_)) => Ok(u.clone()),
            _ => Err("slice needs a list".into()),
        },
        "reverse" => match one_arg(&args)? {
            Val::List(items) => Ok(Val::List(items.iter().rev().cloned().collect())),
            u @ Val::Unknown(_) => Ok(u.clone()),
            _ => Err("reverse needs a list".into()),
        },
        "sort" => match one_arg(&args)? {
            Val::List(items) => {
                let mut strs = items
                    .iter()
                    .map(|v| v.as_string().ok_or("sort needs strings"))
                    .collect::<Result<Vec<_>, _>>()?;
                strs.sort();
                Ok(Val::List(strs.into_iter().map(Val::Str).collect()))
            }
            _ => Err("sort needs a list".into()),
        },
        "index" => match (args.first(), args.get(1)) {
            (Some(Val::List(items)), Some(v)) => items
                .iter()
                .position(|i| i == v)
                .map(|p| Val::Num(p as f64))
                .ok_or_else(|| "index: not found".into()),
            _ => Err("index needs a list".into()),
        },
        "one" => match one_arg(&args)? {
            Val::List(items) if items.is_empty() => Ok(Val::Null),
            Val::List(items) if items.len() == 1 => Ok(items[0].clone()),
            Val::Null => Ok(Val::Null),
            u @ Val::Unknown(_) => Ok(u.clone()),
            _ => Err("one: more than one element".into()),
        },
        "alltrue" | "anytrue" => match one_arg(&args)? {
            Val::List(items) => {
                if let Some(u) = items.iter().find(|v| v.is_unknown()) {
                    return Ok(u.clone());
                }
                let bools = items.iter().map(|v| v.as_bool().unwrap_or(false));
                Ok(Val::Bool(if name == "alltrue" {
                    bools.clone().all(|b| b)
                } else {
                    bools.clone().any(|b| b)
                }))
            }
            _ => Err(format!("{name} needs a list")),
        },
        "setunion" | "setintersection" | "setsubtract" => {
            let sets = args
                .iter()
                .map(|a| match a {
                    Val::List(items) => Ok(items.clone()),
                    _ => Err(format!("{name} needs lists")),
                })
                .collect::<Result<Vec<_>, _>>()?;
            let mut iter = sets.into_iter();
            let mut acc = iter.next().unwrap_or_default();
            for s in iter {
                acc = match name {
                    "setunion" => acc.into_iter().chain(s).collect(),
                    "setintersection" => acc.into_iter().filter(|v| s.contains(v)).collect(),
                    _ => acc.into_iter().filter(|v| !s.contains(v)).collect(),
                };
            }
            Ok(Val::List(to_set(acc)))
        }
        "setproduct" => Ok(Val::Unknown("setproduct(...)".into())),
        "base64encode" => Ok(Val::Str(base64_encode(str_arg(&args, 0)?.as_bytes()))),
        "base64decode" => {
            let bytes = base64_decode(&str_arg(&args, 0)?).ok_or("base64decode: invalid input")?;
            String::from_utf8(bytes)
                .map(Val::Str)
                .map_err(|_| "base64decode: not UTF-8".into())
        }
        "file" => env.read_file(&str_arg(&args, 0)?).map(Val::Str),
        "fileexists" => Ok(Val::Bool(env.read_file(&str_arg(&args, 0)?).is_ok())),
        "basename" => {
            let s = str_arg(&args, 0)?;
            Ok(Val::Str(s.rsplit('/').next().unwrap_or("").to_string()))
        }
        "dirname" => {
            let s = str_arg(&args, 0)?;
            Ok(Val::Str(match s.rfind('/') {
                Some(0) => "/".into(),
                Some(i) => s[..i].to_string(),
                None => ".".into(),
            }))
        }
        "abspath" | "pathexpand" => Ok(Val::Str(str_arg(&args, 0)?)),
        "urlencode" => Ok(Val::Str(
            str_arg(&args, 0)?
                .bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect(),
        )),
        "sensitive" | "nonsensitive" | "type" => one_arg(&args).cloned(),
        _ => Ok(Val::Unknown(format!("{name}(...)"))),
    }
}

fn one_arg(args: &[Val]) -> Result<&Val, String> {
    args.first().ok_or_else(|| "missing argument".to_string())
}

fn str_arg(args: &[Val], i: usize) -> Result<String, String> {
    args.get(i)
        .and_then(Val::as_string)
        .ok_or_else(|| format!("argument {} must be a string", i + 1))
}

fn num_arg(args: &[Val], i: usize) -> Result<f64, String> {
    args.get(i)
        .and_then(Val::as_number)
        .ok_or_else(|| format!("argument {} must be a number", i + 1))
}

fn numbers(args: &[Val]) -> Result<Vec<f64>, String> {
    args.iter()
        .map(|a| a.as_number().ok_or_else(|| "expected numbers".to_string()))
        .collect()
}

/// Sets of strings are ordered lexically in Terraform; other sets keep
/// first-seen order here (their order is unspecified anyway).
fn to_set(items: Vec<Val>) -> Vec<Val> {
    if items.iter().all(|v| matches!(v, Val::Str(_))) {
        let set: BTreeSet<String> = items
            .into_iter()
            .filter_map(|v| match v {
                Val::Str(s) => Some(s),
                _ => None,
            })
            .collect();
        return set.into_iter().map(Val::Str).collect();
    }
    let mut out: Vec<Val> = Vec::new();
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

fn title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut start = true;
    for c in s.chars() {
        if start && c.is_alphabetic() {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        start = !c.is_alphanumeric();
    }
    out
}

/// JSON with lexically sorted keys, as Terraform's `jsonencode` writes it.
/// Unknowns are written as placeholder strings: a policy document that
/// names a computed ARN is still a policy document a check can read.
pub(crate) fn json_encode(v: &Val) -> String {
    inline_unknowns(v).to_string()
}

fn inline_unknowns(v: &Val) -> Json {
    v.to_json()
}

/// Go-style `format` verbs as Terraform supports them.
fn format(fmt: &str, args: &[Val]) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = fmt.chars().peekable();
    let mut next_arg = 0usize;
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = String::new();
        let verb = loop {
            match chars.next() {
                Some(ch) if "+-# 0123456789.[]".contains(ch) => spec.push(ch),
                Some(ch) => break ch,
                None => return Err("format: incomplete verb".into()),
            }
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let arg = args.get(next_arg).ok_or("format: not enough arguments")?;
        next_arg += 1;
        let precision = spec.split_once('.').and_then(|(_, p)| {
            p.trim_end_matches(|c: char| !c.is_ascii_digit())
                .parse::<usize>()
                .ok()
        });
        let width: usize = spec
            .split('.')
            .next()
            .unwrap_or("")
            .trim_start_matches(['-', '+', '#', ' ', '0'])
            .parse()
            .unwrap_or(0);
        let text = match (verb, arg) {
            (_, Val::Unknown(t)) => placeholder(t),
            ('s', v) | ('v', v) => match v {
                Val::List(_) | Val::Map(_) => json_encode(v),
                Val::Null if verb == 'v' => "null".into(),
                v => v.as_string().ok_or("format: %s needs a string")?,
            },
            ('q', v) => serde_json::to_string(&v.as_string().ok_or("format: %q needs a string")?)
                .map_err(|e| e.to_string())?,
            ('d', v) => {
                let n = v.as_number().ok_or("format: %d needs a number")?;
                format!("{}", n.trunc() as i64)
            }
            ('f' | 'g' | 'e', v) => {
                let n = v.as_number().ok_or("format: %f needs a number")?;
                match precision {
                    Some(p) => format!("{n:.p$}"),
                    None if verb == 'f' => format!("{n:.6}"),
                    None => format_number(n),
                }
            }
            ('t', v) => v.as_bool().ok_or("format: %t needs a bool")?.to_string(),
            ('x' | 'X' | 'o' | 'b', v) => {
                let n = v.as_number().ok_or("format: needs a number")? as i64;
                match verb {
                    'x' => format!("{n:x}"),
                    'X' => format!("{n:X}"),
                    'o' => format!("{n:o}"),
                    _ => format!("{n:b}"),
                }
            }
            _ => return Err(format!("format: unsupported verb %{verb}")),
        };
        let pad = width.saturating_sub(text.chars().count()).min(1000);
        if spec.starts_with('-') {
            out.push_str(&text);
            out.push_str(&" ".repeat(pad));
        } else if spec.starts_with('0') && matches!(verb, 'd' | 'f') {
            out.push_str(&"0".repeat(pad));
            out.push_str(&text);
        } else {
            out.push_str(&" ".repeat(pad));
            out.push_str(&text);
        }
    }
    Ok(out)
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = 0u32;
    let mut bits = 0;
    for c in s.bytes().filter(|c| !c.is_ascii_whitespace()) {
        if c == b'=' {
            break;
        }
        let v = B64.iter().position(|&b| b == c)? as u32;
        buf = (buf << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
            buf &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::terraform::eval::EmptyEnv;

    fn s(v: &str) -> Val {
        Val::Str(v.into())
    }

    #[test]
    fn format_verbs() {
        assert_eq!(
            format(
                "%s-%d-%03d-%.2f%%",
                &[s("a"), Val::Num(5.0), Val::Num(7.0), Val::Num(1.5)]
            )
            .unwrap(),
            "a-5-007-1.50%"
        );
        assert_eq!(format("%q", &[s("x")]).unwrap(), "\"x\"");
    }

    #[test]
    fn base64_roundtrip() {
        for input in ["", "a", "ab", "abc", "hello world"] {
            let enc = base64_encode(input.as_bytes());
            assert_eq!(base64_decode(&enc).unwrap(), input.as_bytes());
        }
        assert_eq!(base64_encode(b"hello"), "aGVsbG8=");
    }

    #[test]
    fn unknown_arguments_propagate() {
        let u = Val::Unknown("aws_kms_key.k.arn".into());
        assert_eq!(call("lower", vec![u.clone()], &EmptyEnv).unwrap(), u);
        assert_eq!(
            call("coalesce", vec![Val::Null, u.clone()], &EmptyEnv).unwrap(),
            u
        );
        assert_eq!(
            call(
                "jsonencode",
                vec![Val::Map([("a".to_string(), u)].into())],
                &EmptyEnv
            )
            .unwrap(),
            s(r#"{"a":"${aws_kms_key.k.arn}"}"#)
        );
    }
}
