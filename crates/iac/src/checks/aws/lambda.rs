//! Lambda function checks.

use palisade_core::Severity;
use serde_json::Value;

use super::{attr, fail_if, known_str, secrets, shown, unknown, GDPR, ISO, SOC2};
use crate::checks::{Check, CheckKind, Context, RuleSpec, Violation};
use crate::model::IacResource;

pub(crate) const ENV_SECRETS: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.lambda-env-secrets",
        title: "Lambda function has a hard-coded secret in its environment",
        severity: Severity::High,
        description: "Environment variables are visible to anyone who can read the function's configuration (lambda:GetFunctionConfiguration, the console, the Terraform state and the template in version control). A password, token or access key written there is effectively published.",
        remediation: "Store the secret in Secrets Manager or SSM Parameter Store (SecureString), pass its ARN or name in the environment, and read it at runtime (or with the Parameters and Secrets Lambda extension). Rotate the exposed secret.",
        references: &["https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-encryption", "https://docs.aws.amazon.com/secretsmanager/latest/userguide/retrieving-secrets_lambda.html"],
        compliance: &[(SOC2, "CC6.1"), (ISO, "A.5.17"), (ISO, "A.8.12"), (GDPR, "Art. 32")],
        checkov: &["CKV_AWS_45"],
    },
    kind: CheckKind::PerResource {
        kinds: &["aws_lambda_function", "AWS::Lambda::Function", "AWS::Serverless::Function"],
        run: env_secrets,
    },
};

fn env_secrets(r: &IacResource, _: &Context) -> Vec<Violation> {
    let Some(Value::Object(variables)) =
        attr(r, "environment.0.variables", "Environment.Variables")
    else {
        return Vec::new();
    };
    let mut out: Vec<Violation> = variables
        .iter()
        .filter_map(|(name, value)| {
            if unknown(value) {
                return None;
            }
            let text = match value {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                _ => return None,
            };
            secrets::hardcoded_secret(name, &text).then(|| {
                let evidence = if r.framework.is_terraform() {
                    format!("{name} = \"****\"")
                } else {
                    format!("{name}: ****")
                };
                Violation::new(format!(
                    "Lambda function `{}` has a hard-coded secret in environment variable `{name}`",
                    r.name
                ))
                .evidence(evidence)
                .discriminator(name.clone())
            })
        })
        .collect();
    out.sort_by(|a, b| a.discriminator.cmp(&b.discriminator));
    out
}

pub(crate) const URL_NO_AUTH: Check = Check {
    rule: RuleSpec {
        id: "iac.aws.lambda-url-no-auth",
        title: "Lambda function URL has no authentication",
        severity: Severity::High,
        description: "A function URL with authorization type NONE can be invoked by anyone on the internet who finds the URL; the function must then do all authentication itself, and it runs (and bills) for every request.",
        remediation: "Set authorization_type = \"AWS_IAM\" (CloudFormation: AuthType: AWS_IAM), or front the function with API Gateway and an authorizer.",
        references: &["https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html"],
        compliance: &[(SOC2, "CC6.1"), (ISO, "A.8.5")],
        checkov: &["CKV_AWS_258"],
    },
    kind: CheckKind::PerResource {
        kinds: &["aws_lambda_function_url", "AWS::Lambda::Url", "AWS::Serverless::Function"],
        run: |r, _| {
            let v = if r.kind == "AWS::Serverless::Function" {
                r.get("FunctionUrlConfig.AuthType")
            } else {
                attr(r, "authorization_type", "AuthType")
            };
            fail_if(known_str(v) == Some("NONE"), || {
                Violation::new(format!("function URL `{}` has no authentication", r.name))
                    .evidence(shown(r, "authorization_type", "AuthType", v, ""))
            })
        },
    },
};
