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

pub(crate) use palisade_core::iam_policy::{
    action_matches, allows, list, public_statements, statements,
};

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_strings_and_objects() {
        let doc = parse(Some(&json!(
            r#"{"Statement":{"Effect":"Allow","Action":"*"}}"#
        )))
        .unwrap();
        assert_eq!(statements(&doc).len(), 1);
        assert!(parse(Some(&json!("${data.aws_iam_policy_document.x.json}"))).is_none());
    }
}
