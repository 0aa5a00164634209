//! Kubernetes checks over manifests of every workload kind.
//!
//! Workload checks read the pod spec through [`pod_spec`], which knows where
//! each kind keeps it (a CronJob's is three templates deep), and the
//! containers through [`containers`], which includes init and ephemeral ones.

use serde_json::Value;

use super::Check;
use crate::model::{lookup, IacResource};

mod workload;

/// CIS Kubernetes Benchmark, the version control ids refer to.
pub(crate) const CIS_K8S: &str = "CIS Kubernetes v1.9";

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

pub(crate) static CHECKS: &[Check] = &[workload::PRIVILEGED];

/// The pod spec of a workload of any kind.
pub(crate) fn pod_spec(resource: &IacResource) -> Option<&Value> {
    let path = match resource.kind.as_str() {
        "Pod" => "spec",
        "CronJob" => "spec.jobTemplate.spec.template.spec",
        _ => "spec.template.spec",
    };
    resource.get(path).filter(|v| v.is_object())
}

/// Every container of a pod spec (regular, init and ephemeral), with the list it came from.
pub(crate) fn containers(pod_spec: &Value) -> impl Iterator<Item = &Value> {
    ["containers", "initContainers", "ephemeralContainers"]
        .into_iter()
        .filter_map(move |list| lookup(pod_spec, list).and_then(Value::as_array))
        .flatten()
        .filter(|c| c.is_object())
}

/// A container's name, for messages and discriminators.
pub(crate) fn container_name(container: &Value) -> &str {
    container.get("name").and_then(Value::as_str).unwrap_or("<unnamed>")
}
