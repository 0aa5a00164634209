//! Kubernetes checks over manifests of every workload kind, RBAC objects,
//! services, ingresses and service accounts.
//!
//! Workload checks read the pod spec through [`pod_spec`], which knows where
//! each kind keeps it (a CronJob's is three templates deep), and the
//! containers through [`containers`], which includes init and ephemeral ones.
//! Container-level findings go through [`each_container`], which names the
//! container in the message and uses its name as the discriminator, so a pod
//! with two bad containers yields two findings.
//!
//! Checkov ids in each rule are those of the Checkov check with the same
//! meaning, so `checkov:skip=CKV_K8S_xx` comments keep working.

use serde_json::Value;

use super::{Check, Violation};
use crate::model::{lookup, IacResource};

mod images;
mod network;
mod rbac;
mod resources;
mod secrets;
mod workload;

/// CIS Kubernetes Benchmark, the version control ids refer to.
pub(crate) const CIS_K8S: &str = "CIS Kubernetes v1.9";
pub(crate) const SOC2: &str = "SOC 2";
pub(crate) const ISO27001: &str = "ISO 27001:2022";

pub(crate) const PSS: &str = "https://kubernetes.io/docs/concepts/security/pod-security-standards/";
pub(crate) const SECURITY_CONTEXT: &str =
    "https://kubernetes.io/docs/tasks/configure-pod-container/security-context/";
pub(crate) const RBAC: &str = "https://kubernetes.io/docs/reference/access-authn-authz/rbac/";
pub(crate) const RBAC_GOOD_PRACTICES: &str =
    "https://kubernetes.io/docs/concepts/security/rbac-good-practices/";

/// Every kind that carries a pod template.
pub(crate) const WORKLOAD_KINDS: &[&str] = &[
    "Pod",
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "ReplicationController",
    "Job",
    "CronJob",
];

/// Every container list of a pod spec.
pub(crate) const ALL_CONTAINERS: &[&str] = &["containers", "initContainers", "ephemeralContainers"];
/// The lists whose containers may carry resources and ports
/// (ephemeral containers are not allowed to).
pub(crate) const RUNNING_CONTAINERS: &[&str] = &["containers", "initContainers"];
/// Long-running containers only (probes make no sense on init containers).
pub(crate) const APP_CONTAINERS: &[&str] = &["containers"];

pub(crate) static CHECKS: &[Check] = &[
    // Pod and container security context.
    workload::PRIVILEGED,
    workload::ALLOW_PRIVILEGE_ESCALATION,
    workload::RUN_AS_ROOT,
    workload::RUN_AS_LOW_UID,
    workload::HOST_NETWORK,
    workload::HOST_PID,
    workload::HOST_IPC,
    workload::HOST_PATH_VOLUME,
    workload::RUNTIME_SOCKET_MOUNT,
    workload::HOST_PORT,
    workload::SYS_ADMIN_CAPABILITY,
    workload::DANGEROUS_CAPABILITIES,
    workload::ADDED_CAPABILITIES,
    workload::CAPABILITIES_NOT_DROPPED,
    workload::NET_RAW_NOT_DROPPED,
    workload::READ_ONLY_ROOT_FILESYSTEM,
    workload::SECCOMP_PROFILE,
    workload::PROC_MOUNT_UNMASKED,
    workload::UNSAFE_SYSCTLS,
    workload::WINDOWS_HOST_PROCESS,
    workload::POD_SECURITY_CONTEXT,
    workload::CONTAINER_SECURITY_CONTEXT,
    // Resources and health.
    resources::CPU_LIMITS,
    resources::MEMORY_LIMITS,
    resources::CPU_REQUESTS,
    resources::MEMORY_REQUESTS,
    resources::LIVENESS_PROBE,
    resources::READINESS_PROBE,
    // Images.
    images::IMAGE_TAG_MUTABLE,
    images::IMAGE_PULL_POLICY,
    images::IMAGE_DIGEST,
    images::TILLER,
    images::DASHBOARD,
    // Secrets and service accounts.
    secrets::ENV_PLAINTEXT_SECRET,
    secrets::SECRETS_AS_ENV,
    secrets::SERVICE_ACCOUNT_TOKEN_AUTOMOUNT,
    secrets::DEFAULT_SERVICE_ACCOUNT_AUTOMOUNT,
    secrets::DEFAULT_SERVICE_ACCOUNT_BINDING,
    // RBAC.
    rbac::WILDCARD,
    rbac::SECRETS_READ,
    rbac::BIND,
    rbac::ESCALATE,
    rbac::IMPERSONATE,
    rbac::WEBHOOK_CONTROL,
    rbac::CSR_APPROVE,
    rbac::CLUSTER_ADMIN_BINDING,
    // Namespaces and network exposure.
    network::DEFAULT_NAMESPACE,
    network::SERVICE_LOAD_BALANCER,
    network::SERVICE_NODE_PORT,
    network::INGRESS_TLS,
    network::NAMESPACE_NETWORK_POLICY,
];

/// The pod spec of a workload of any kind.
pub(crate) fn pod_spec(resource: &IacResource) -> Option<&Value> {
    let path = match resource.kind.as_str() {
        "Pod" => "spec",
        "CronJob" => "spec.jobTemplate.spec.template.spec",
        _ => "spec.template.spec",
    };
    resource.get(path).filter(|v| v.is_object())
}

/// The metadata of the pods a workload creates (where pod annotations live):
/// the template's, or the object's own for a Pod or a template without one.
pub(crate) fn pod_metadata(resource: &IacResource) -> Option<&Value> {
    let template = match resource.kind.as_str() {
        "Pod" => None,
        "CronJob" => resource.get("spec.jobTemplate.spec.template.metadata"),
        _ => resource.get("spec.template.metadata"),
    };
    template
        .filter(|v| v.is_object())
        .or_else(|| resource.get("metadata").filter(|v| v.is_object()))
}

/// Every container of a pod spec (regular, init and ephemeral).
pub(crate) fn containers(pod_spec: &Value) -> impl Iterator<Item = &Value> {
    containers_in(pod_spec, ALL_CONTAINERS)
}

/// The containers of the given lists of a pod spec.
pub(crate) fn containers_in<'a>(
    pod_spec: &'a Value,
    lists: &'static [&'static str],
) -> impl Iterator<Item = &'a Value> {
    lists
        .iter()
        .filter_map(move |list| lookup(pod_spec, list).and_then(Value::as_array))
        .flatten()
        .filter(|c| c.is_object())
}

/// A container's name, for messages and discriminators.
pub(crate) fn container_name(container: &Value) -> &str {
    container
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("<unnamed>")
}

/// What is wrong with one container: the rest of a sentence that starts
/// with "container `name`", and the evidence.
pub(crate) struct Issue {
    pub what: String,
    pub evidence: String,
}

impl Issue {
    pub fn new(what: impl Into<String>, evidence: impl Into<String>) -> Option<Self> {
        Some(Self {
            what: what.into(),
            evidence: evidence.into(),
        })
    }
}

/// Runs `test` on each container of the given lists of a workload's pod spec
/// (with the pod spec, for settings the pod level provides) and turns each
/// issue into a violation discriminated by the container name.
pub(crate) fn each_container(
    workload: &IacResource,
    lists: &'static [&'static str],
    mut test: impl FnMut(&Value, &Value) -> Option<Issue>,
) -> Vec<Violation> {
    let Some(spec) = pod_spec(workload) else {
        return Vec::new();
    };
    containers_in(spec, lists)
        .filter_map(|container| {
            let issue = test(spec, container)?;
            let name = container_name(container);
            Some(
                Violation::new(format!("container `{name}` {}", issue.what))
                    .evidence(issue.evidence)
                    .discriminator(name),
            )
        })
        .collect()
}

/// A security context setting as it applies to a container: the container's
/// own value overrides the pod's (`runAsUser`, `runAsNonRoot`, `seccompProfile`,
/// `windowsOptions`...). Returns the value and where it came from.
pub(crate) fn effective_setting<'a>(
    pod_spec: &'a Value,
    container: &'a Value,
    key: &str,
) -> Option<(&'a Value, &'static str)> {
    let set = |v: &&Value| !v.is_null();
    container
        .get("securityContext")
        .and_then(|sc| sc.get(key))
        .filter(set)
        .map(|v| (v, "container"))
        .or_else(|| {
            pod_spec
                .get("securityContext")
                .and_then(|sc| sc.get(key))
                .filter(set)
                .map(|v| (v, "pod"))
        })
}

/// The namespace an object lives in (`default` when the manifest names none).
pub(crate) fn namespace(resource: &IacResource) -> &str {
    resource
        .get("metadata.namespace")
        .and_then(Value::as_str)
        .filter(|ns| !ns.is_empty())
        .unwrap_or("default")
}

/// The object's `metadata.name`, falling back to the resource name.
pub(crate) fn object_name(resource: &IacResource) -> &str {
    resource
        .get("metadata.name")
        .and_then(Value::as_str)
        .unwrap_or(&resource.name)
}

/// The strings of a list field (a lone string counts as a list of one).
pub(crate) fn strings(value: Option<&Value>) -> Vec<&str> {
    match value {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        Some(Value::String(s)) => vec![s.as_str()],
        _ => Vec::new(),
    }
}

/// A number written as a number or a numeric string.
pub(crate) fn as_i64(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A value for evidence: strings bare, anything else as JSON.
pub(crate) fn show(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
