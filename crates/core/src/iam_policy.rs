//! IAM policy documents: statements, actions, principals, conditions.
//!
//! Both the IaC engine (documents written in code) and the AWS posture
//! engine (documents as AWS returns them) ask the same questions of a
//! policy: does it allow `iam:PassRole`, is its principal everyone, does a
//! condition narrow that to known callers. The answers live here once.

use serde_json::Value;

/// The statements of a document (`Statement` as a list or a single object).
pub fn statements(document: &Value) -> Vec<&Value> {
    match document.get("Statement") {
        Some(Value::Array(items)) => items.iter().filter(|s| s.is_object()).collect(),
        Some(s @ Value::Object(_)) => vec![s],
        _ => Vec::new(),
    }
}

/// Whether a statement allows (rather than denies).
pub fn allows(statement: &Value) -> bool {
    statement
        .get("Effect")
        .and_then(Value::as_str)
        .is_some_and(|e| e.eq_ignore_ascii_case("allow"))
}

/// The strings of `Action`, `Resource`, ... (a string or a list).
pub fn list<'a>(statement: &'a Value, key: &str) -> Vec<&'a str> {
    list_of(statement.get(key))
}

fn list_of(value: Option<&Value>) -> Vec<&str> {
    match value {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// Whether an action pattern (`iam:*`, `s3:Get*`, `*`) matches `action`,
/// case-insensitively as IAM does.
pub fn action_matches(pattern: &str, action: &str) -> bool {
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

/// Whether some allowed statement grants `action` (on any resource;
/// `NotAction` statements count for every action they do not name).
pub fn allows_action(document: &Value, action: &str) -> bool {
    statements(document).into_iter().any(|s| {
        allows(s)
            && (list(s, "Action").iter().any(|p| action_matches(p, action))
                || (s.get("NotAction").is_some()
                    && !list(s, "NotAction")
                        .iter()
                        .any(|p| action_matches(p, action))))
    })
}

/// The first allowed statement with Action `*` on Resource `*`, rendered as evidence.
pub fn admin_statement(document: &Value) -> Option<String> {
    statements(document).into_iter().find_map(|s| {
        let admin = allows(s)
            && list(s, "Action").iter().any(|a| *a == "*" || *a == "*:*")
            && list(s, "Resource").contains(&"*")
            && s.get("Condition").is_none();
        admin.then(|| "Effect: Allow, Action: \"*\", Resource: \"*\"".to_string())
    })
}

/// The AWS principals of a statement (`"*"`, account ids, ARNs), with `"*"` for `Principal: "*"`.
pub fn aws_principals(statement: &Value) -> Vec<&str> {
    match statement.get("Principal") {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Object(map)) => list_of(map.get("AWS")),
        _ => Vec::new(),
    }
}

/// Whether a statement's principal is everyone: `"*"` or `{"AWS": "*"}`.
pub fn public_principal(statement: &Value) -> bool {
    aws_principals(statement).contains(&"*")
}

/// The account id a principal (`123456789012`, `arn:aws:iam::123456789012:root`, a role ARN) belongs to.
pub fn principal_account(principal: &str) -> Option<&str> {
    if principal.len() == 12 && principal.bytes().all(|b| b.is_ascii_digit()) {
        return Some(principal);
    }
    let account = principal.strip_prefix("arn:")?.split(':').nth(3)?;
    (!account.is_empty()).then_some(account)
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
    "kms:viaservice",
    "sts:externalid",
];

/// Whether a statement's `Condition` restricts who can use it (so a public
/// principal is not really public). `StringNot*` operators and conditions on
/// source IP, TLS or MFA do not count: they do not identify the caller.
pub fn restricting_condition(statement: &Value) -> bool {
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
                    && !list_of(Some(v))
                        .iter()
                        .any(|s| *s == "*" || (s.starts_with("arn:aws:") && s.contains("::*")))
            })
    })
}

/// Whether a statement has a condition on `key` (case-insensitive), whatever the operator.
pub fn has_condition_key(statement: &Value, key: &str) -> bool {
    let Some(Value::Object(condition)) = statement.get("Condition") else {
        return false;
    };
    condition.values().any(|entries| {
        entries
            .as_object()
            .is_some_and(|e| e.keys().any(|k| k.eq_ignore_ascii_case(key)))
    })
}

/// The allowed statements open to everyone without a restricting condition.
pub fn public_statements(document: &Value) -> Vec<&Value> {
    statements(document)
        .into_iter()
        .filter(|s| allows(s) && public_principal(s) && !restricting_condition(s))
        .collect()
}

/// Decodes the URL-encoded policy documents IAM returns (`%7B%22Version%22...`).
pub fn decode_document(text: &str) -> Option<Value> {
    serde_json::from_str::<Value>(text)
        .ok()
        .filter(Value::is_object)
        .or_else(|| serde_json::from_str::<Value>(&percent_decode(text)).ok())
        .filter(Value::is_object)
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(byte) => {
                        out.push(byte);
                        i += 3;
                    }
                    None => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            other => {
                out.push(other);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
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
    fn decodes_url_encoded_documents() {
        let doc = decode_document("%7B%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%7D%5D%7D")
            .expect("decodes");
        assert_eq!(statements(&doc).len(), 1);
        assert!(decode_document(r#"{"Statement":[]}"#).is_some());
        assert!(decode_document("%ZZ").is_none());
    }

    #[test]
    fn not_action_grants_what_it_does_not_name() {
        let doc = json!({"Statement": {"Effect": "Allow", "NotAction": "s3:*", "Resource": "*"}});
        assert!(allows_action(&doc, "iam:PassRole"));
        assert!(!allows_action(&doc, "s3:GetObject"));
    }

    #[test]
    fn principal_accounts_come_from_ids_and_arns() {
        assert_eq!(principal_account("111122223333"), Some("111122223333"));
        assert_eq!(
            principal_account("arn:aws:iam::111122223333:role/x"),
            Some("111122223333")
        );
        assert_eq!(principal_account("*"), None);
    }

    #[test]
    fn wildcard_and_negated_conditions() {
        let any_account = json!({"Condition": {"StringLike": {"aws:SourceAccount": "*"}}});
        let any_arn = json!({"Condition": {"ArnLike": {"aws:SourceArn": "arn:aws:s3::*"}}});
        let not_arn = json!({"Condition": {"ArnNotEquals": {"aws:SourceArn": "arn:aws:s3:::x"}}});
        let via = json!({"Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}});
        assert!(!restricting_condition(&any_account));
        assert!(!restricting_condition(&any_arn));
        assert!(restricting_condition(&not_arn));
        assert!(restricting_condition(&via));
    }

    #[test]
    fn conditions_on_org_restrict_but_on_ip_do_not() {
        let org = json!({"Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-1"}}});
        let ip = json!({"Condition": {"IpAddress": {"aws:SourceIp": "1.2.3.4/32"}}});
        assert!(restricting_condition(&org));
        assert!(!restricting_condition(&ip));
    }
}
