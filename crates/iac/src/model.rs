//! The normalised resource every parser produces and every check reads.

use serde::Serialize;
use serde_json::Value;

/// The language a resource was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Framework {
    /// Terraform HCL, evaluated (variables, locals, count/for_each, modules).
    Terraform,
    /// `terraform show -json` output: exact planned values.
    TerraformPlan,
    CloudFormation,
    Kubernetes,
}

impl Framework {
    pub fn as_str(self) -> &'static str {
        match self {
            Framework::Terraform => "terraform",
            Framework::TerraformPlan => "terraform_plan",
            Framework::CloudFormation => "cloudformation",
            Framework::Kubernetes => "kubernetes",
        }
    }

    /// Terraform HCL and plans share resource types and attribute shapes,
    /// so checks treat them alike.
    pub fn is_terraform(self) -> bool {
        matches!(self, Framework::Terraform | Framework::TerraformPlan)
    }
}

/// One resource, whatever the input language, with its attributes as JSON.
///
/// Attribute shapes (what checks rely on):
/// - Terraform (HCL and plan): the resource body as `terraform show -json`
///   `values` would give it: arguments are JSON values, nested blocks are
///   arrays of objects (`"versioning": [{"enabled": true}]`), even when the
///   block appears once. Values that cannot be known statically (references
///   to other resources' computed attributes, data sources) are strings of the
///   form `"${aws_s3_bucket.logs.id}"`, so checks can still follow references.
/// - CloudFormation: the resource's `Properties` object with intrinsic
///   functions resolved where possible (`!Ref` of a parameter with a default
///   gives the default; `!Ref` of a resource gives `"${LogicalId}"`;
///   unresolvable intrinsics stay as `{"Fn::...": ...}`).
/// - Kubernetes: the whole manifest document.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IacResource {
    pub framework: Framework,
    /// `aws_s3_bucket`, `AWS::S3::Bucket`, `Deployment`.
    pub kind: String,
    /// Unique identity within the scan: `module.net.aws_s3_bucket.logs["a"]`,
    /// a CloudFormation logical id, `namespace/Kind/name` for Kubernetes.
    pub address: String,
    /// The resource's own name (Terraform name label, logical id, metadata.name).
    pub name: String,
    /// File path relative to the scan root, forward slashes.
    pub file: String,
    /// 1-based inclusive line range of the resource's definition in `file`.
    pub start_line: u32,
    pub end_line: u32,
    pub attributes: Value,
}

impl IacResource {
    /// Follows a path of object keys and array indexes (`"spec.template.spec"`,
    /// `"versioning.0.enabled"`); `None` when any step is missing.
    pub fn get(&self, path: &str) -> Option<&Value> {
        lookup(&self.attributes, path)
    }

    /// The first element when `path` is a nested block (array of objects),
    /// or the value itself when it is an object.
    pub fn block(&self, path: &str) -> Option<&Value> {
        first_block(self.get(path)?)
    }
}

/// Follows a dotted path through objects and arrays (numeric segments index arrays).
pub fn lookup<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    if path.is_empty() {
        return Some(value);
    }
    path.split('.')
        .try_fold(value, |current, segment| match current {
            Value::Object(map) => map.get(segment),
            Value::Array(items) => segment.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        })
}

/// A nested block as a single object: the first element of an array of
/// objects (Terraform's block shape) or the object itself.
pub fn first_block(value: &Value) -> Option<&Value> {
    match value {
        Value::Array(items) => items.first().filter(|v| v.is_object()),
        Value::Object(_) => Some(value),
        _ => None,
    }
}

/// Every object of a block path, whether it is an array of blocks or one object.
pub fn blocks(value: Option<&Value>) -> Vec<&Value> {
    match value {
        Some(Value::Array(items)) => items.iter().filter(|v| v.is_object()).collect(),
        Some(v @ Value::Object(_)) => vec![v],
        _ => Vec::new(),
    }
}

/// Truthiness as IaC authors write it: `true`, `"true"`, `"True"`, `1`.
pub fn is_true(value: Option<&Value>) -> bool {
    match value {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
        _ => false,
    }
}

/// Falsiness as IaC authors write it: `false`, `"false"`, `0`. A missing value is not false.
pub fn is_false(value: Option<&Value>) -> bool {
    match value {
        Some(Value::Bool(b)) => !*b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("false"),
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f == 0.0),
        _ => false,
    }
}

/// Whether a value is a placeholder for something unknown at scan time
/// (`"${...}"` reference or an unresolved CloudFormation intrinsic).
pub fn is_unknown(value: &Value) -> bool {
    match value {
        Value::String(s) => s.starts_with("${") && s.ends_with('}'),
        Value::Object(map) => {
            map.len() == 1 && map.keys().all(|k| k.starts_with("Fn::") || k == "Ref")
        }
        _ => false,
    }
}

/// What a parser returns: the resources it understood and the errors it met.
/// A parser never fails as a whole: one bad document leaves the others usable.
#[derive(Debug, Default)]
pub struct ParsedSet {
    pub resources: Vec<IacResource>,
    pub errors: Vec<palisade_core::ScanError>,
}

impl ParsedSet {
    pub fn extend(&mut self, other: ParsedSet) {
        self.resources.extend(other.resources);
        self.errors.extend(other.errors);
    }

    pub fn error(path: &str, line: Option<u32>, message: impl Into<String>) -> Self {
        Self {
            resources: Vec::new(),
            errors: vec![palisade_core::ScanError {
                path: path.to_string(),
                line,
                message: message.into(),
            }],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lookup_walks_objects_and_arrays() {
        let v = json!({"versioning": [{"enabled": true}], "tags": {"a": "b"}});
        assert_eq!(lookup(&v, "versioning.0.enabled"), Some(&json!(true)));
        assert_eq!(lookup(&v, "tags.a"), Some(&json!("b")));
        assert_eq!(lookup(&v, "tags.missing"), None);
        assert_eq!(
            first_block(lookup(&v, "versioning").unwrap()),
            Some(&json!({"enabled": true}))
        );
    }

    #[test]
    fn truthiness_accepts_strings_and_numbers() {
        assert!(is_true(Some(&json!("True"))));
        assert!(is_false(Some(&json!(0))));
        assert!(!is_false(None));
        assert!(is_unknown(&json!("${aws_kms_key.k.arn}")));
        assert!(is_unknown(&json!({"Fn::GetAtt": ["Key", "Arn"]})));
    }
}
