//! Lambda checks: function URLs, resource policies, credentials in
//! environment variables, runtimes past end of support.

use palisade_core::Severity;

use super::{each, public_policy_hit, Check, Hit, RuleSpec, ISO, SOC2};
use crate::inventory::{Inventory, LambdaFunction};

const FUNCTION: &str = "AWS::Lambda::Function";

fn functions(inv: &Inventory) -> impl Iterator<Item = (&str, &LambdaFunction)> {
    each(inv, |r| r.lambda_functions.as_deref())
}

/// Runtimes AWS no longer supports (deprecated for creating and updating functions).
pub(crate) const DEPRECATED_RUNTIMES: &[&str] = &[
    "nodejs",
    "nodejs4.3",
    "nodejs4.3-edge",
    "nodejs6.10",
    "nodejs8.10",
    "nodejs10.x",
    "nodejs12.x",
    "nodejs14.x",
    "nodejs16.x",
    "python2.7",
    "python3.6",
    "python3.7",
    "python3.8",
    "ruby2.5",
    "ruby2.7",
    "java8",
    "go1.x",
    "dotnetcore1.0",
    "dotnetcore2.0",
    "dotnetcore2.1",
    "dotnetcore3.1",
    "dotnet5.0",
    "dotnet6",
];

pub(crate) const URL_NO_AUTH: Check = Check {
    rule: RuleSpec {
        id: "aws.lambda.url-no-auth",
        title: "Lambda function URL requires no authentication",
        severity: Severity::High,
        description: "A function URL with AuthType NONE is an HTTPS endpoint anyone on the internet can call; the function's code is the only access control.",
        remediation: "Set the URL's AuthType to AWS_IAM (aws lambda update-function-url-config --auth-type AWS_IAM), or put the function behind API Gateway with an authorizer.",
        references: &["https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html"],
        compliance: &[(SOC2, "CC6.1"), (ISO, "A.8.3")],
        prowler: &["awslambda_function_url_public"],
    },
    run: |inv, _| {
        functions(inv)
            .filter(|(_, f)| f.url_auth_type.as_deref() == Some("NONE"))
            .map(|(region, f)| Hit::new(FUNCTION, &f.arn, format!("function `{}` has a URL anyone can call", f.name)).region(region).evidence("FunctionUrlConfig AuthType: NONE"))
            .collect()
    },
};

pub(crate) const PUBLIC_POLICY: Check = Check {
    rule: RuleSpec {
        id: "aws.lambda.public-policy",
        title: "Lambda function policy lets everyone invoke it",
        severity: Severity::High,
        description: "A resource policy statement with Principal \"*\" and no condition naming the caller (source account, ARN, organisation) lets any AWS account invoke the function.",
        remediation: "Remove the statement (aws lambda remove-permission) or add aws:SourceAccount / aws:SourceArn / aws:PrincipalOrgID conditions.",
        references: &["https://docs.aws.amazon.com/lambda/latest/dg/access-control-resource-based.html"],
        compliance: &[(SOC2, "CC6.1"), (ISO, "A.8.3")],
        prowler: &["awslambda_function_not_publicly_accessible"],
    },
    run: |inv, _| {
        functions(inv)
            .filter_map(|(region, f)| public_policy_hit(FUNCTION, &f.arn, region, format!("the policy of function `{}` allows everyone", f.name), f.policy.as_ref()))
            .collect()
    },
};

pub(crate) const ENV_SECRETS: Check = Check {
    rule: RuleSpec {
        id: "aws.lambda.env-secrets",
        title: "Lambda function keeps credentials in environment variables",
        severity: Severity::High,
        description: "Environment variables are readable by anyone with lambda:GetFunctionConfiguration and end up in deployment tooling and logs. Variables whose name says secret, password, token or key and whose value is not a reference to Secrets Manager or Parameter Store are reported (by name; values are never read into findings).",
        remediation: "Move the value to Secrets Manager or SSM Parameter Store (SecureString) and read it at runtime (the Parameters and Secrets Lambda extension caches it); rotate the exposed credential.",
        references: &["https://docs.aws.amazon.com/secretsmanager/latest/userguide/retrieving-secrets_lambda.html"],
        compliance: &[(SOC2, "CC6.1"), (ISO, "A.5.17")],
        prowler: &["awslambda_function_no_secrets_in_variables"],
    },
    run: |inv, _| {
        functions(inv)
            .filter(|(_, f)| !f.secret_env_vars.is_empty())
            .map(|(region, f)| {
                Hit::new(FUNCTION, &f.arn, format!("function `{}` has credentials in its environment", f.name))
                    .region(region)
                    .evidence(format!("variables {}", f.secret_env_vars.join(", ")))
            })
            .collect()
    },
};

pub(crate) const DEPRECATED_RUNTIME: Check = Check {
    rule: RuleSpec {
        id: "aws.lambda.deprecated-runtime",
        title: "Lambda function runs on a deprecated runtime",
        severity: Severity::Medium,
        description: "Deprecated runtimes get no security patches from AWS, and functions on them can no longer be updated once the runtime is blocked.",
        remediation: "Move the function to a supported runtime version and redeploy.",
        references: &["https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html"],
        compliance: &[(SOC2, "CC7.1"), (ISO, "A.8.8")],
        prowler: &["awslambda_function_using_supported_runtimes"],
    },
    run: |inv, _| {
        functions(inv)
            .filter(|(_, f)| DEPRECATED_RUNTIMES.contains(&f.runtime.as_str()))
            .map(|(region, f)| Hit::new(FUNCTION, &f.arn, format!("function `{}` runs on {}", f.name, f.runtime)).region(region).evidence(format!("Runtime: {}", f.runtime)))
            .collect()
    },
};

/// Whether an environment variable looks like a credential: its name says
/// so and its value is neither empty nor a reference to a secret store.
pub fn looks_like_secret(name: &str, value: &str) -> bool {
    let name = name.to_ascii_lowercase();
    let named = [
        "secret",
        "password",
        "passwd",
        "token",
        "api_key",
        "apikey",
        "private_key",
        "access_key",
        "credential",
    ]
    .iter()
    .any(|w| name.contains(w));
    let value = value.trim();
    let reference = value.starts_with("arn:aws")
        || value.starts_with("{{resolve:")
        || value.starts_with("ssm:")
        || value.starts_with("/")
        || value.eq_ignore_ascii_case("true")
        || value.eq_ignore_ascii_case("false");
    named && value.len() >= 8 && !reference
}

#[cfg(test)]
mod tests {
    use super::looks_like_secret;

    #[test]
    fn secret_names_with_literal_values_are_credentials_references_are_not() {
        assert!(looks_like_secret("DB_PASSWORD", "hunter2-hunter2"));
        assert!(looks_like_secret("stripe_api_key", "sk_live_0123456789"));
        assert!(!looks_like_secret(
            "DB_PASSWORD_ARN",
            "arn:aws:secretsmanager:us-east-1:1:secret:db"
        ));
        assert!(!looks_like_secret("TOKEN_PARAM", "/prod/app/token"));
        assert!(!looks_like_secret("LOG_LEVEL", "debug-verbose"));
        assert!(!looks_like_secret("SECRET", ""));
    }
}
