//! Static evaluation of CloudFormation intrinsic functions.
//!
//! Checks want the value a property will have once deployed. What can be
//! known from the template alone is computed here, assuming parameters keep
//! their defaults (the same assumption Checkov and cfn-lint make). What
//! cannot be known becomes a `"${...}"` placeholder string when it names one
//! thing (a resource, a pseudo parameter, an attribute), so checks can still
//! follow references; anything else stays as the intrinsic object, with its
//! arguments resolved as far as they go.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use super::source::single;

/// Deeper than any real template; stops pathological self-referencing input.
const MAX_DEPTH: usize = 64;

/// What `Ref` of a name gives.
enum RefValue {
    Known(Value),
    /// `AWS::NoValue`: the property is removed.
    NoValue,
    /// Not a parameter, resource or pseudo parameter of this template.
    Unknown,
}

/// A template's named things, borrowed from the parsed template.
pub(crate) struct Resolver<'a> {
    parameters: Option<&'a Map<String, Value>>,
    mappings: Option<&'a Map<String, Value>>,
    conditions: Option<&'a Map<String, Value>>,
    resources: Option<&'a Map<String, Value>>,
    condition_cache: HashMap<String, Option<bool>>,
    evaluating: HashSet<String>,
}

impl<'a> Resolver<'a> {
    pub fn new(template: &'a Map<String, Value>) -> Self {
        let section = |name: &str| template.get(name).and_then(Value::as_object);
        Self {
            parameters: section("Parameters"),
            mappings: section("Mappings"),
            conditions: section("Conditions"),
            resources: section("Resources"),
            condition_cache: HashMap::new(),
            evaluating: HashSet::new(),
        }
    }

    /// The value with intrinsics resolved; `None` when it is (or selects)
    /// `AWS::NoValue`, meaning the enclosing property does not exist.
    pub fn resolve(&mut self, value: &Value) -> Option<Value> {
        self.resolve_at(value, 0)
    }

    fn resolve_at(&mut self, value: &Value, depth: usize) -> Option<Value> {
        if depth > MAX_DEPTH {
            return Some(value.clone());
        }
        match value {
            Value::Object(map) => {
                if let Some((name, arg)) = intrinsic(map) {
                    return self.intrinsic(name, arg, depth + 1);
                }
                let mut out = Map::new();
                for (k, v) in map {
                    if let Some(v) = self.resolve_at(v, depth + 1) {
                        out.insert(k.clone(), v);
                    }
                }
                Some(Value::Object(out))
            }
            Value::Array(items) => Some(Value::Array(
                items
                    .iter()
                    .filter_map(|v| self.resolve_at(v, depth + 1))
                    .collect(),
            )),
            other => Some(other.clone()),
        }
    }

    /// Resolves an argument where `AWS::NoValue` must stay visible as such.
    fn arg(&mut self, value: &Value, depth: usize) -> Value {
        self.resolve_at(value, depth).unwrap_or_else(no_value)
    }

    fn intrinsic(&mut self, name: &str, arg: &Value, depth: usize) -> Option<Value> {
        let keep = |arg: Value| Some(single(name, arg));
        match name {
            "Ref" => {
                let target = self.arg(arg, depth);
                match target.as_str().map(|t| self.reference(t)) {
                    Some(RefValue::Known(v)) => Some(v),
                    Some(RefValue::NoValue) => None,
                    _ => keep(target),
                }
            }
            "Fn::If" => {
                let Some([condition, then, otherwise]) = as_array::<3>(arg) else {
                    return keep(self.arg(arg, depth));
                };
                match condition.as_str().and_then(|c| self.condition(c)) {
                    Some(true) => self.resolve_at(then, depth),
                    Some(false) => self.resolve_at(otherwise, depth),
                    None => keep(Value::Array(vec![
                        condition.clone(),
                        self.arg(then, depth),
                        self.arg(otherwise, depth),
                    ])),
                }
            }
            "Fn::Sub" => {
                let resolved = self.arg(arg, depth);
                let (template, vars) = match &resolved {
                    Value::String(s) => (s.as_str(), None),
                    Value::Array(items) => match items.as_slice() {
                        [Value::String(s)] => (s.as_str(), None),
                        [Value::String(s), Value::Object(vars)] => (s.as_str(), Some(vars)),
                        _ => return keep(resolved),
                    },
                    _ => return keep(resolved),
                };
                Some(Value::String(self.substitute(template, vars)))
            }
            "Fn::GetAtt" => {
                let resolved = self.arg(arg, depth);
                let path = match &resolved {
                    Value::String(s) if s.contains('.') => Some(s.clone()),
                    Value::Array(items) => match items.as_slice() {
                        [Value::String(res), Value::String(attr)] => Some(format!("{res}.{attr}")),
                        _ => None,
                    },
                    _ => None,
                };
                match path {
                    Some(path) => Some(Value::String(format!("${{{path}}}"))),
                    None => keep(resolved),
                }
            }
            "Fn::Join" => {
                let resolved = self.arg(arg, depth);
                if let Some([Value::String(delimiter), Value::Array(items)]) =
                    as_array::<2>(&resolved)
                {
                    let parts: Option<Vec<String>> = items.iter().map(scalar_text).collect();
                    if let Some(parts) = parts {
                        return Some(Value::String(parts.join(delimiter)));
                    }
                }
                keep(resolved)
            }
            "Fn::Select" => {
                let resolved = self.arg(arg, depth);
                if let Some([index, Value::Array(items)]) = as_array::<2>(&resolved) {
                    let index = match index {
                        Value::Number(n) => n.as_u64(),
                        Value::String(s) => s.trim().parse().ok(),
                        _ => None,
                    };
                    if let Some(item) = index
                        .and_then(|i| usize::try_from(i).ok())
                        .and_then(|i| items.get(i))
                    {
                        return Some(item.clone());
                    }
                }
                keep(resolved)
            }
            "Fn::Split" => {
                let resolved = self.arg(arg, depth);
                if let Some([Value::String(delimiter), Value::String(text)]) =
                    as_array::<2>(&resolved)
                {
                    // Splitting a string with placeholders would cut them apart.
                    if !delimiter.is_empty() && !text.contains("${") {
                        return Some(Value::Array(
                            text.split(delimiter.as_str())
                                .map(|s| Value::String(s.into()))
                                .collect(),
                        ));
                    }
                }
                keep(resolved)
            }
            "Fn::FindInMap" => {
                let resolved = self.arg(arg, depth);
                match self.find_in_map(&resolved) {
                    Some(found) => self.resolve_at(&found, depth),
                    None => keep(resolved),
                }
            }
            "Fn::Length" => {
                let resolved = self.arg(arg, depth);
                match &resolved {
                    Value::Array(items) if items.iter().all(is_known) => {
                        Some(Value::from(items.len()))
                    }
                    _ => keep(resolved),
                }
            }
            "Fn::ToJsonString" => {
                let resolved = self.arg(arg, depth);
                if is_known(&resolved) {
                    if let Ok(text) = serde_json::to_string(&resolved) {
                        return Some(Value::String(text));
                    }
                }
                keep(resolved)
            }
            // Base64, ImportValue, GetAZs, Cidr, Transform, condition
            // functions: their results are not knowable (or not useful to
            // compute), but their arguments may hold references checks follow.
            _ => {
                let resolved = self.arg(arg, depth);
                keep(resolved)
            }
        }
    }

    fn reference(&self, name: &str) -> RefValue {
        if name == "AWS::NoValue" {
            return RefValue::NoValue;
        }
        if name.starts_with("AWS::") {
            return RefValue::Known(placeholder(name));
        }
        if let Some(parameter) = self.parameters.and_then(|p| p.get(name)) {
            return RefValue::Known(parameter_value(name, parameter));
        }
        if self.resources.is_some_and(|r| r.contains_key(name)) {
            return RefValue::Known(placeholder(name));
        }
        RefValue::Unknown
    }

    /// `Fn::Sub` text with every variable that has a known scalar value
    /// substituted; the rest keep their `${...}` form.
    fn substitute(&mut self, template: &str, vars: Option<&Map<String, Value>>) -> String {
        let mut out = String::with_capacity(template.len());
        let mut rest = template;
        while let Some(i) = rest.find("${") {
            out.push_str(&rest[..i]);
            let after = &rest[i + 2..];
            if let Some(literal) = after.strip_prefix('!') {
                // `${!Literal}` is CloudFormation's escape for a literal `${Literal}`.
                out.push_str("${");
                rest = literal;
                continue;
            }
            let Some(close) = after.find('}') else {
                out.push_str(&rest[i..]);
                return out;
            };
            let name = after[..close].trim();
            let value = match vars.and_then(|v| v.get(name)) {
                Some(value) => scalar_text(value),
                None if name.contains('.') => None,
                None => match self.reference(name) {
                    RefValue::Known(value) => scalar_text(&value),
                    _ => None,
                },
            };
            match value {
                Some(text) => out.push_str(&text),
                None => {
                    out.push_str("${");
                    out.push_str(name);
                    out.push('}');
                }
            }
            rest = &after[close + 1..];
        }
        out.push_str(rest);
        out
    }

    fn find_in_map(&self, args: &Value) -> Option<Value> {
        let items = args.as_array()?;
        let key = |i: usize| {
            items
                .get(i)
                .and_then(scalar_text)
                .filter(|k| !k.contains("${"))
        };
        let default = items.get(3).and_then(|d| d.get("DefaultValue")).cloned();
        let found = (|| {
            let (map, top, second) = (key(0)?, key(1)?, key(2)?);
            self.mappings?.get(&map)?.get(&top)?.get(&second).cloned()
        })();
        found.or(default)
    }

    /// A named condition's value under parameter defaults; `None` when it
    /// depends on something unknown (or on itself).
    fn condition(&mut self, name: &str) -> Option<bool> {
        if let Some(cached) = self.condition_cache.get(name) {
            return *cached;
        }
        if !self.evaluating.insert(name.to_string()) {
            return None;
        }
        let definition = self.conditions.and_then(|c| c.get(name));
        let result = definition.and_then(|d| self.evaluate(d, 0));
        self.evaluating.remove(name);
        self.condition_cache.insert(name.to_string(), result);
        result
    }

    fn evaluate(&mut self, value: &Value, depth: usize) -> Option<bool> {
        if depth > MAX_DEPTH {
            return None;
        }
        let map = match value {
            Value::Bool(b) => return Some(*b),
            Value::Object(map) if map.len() == 1 => map,
            _ => return None,
        };
        let (name, arg) = map.iter().next()?;
        let operands = |arg: &Value| match arg {
            Value::Array(items) => items.clone(),
            other => vec![other.clone()],
        };
        match name.as_str() {
            "Condition" => {
                let name = arg.as_str()?.to_string();
                self.condition(&name)
            }
            "Fn::Equals" => {
                let [a, b] = as_array::<2>(arg)?;
                let a = self.arg(a, depth + 1);
                let b = self.arg(b, depth + 1);
                (is_known(&a) && is_known(&b)).then(|| loose_eq(&a, &b))
            }
            "Fn::Not" => {
                let operands = operands(arg);
                let [operand] = operands.as_slice() else {
                    return None;
                };
                self.evaluate(operand, depth + 1).map(|b| !b)
            }
            "Fn::And" | "Fn::Or" => {
                let is_and = name == "Fn::And";
                let mut undecided = false;
                for operand in operands(arg) {
                    match self.evaluate(&operand, depth + 1) {
                        // false decides an And, true decides an Or.
                        Some(b) if b != is_and => return Some(b),
                        Some(_) => {}
                        None => undecided = true,
                    }
                }
                (!undecided).then_some(is_and)
            }
            _ => None,
        }
    }
}

/// The single intrinsic function of an object, if it is one. `Condition`
/// is left out: outside `Conditions` it is far more often an ordinary
/// property (IAM policy statements) than an intrinsic.
fn intrinsic(map: &Map<String, Value>) -> Option<(&str, &Value)> {
    if map.len() != 1 {
        return None;
    }
    let (name, arg) = map.iter().next()?;
    (name == "Ref" || name.starts_with("Fn::")).then_some((name.as_str(), arg))
}

/// `Ref` of a parameter: its default, as the deployed value most likely is.
fn parameter_value(name: &str, parameter: &Value) -> Value {
    let kind = parameter
        .get("Type")
        .and_then(Value::as_str)
        .unwrap_or("String");
    // The default of an SSM-typed parameter is the SSM key, not the value.
    if kind.starts_with("AWS::SSM::Parameter::Value") {
        return placeholder(name);
    }
    match parameter.get("Default") {
        None | Some(Value::Null) => placeholder(name),
        Some(Value::String(s)) if kind == "CommaDelimitedList" || kind.starts_with("List<") => {
            Value::Array(
                s.split(',')
                    .map(|part| Value::String(part.trim().to_string()))
                    .collect(),
            )
        }
        // Number parameters arrive as text; checks compare numbers.
        Some(Value::String(s)) if kind == "Number" => s
            .trim()
            .parse::<i64>()
            .map(Value::from)
            .ok()
            .or_else(|| {
                s.trim()
                    .parse::<f64>()
                    .ok()
                    .and_then(serde_json::Number::from_f64)
                    .map(Value::Number)
            })
            .unwrap_or_else(|| Value::String(s.clone())),
        Some(default) => default.clone(),
    }
}

fn placeholder(name: &str) -> Value {
    Value::String(format!("${{{name}}}"))
}

fn no_value() -> Value {
    single("Ref", Value::String("AWS::NoValue".into()))
}

fn as_array<const N: usize>(value: &Value) -> Option<&[Value; N]> {
    value.as_array()?.as_slice().try_into().ok()
}

/// A scalar as the text CloudFormation would splice into a string.
fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Free of placeholders and unresolved intrinsics.
fn is_known(value: &Value) -> bool {
    match value {
        Value::String(s) => !s.contains("${"),
        Value::Array(items) => items.iter().all(is_known),
        Value::Object(map) => intrinsic(map).is_none() && map.values().all(is_known),
        _ => true,
    }
}

/// Equality as `Fn::Equals` sees it: every parameter is text, so `1` equals `"1"`.
fn loose_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| loose_eq(a, b))
        }
        _ => match (scalar_text(a), scalar_text(b)) {
            (Some(x), Some(y)) => x == y,
            _ => a == b,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn resolve(template: Value, value: Value) -> Option<Value> {
        let template = template.as_object().cloned().unwrap_or_default();
        Resolver::new(&template).resolve(&value)
    }

    #[test]
    fn sub_keeps_unknowns_and_escapes() {
        let t = json!({"Parameters": {"Env": {"Type": "String", "Default": "prod"}},
                       "Resources": {"B": {"Type": "AWS::S3::Bucket"}}});
        let v = json!({"Fn::Sub": "${Env}-${B}-${AWS::Region}-${B.Arn}-${!Lit}-${X}"});
        assert_eq!(
            resolve(t, v),
            Some(json!("prod-${B}-${AWS::Region}-${B.Arn}-${Lit}-${X}"))
        );
    }

    #[test]
    fn novalue_removes_property() {
        let t = json!({"Conditions": {"No": {"Fn::Equals": ["a", "b"]}}});
        let v = json!({"A": {"Fn::If": ["No", 1, {"Ref": "AWS::NoValue"}]}, "B": 2});
        assert_eq!(resolve(t, v), Some(json!({"B": 2})));
    }

    #[test]
    fn self_referencing_condition_is_undecided() {
        let t = json!({"Conditions": {"C": {"Fn::Not": [{"Condition": "C"}]}}});
        let v = json!({"Fn::If": ["C", 1, 2]});
        assert_eq!(resolve(t, v), Some(json!({"Fn::If": ["C", 1, 2]})));
    }
}
