//! Lambda in one region: functions with their runtime, function URL auth
//! type, resource policy, and the names of environment variables that look
//! like credentials (values are looked at here and dropped, never kept).

use aws_sdk_lambda::error::ProvideErrorMetadata;
use aws_sdk_lambda::Client;
use palisade_aws::checks::lambda::looks_like_secret;
use palisade_aws::inventory::LambdaFunction;
use palisade_aws::policy::decode_document;

use crate::{all_items, reason, Gaps, Recorder};

const SERVICE: &str = "lambda";

pub(crate) async fn collect(
    client: &Client,
    region: &str,
    gaps: &Gaps,
) -> Option<Vec<LambdaFunction>> {
    let record = Recorder::new(gaps, SERVICE, Some(region));
    let listed = record
        .call("ListFunctions", None, all_items!(client.list_functions()))
        .await?;
    let mut functions = Vec::with_capacity(listed.len());
    for f in &listed {
        let name = f.function_name().unwrap_or_default().to_string();
        let arn = f.function_arn().unwrap_or_default().to_string();
        let mut secret_env_vars: Vec<String> = f
            .environment()
            .and_then(|e| e.variables())
            .map(|vars| {
                vars.iter()
                    .filter(|(k, v)| looks_like_secret(k, v))
                    .map(|(k, _)| k.clone())
                    .collect()
            })
            .unwrap_or_default();
        secret_env_vars.sort();
        let url_auth_type = match client
            .get_function_url_config()
            .function_name(&name)
            .send()
            .await
        {
            Ok(out) => Some(out.auth_type().as_str().to_string()),
            Err(e) if e.code() == Some("ResourceNotFoundException") => None,
            Err(e) => {
                record.gap("GetFunctionUrlConfig", Some(&arn), reason(&e));
                None
            }
        };
        let policy = match client.get_policy().function_name(&name).send().await {
            Ok(out) => out.policy().and_then(decode_document),
            Err(e) if e.code() == Some("ResourceNotFoundException") => None,
            Err(e) => {
                record.gap("GetPolicy", Some(&arn), reason(&e));
                None
            }
        };
        functions.push(LambdaFunction {
            name,
            arn,
            runtime: f
                .runtime()
                .map_or(String::new(), |r| r.as_str().to_string()),
            secret_env_vars,
            url_auth_type,
            policy,
        });
    }
    Some(functions)
}
