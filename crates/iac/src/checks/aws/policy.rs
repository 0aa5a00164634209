//! IAM policy documents as IaC writes them: a JSON string (Terraform's
//! `jsonencode` output or a heredoc) or an object (CloudFormation's
//! `PolicyDocument`).

use serde_json::Value;

use super::present;

/// The policy document in `value`: a parsed JSON string or the object itself.
/// `None` when it is missing, unknown (a data source reference) or not JSON.
pub(crate) fn parse(value: Option<&Value>) -> Option<Value> {
    match present(value)? {
        Value::String(s) => {
            let trimmed = s.trim();
            if trimmed.starts_with("${") && trimmed.ends_with('}') {
                return None;
            }
            serde_json::from_str::<Value>(trimmed)
                .ok()
                .filter(Value::is_object)
        }
        v @ Value::Object(_) if !crate::model::is_unknown(v) => Some(v.clone()),
        _ => None,
    }
}

/// The statements of a document (`Statement` as a list or a single object).
pub(crate) fn statements(document: &Value) -> Vec<&Value> {
    match document.get("Statement") {
        Some(Value::Array(items)) => items.iter().filter(|s| s.is_object()).collect(),
        Some(s @ Value::Object(_)) => vec![s],
        _ => Vec::new(),
    }
}

/// Whether a statement allows (rather than denies).
pub(crate) fn allows(statement: &Value) -> bool {
    statement
        .get("Effect")
        .and_then(Value::as_str)
        .is_some_and(|e| e.eq_ignore_ascii_case("allow"))
}

/// The known strings of `Action`, `Resource`, ... (a string or a list).
pub(crate) fn list<'a>(statement: &'a Value, key: &str) -> Vec<&'a str> {
    match statement.get(key) {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// Whether an action pattern (`iam:*`, `s3:Get*`, `*`) matches `action`,
/// case-insensitively as IAM does.
pub(crate) fn action_matches(pattern: &str, action: &str) -> bool {
    glob(
        pattern.to_ascii_lowercase().as_bytes(),
        action.to_ascii_lowercase().as_bytes(),
    )
}

fn glob(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == b'?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == b'*' {
            star = Some(p);
            mark = t;
            p += 1;
        } else if let Some(s) = star {
            p = s + 1;
            mark += 1;
            t = mark;
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

/// Whether a statement's principal is everyone: `"*"` or `{"AWS": "*"}`
/// (also inside a list).
pub(crate) fn public_principal(statement: &Value) -> bool {
    match statement.get("Principal") {
        Some(Value::String(s)) => s == "*",
        Some(Value::Object(map)) => map
            .get("AWS")
            .is_some_and(|aws| list_of(aws).contains(&"*")),
        _ => false,
    }
}

fn list_of(value: &Value) -> Vec<&str> {
    match value {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// Condition keys that narrow a public principal to known callers (an
/// organisation, an account, a VPC endpoint, a specific ARN).
const RESTRICTING_KEYS: &[&str] = &[
    "aws:sourcevpce",
    "aws:sourcevpc",
    "aws:vpceaccount",
    "aws:principalorgpaths",
    "aws:principalorgid",
    "aws:principalarn",
    "aws:principalaccount",
    "aws:sourceaccount",
    "aws:sourceowner",
    "aws:sourcearn",
    "aws:userid",
    "aws:ec2instancesourcevpc",
    "ec2:sourceinstancearn",
    "lambda:sourcefunctionarn",
    "ssm:sourceinstancearn",
    "kms:calleraccount",
    "sts:externalid",
];

/// Whether a statement's `Condition` restricts who can use it (so a public
/// principal is not really public). `StringNot*` operators and conditions on
/// source IP, TLS or MFA do not count: they do not identify the caller.
pub(crate) fn restricting_condition(statement: &Value) -> bool {
    let Some(Value::Object(condition)) = statement.get("Condition") else {
        return false;
    };
    condition.iter().any(|(operator, entries)| {
        let op = operator
            .trim_start_matches("ForAnyValue:")
            .trim_start_matches("ForAllValues:");
        if op.starts_with("ArnNot") {
            return true;
        }
        let positive = matches!(
            op,
            "StringEquals" | "StringEqualsIgnoreCase" | "StringLike" | "ArnEquals" | "ArnLike"
        );
        let Value::Object(entries) = entries else {
            return false;
        };
        positive
            && entries.iter().any(|(k, v)| {
                RESTRICTING_KEYS.contains(&k.to_ascii_lowercase().as_str())
                    && !list_of(v)
                        .iter()
                        .any(|s| *s == "*" || (s.starts_with("arn:aws:") && s.contains("::*")))
            })
    })
}

/// The allowed statements of a document that are open to everyone without a
/// restricting condition.
pub(crate) fn public_statements(document: &Value) -> Vec<&Value> {
    statements(document)
        .into_iter()
        .filter(|s| allows(s) && public_principal(s) && !restricting_condition(s))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn globs_match_like_iam() {
        assert!(action_matches("iam:*", "iam:PassRole"));
        assert!(action_matches("*", "s3:GetObject"));
        assert!(action_matches("IAM:Attach*Policy", "iam:AttachUserPolicy"));
        assert!(!action_matches("iam:Get*", "iam:PassRole"));
    }

    #[test]
    fn parses_strings_and_objects() {
        let doc = parse(Some(&json!(
            r#"{"Statement":{"Effect":"Allow","Action":"*"}}"#
        )))
        .unwrap();
        assert_eq!(statements(&doc).len(), 1);
        assert!(parse(Some(&json!("${data.aws_iam_policy_document.x.json}"))).is_none());
    }

    #[test]
    fn conditions_on_org_restrict_but_on_ip_do_not() {
        let org = json!({"Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-1"}}});
        let ip = json!({"Condition": {"IpAddress": {"aws:SourceIp": "1.2.3.4/32"}}});
        assert!(restricting_condition(&org));
        assert!(!restricting_condition(&ip));
    }
}
