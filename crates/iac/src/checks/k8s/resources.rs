//! Resource requests and limits, and health probes.

use palisade_core::Severity;
use serde_json::Value;

use super::{
    each_container, Issue, APP_CONTAINERS, ISO27001, RUNNING_CONTAINERS, SOC2, WORKLOAD_KINDS,
};
use crate::checks::{Check, CheckKind, Context, RuleSpec, Violation};
use crate::model::{lookup, IacResource};

const RESOURCES_DOC: &str =
    "https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/";
const PROBES_DOC: &str = "https://kubernetes.io/docs/tasks/configure-pod-container/configure-liveness-readiness-startup-probes/";

/// Flags containers without `resources.<section>.<resource>` (a missing, null or empty value).
fn missing_resource(workload: &IacResource, section: &str, resource: &str) -> Vec<Violation> {
    let path = format!("resources.{section}.{resource}");
    let singular = section.trim_end_matches('s');
    each_container(workload, RUNNING_CONTAINERS, |_, c| {
        let set = lookup(c, &path).is_some_and(|v| match v {
            Value::Null => false,
            Value::String(s) => !s.trim().is_empty(),
            _ => true,
        });
        if set {
            return None;
        }
        Issue::new(
            format!("has no {resource} {singular}"),
            format!("{path} not set"),
        )
    })
}

pub(crate) const CPU_LIMITS: Check = Check {
    rule: RuleSpec {
        id: "iac.k8s.cpu-limits",
        title: "Container has no CPU limit",
        severity: Severity::Low,
        description: "Without a CPU limit a container can take all the CPU of its node, starving its neighbours: a compromised or runaway pod becomes a denial of service.",
        remediation: "Set resources.limits.cpu on every container (or a LimitRange default for the namespace).",
        references: &[RESOURCES_DOC, "https://kubernetes.io/docs/concepts/policy/limit-range/"],
        compliance: &[(SOC2, "A1.1"), (ISO27001, "A.8.6")],
        checkov: &["CKV_K8S_11"],
    },
    kind: CheckKind::PerResource {
        kinds: WORKLOAD_KINDS,
        run: |w, _| missing_resource(w, "limits", "cpu"),
    },
};

pub(crate) const MEMORY_LIMITS: Check = Check {
    rule: RuleSpec {
        id: "iac.k8s.memory-limits",
        title: "Container has no memory limit",
        severity: Severity::Medium,
        description: "Without a memory limit a container can consume all the memory of its node, triggering the out-of-memory killer on other pods and system daemons.",
        remediation: "Set resources.limits.memory on every container (or a LimitRange default for the namespace).",
        references: &[RESOURCES_DOC, "https://kubernetes.io/docs/concepts/policy/limit-range/"],
        compliance: &[(SOC2, "A1.1"), (ISO27001, "A.8.6")],
        checkov: &["CKV_K8S_13"],
    },
    kind: CheckKind::PerResource {
        kinds: WORKLOAD_KINDS,
        run: |w, _| missing_resource(w, "limits", "memory"),
    },
};

pub(crate) const CPU_REQUESTS: Check = Check {
    rule: RuleSpec {
        id: "iac.k8s.cpu-requests",
        title: "Container has no CPU request",
        severity: Severity::Low,
        description: "Without a CPU request the scheduler cannot place the pod on a node with enough capacity and the pod is the first to be throttled under contention.",
        remediation: "Set resources.requests.cpu on every container.",
        references: &[RESOURCES_DOC],
        compliance: &[(SOC2, "A1.1"), (ISO27001, "A.8.6")],
        checkov: &["CKV_K8S_10"],
    },
    kind: CheckKind::PerResource {
        kinds: WORKLOAD_KINDS,
        run: |w, _| missing_resource(w, "requests", "cpu"),
    },
};

pub(crate) const MEMORY_REQUESTS: Check = Check {
    rule: RuleSpec {
        id: "iac.k8s.memory-requests",
        title: "Container has no memory request",
        severity: Severity::Low,
        description: "Without a memory request the scheduler may overcommit the node and the pod is among the first evicted under memory pressure.",
        remediation: "Set resources.requests.memory on every container.",
        references: &[RESOURCES_DOC],
        compliance: &[(SOC2, "A1.1"), (ISO27001, "A.8.6")],
        checkov: &["CKV_K8S_12"],
    },
    kind: CheckKind::PerResource {
        kinds: WORKLOAD_KINDS,
        run: |w, _| missing_resource(w, "requests", "memory"),
    },
};

/// Flags long-running containers without a probe. Jobs run to completion,
/// so their containers need none.
fn missing_probe(workload: &IacResource, probe: &str) -> Vec<Violation> {
    if matches!(workload.kind.as_str(), "Job" | "CronJob") {
        return Vec::new();
    }
    each_container(workload, APP_CONTAINERS, |_, c| {
        if c.get(probe).is_some_and(|p| !p.is_null()) {
            return None;
        }
        Issue::new(format!("has no {probe}"), format!("{probe} not set"))
    })
}

pub(crate) const LIVENESS_PROBE: Check = Check {
    rule: RuleSpec {
        id: "iac.k8s.liveness-probe",
        title: "Container has no liveness probe",
        severity: Severity::Low,
        description: "Without a liveness probe Kubernetes cannot tell that a container has hung and will not restart it; the service stays degraded until someone notices.",
        remediation: "Add a livenessProbe (HTTP, TCP, gRPC or exec) to every long-running container.",
        references: &[PROBES_DOC],
        compliance: &[(SOC2, "CC7.2"), (ISO27001, "A.8.16")],
        checkov: &["CKV_K8S_8"],
    },
    kind: CheckKind::PerResource {
        kinds: WORKLOAD_KINDS,
        run: |w, _: &Context| missing_probe(w, "livenessProbe"),
    },
};

pub(crate) const READINESS_PROBE: Check = Check {
    rule: RuleSpec {
        id: "iac.k8s.readiness-probe",
        title: "Container has no readiness probe",
        severity: Severity::Low,
        description: "Without a readiness probe a container receives traffic as soon as it starts and keeps receiving it when it cannot serve, causing errors during rollouts and incidents.",
        remediation: "Add a readinessProbe to every long-running container that serves traffic.",
        references: &[PROBES_DOC],
        compliance: &[(SOC2, "CC7.2"), (ISO27001, "A.8.16")],
        checkov: &["CKV_K8S_9"],
    },
    kind: CheckKind::PerResource {
        kinds: WORKLOAD_KINDS,
        run: |w, _: &Context| missing_probe(w, "readinessProbe"),
    },
};
