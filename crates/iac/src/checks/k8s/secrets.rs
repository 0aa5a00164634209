//! Secrets in container environments, and service account tokens.

use std::sync::LazyLock;

use palisade_core::Severity;
use regex::Regex;
use serde_json::Value;

use super::{
    each_container, namespace, object_name, pod_spec, Issue, ALL_CONTAINERS, CIS_K8S, ISO27001,
    RBAC_GOOD_PRACTICES, SOC2, WORKLOAD_KINDS,
};
use crate::checks::{Check, CheckKind, Context, RuleSpec, Violation};
use crate::model::{is_false, IacResource};

const SECRETS_DOC: &str = "https://kubernetes.io/docs/concepts/configuration/secret/";
const SECRETS_GOOD_PRACTICES: &str =
    "https://kubernetes.io/docs/concepts/security/secrets-good-practices/";
const SERVICE_ACCOUNTS_DOC: &str =
    "https://kubernetes.io/docs/tasks/configure-pod-container/configure-service-account/";

/// Variable names that announce a credential. Short words (token, key,
/// pass) count only as a whole `_`/`-`/`.`-separated word or a camelCase
/// suffix, so `TOKENIZER_MODEL` or `PASSPORT_API` do not match.
static SECRET_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?i)(passw(or)?d|passwd|secret|credential",
        r"|(^|[_.-])(token|pwd|pass|api[_-]?key|apikey|private[_-]?key|access[_-]?key|auth[_-]?key",
        r"|signing[_-]?key|encryption[_-]?key|master[_-]?key|conn(ection)?[_-]?str(ing)?)($|[_.-]))",
        r"|(?-i:[a-z0-9](Token|Pwd|ApiKey|AccessKey|PrivateKey|AuthKey))",
    ))
    .expect("valid regex")
});

/// Name endings of variables that describe a secret rather than hold it.
static NOT_A_SECRET_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)[_-](file|path|dir|url|uri|endpoint|host|port|name|names|enabled|enable|ttl|timeout|expiry|expiration|expires|length|size|type|mode|header|id|ref|version|format|algorithm|rotation|location|namespace|key_id|secret_name|lifetime|duration|interval|issuer|audience|scope|scopes)$",
    )
    .expect("valid regex")
});

/// Values that are credentials whatever the variable is called.
static SECRET_VALUE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"\b(AKIA|ASIA)[0-9A-Z]{16}\b",
        r"|-----BEGIN [A-Z ]*PRIVATE KEY-----",
        r"|\bgh[pousr]_[A-Za-z0-9]{36}\b",
        r"|\bgithub_pat_[A-Za-z0-9_]{22,}",
        r"|\bglpat-[A-Za-z0-9_-]{20}",
        r"|\bxox[abposr]-[A-Za-z0-9-]{10,}",
        r"|\b[sr]k_live_[A-Za-z0-9]{20,}",
        r"|\bAIza[0-9A-Za-z_-]{35}",
        r"|\bSG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}",
        r"|\bnpm_[A-Za-z0-9]{36}\b",
        r"|\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}",
    ))
    .expect("valid regex")
});

/// A URL with a password in it: `postgres://user:pass@host/db`.
static URL_CREDENTIALS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]+:([^/\s@]+)@").expect("valid regex")
});

/// Values that point at a secret kept elsewhere, or are not secrets at all.
fn is_reference_or_placeholder(value: &str) -> bool {
    let v = value.trim();
    let lower = v.to_ascii_lowercase();
    v.len() < 4
        || v.contains("$(")
        || v.contains("${")
        || v.contains("{{")
        || (v.starts_with('<') && v.ends_with('>'))
        || v.starts_with('/')
        || [
            "true", "false", "yes", "no", "none", "null", "enabled", "disabled",
        ]
        .contains(&lower.as_str())
        || [
            "vault:",
            "ref+",
            "sm://",
            "arn:aws:secretsmanager:",
            "arn:aws:ssm:",
            "secretmanager://",
            "gcp:secretmanager:",
            "azurekeyvault://",
        ]
        .iter()
        .any(|prefix| lower.starts_with(prefix))
        || v.parse::<f64>().is_ok()
}

/// Why an env var's literal value looks like a credential, if it does.
/// Never returns the value itself.
pub(crate) fn plaintext_secret_reason(name: &str, value: &str) -> Option<&'static str> {
    if SECRET_VALUE.is_match(value) {
        return Some("value has the format of a credential");
    }
    if let Some(password) = URL_CREDENTIALS.captures(value).and_then(|c| c.get(1)) {
        let password = password.as_str();
        let placeholder =
            ["$(", "${", "{{"].iter().any(|p| password.contains(p)) || password.starts_with('<');
        if !placeholder {
            return Some("value is a URL with an embedded password");
        }
    }
    if SECRET_NAME.is_match(name)
        && !NOT_A_SECRET_NAME.is_match(name)
        && !is_reference_or_placeholder(value)
    {
        return Some("name announces a secret and the value is a literal");
    }
    None
}

pub(crate) const ENV_PLAINTEXT_SECRET: Check = Check {
    rule: RuleSpec {
        id: "iac.k8s.env-plaintext-secret",
        title: "Secret written in plain text in a container environment",
        severity: Severity::High,
        description: "An environment variable whose name announces a credential (PASSWORD, TOKEN, API_KEY...) or whose value has the format of one (cloud keys, private keys, tokens, URLs with passwords) is written literally in the manifest: it is in version control, in every copy of the manifest and visible to anyone who can read the workload object. The finding never contains the value.",
        remediation: "Move the value into a Secret (or an external secret store) and reference it with valueFrom.secretKeyRef or a mounted volume; rotate the exposed credential.",
        references: &[SECRETS_GOOD_PRACTICES, SECRETS_DOC],
        compliance: &[(CIS_K8S, "5.4.1"), (SOC2, "CC6.1"), (ISO27001, "A.8.12")],
        checkov: &[],
    },
    kind: CheckKind::PerResource {
        kinds: WORKLOAD_KINDS,
        run: env_plaintext_secret,
    },
};

fn env_plaintext_secret(workload: &IacResource, _: &Context) -> Vec<Violation> {
    each_container(workload, ALL_CONTAINERS, |_, c| {
        let found: Vec<(&str, &str)> = c
            .get("env")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|e| {
                let name = e.get("name").and_then(Value::as_str)?;
                let value = e.get("value").and_then(Value::as_str)?;
                Some((name, plaintext_secret_reason(name, value)?))
            })
            .collect();
        if found.is_empty() {
            return None;
        }
        let names: Vec<&str> = found.iter().map(|(name, _)| *name).collect();
        let evidence: Vec<String> = found
            .iter()
            .map(|(name, reason)| format!("env {name} = <redacted> ({reason})"))
            .collect();
        Issue::new(
            format!(
                "has plaintext secrets in environment variables {}",
                names.join(", ")
            ),
            evidence.join("; "),
        )
    })
}

pub(crate) const SECRETS_AS_ENV: Check = Check {
    rule: RuleSpec {
        id: "iac.k8s.secrets-as-env",
        title: "Secret exposed as environment variables",
        severity: Severity::Low,
        description: "Secrets passed as environment variables are inherited by every child process, dumped by crash reporters and debug endpoints, and visible through /proc; mounted secret files are not, and they follow rotation without a restart.",
        remediation: "Mount the Secret as a volume and read the file, instead of env[].valueFrom.secretKeyRef or envFrom[].secretRef.",
        references: &[SECRETS_GOOD_PRACTICES, "https://kubernetes.io/docs/concepts/configuration/secret/#using-secrets-as-files-from-a-pod"],
        compliance: &[(CIS_K8S, "5.4.1"), (SOC2, "CC6.1"), (ISO27001, "A.8.12")],
        checkov: &["CKV_K8S_35"],
    },
    kind: CheckKind::PerResource {
        kinds: WORKLOAD_KINDS,
        run: secrets_as_env,
    },
};

fn secrets_as_env(workload: &IacResource, _: &Context) -> Vec<Violation> {
    each_container(workload, ALL_CONTAINERS, |_, c| {
        let list = |key: &str| c.get(key).and_then(Value::as_array).into_iter().flatten();
        let mut found: Vec<String> = list("env")
            .filter_map(|e| {
                let secret = e.get("valueFrom")?.get("secretKeyRef")?;
                let name = e.get("name").and_then(Value::as_str).unwrap_or("?");
                let from = secret.get("name").and_then(Value::as_str).unwrap_or("?");
                Some(format!("env {name} from secret {from}"))
            })
            .collect();
        found.extend(list("envFrom").filter_map(|e| {
            let secret = e.get("secretRef")?;
            let from = secret.get("name").and_then(Value::as_str).unwrap_or("?");
            Some(format!("envFrom secret {from}"))
        }));
        if found.is_empty() {
            return None;
        }
        Issue::new(
            "reads secrets through environment variables",
            found.join("; "),
        )
    })
}

pub(crate) const SERVICE_ACCOUNT_TOKEN_AUTOMOUNT: Check = Check {
    rule: RuleSpec {
        id: "iac.k8s.service-account-token-automount",
        title: "Service account token mounted automatically",
        severity: Severity::Medium,
        description: "Unless automountServiceAccountToken is false on the pod spec (or on its ServiceAccount, when the pod does not decide), every container gets an API token; a compromised container can then call the Kubernetes API with the service account's rights. Most applications never need it.",
        remediation: "Set automountServiceAccountToken: false on the pod spec (or the ServiceAccount) and mount a projected token only in workloads that call the API.",
        references: &[SERVICE_ACCOUNTS_DOC, RBAC_GOOD_PRACTICES],
        compliance: &[(CIS_K8S, "5.1.6"), (SOC2, "CC6.1"), (ISO27001, "A.8.2")],
        checkov: &["CKV_K8S_38"],
    },
    kind: CheckKind::PerResource {
        kinds: WORKLOAD_KINDS,
        run: service_account_token_automount,
    },
};

fn service_account_token_automount(workload: &IacResource, context: &Context) -> Vec<Violation> {
    let Some(spec) = pod_spec(workload) else {
        return Vec::new();
    };
    let pod_setting = spec
        .get("automountServiceAccountToken")
        .filter(|v| !v.is_null());
    if is_false(pod_setting) {
        return Vec::new();
    }
    let account = spec
        .get("serviceAccountName")
        .or_else(|| spec.get("serviceAccount"))
        .and_then(Value::as_str)
        .unwrap_or("default");
    if pod_setting.is_none() {
        // The pod defers to its ServiceAccount; honour it when it is in the scan.
        let ns = namespace(workload);
        let disabled_by_account = context
            .by_address(&format!("{ns}/ServiceAccount/{account}"))
            .is_some_and(|sa| is_false(sa.get("automountServiceAccountToken")));
        if disabled_by_account {
            return Vec::new();
        }
    }
    let evidence = match pod_setting {
        Some(v) => format!("automountServiceAccountToken: {v}"),
        None => format!("automountServiceAccountToken not set (service account `{account}`)"),
    };
    vec![Violation::new("pod mounts its service account token automatically").evidence(evidence)]
}

pub(crate) const DEFAULT_SERVICE_ACCOUNT_AUTOMOUNT: Check = Check {
    rule: RuleSpec {
        id: "iac.k8s.default-service-account-automount",
        title: "Default service account mounts its token",
        severity: Severity::Low,
        description: "Every pod that names no service account runs as its namespace's `default` one; unless that account disables token automounting, all those pods carry an API token they rarely need.",
        remediation: "Set automountServiceAccountToken: false on each namespace's `default` ServiceAccount and give workloads that call the API their own account.",
        references: &[SERVICE_ACCOUNTS_DOC, RBAC_GOOD_PRACTICES],
        compliance: &[(CIS_K8S, "5.1.5"), (SOC2, "CC6.1"), (ISO27001, "A.8.2")],
        checkov: &["CKV_K8S_41"],
    },
    kind: CheckKind::PerResource {
        kinds: &["ServiceAccount"],
        run: default_service_account_automount,
    },
};

fn default_service_account_automount(account: &IacResource, _: &Context) -> Vec<Violation> {
    if object_name(account) != "default" || is_false(account.get("automountServiceAccountToken")) {
        return Vec::new();
    }
    vec![
        Violation::new("the default service account mounts its token into every pod that uses it")
            .evidence("automountServiceAccountToken not false"),
    ]
}

pub(crate) const DEFAULT_SERVICE_ACCOUNT_BINDING: Check = Check {
    rule: RuleSpec {
        id: "iac.k8s.default-service-account-binding",
        title: "Role bound to a default service account",
        severity: Severity::Medium,
        description: "Granting rights to a namespace's `default` service account grants them to every pod in the namespace that names no account of its own, including ones added later.",
        remediation: "Create a dedicated ServiceAccount for the workload that needs the rights, bind the role to it, and leave `default` without bindings.",
        references: &[SERVICE_ACCOUNTS_DOC, RBAC_GOOD_PRACTICES],
        compliance: &[(CIS_K8S, "5.1.5"), (SOC2, "CC6.3"), (ISO27001, "A.8.2")],
        checkov: &["CKV_K8S_42"],
    },
    kind: CheckKind::PerResource {
        kinds: &["RoleBinding", "ClusterRoleBinding"],
        run: default_service_account_binding,
    },
};

fn default_service_account_binding(binding: &IacResource, _: &Context) -> Vec<Violation> {
    binding
        .get("subjects")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|s| {
            s.get("kind").and_then(Value::as_str) == Some("ServiceAccount")
                && s.get("name").and_then(Value::as_str) == Some("default")
        })
        .map(|s| {
            let ns = s
                .get("namespace")
                .and_then(Value::as_str)
                .unwrap_or_else(|| namespace(binding));
            Violation::new(format!(
                "binding grants its role to the default service account of `{ns}`"
            ))
            .evidence(format!("subjects[]: ServiceAccount {ns}/default"))
            .discriminator(ns)
        })
        .collect()
}
