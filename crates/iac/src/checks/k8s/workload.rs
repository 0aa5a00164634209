//! Pod and container security context checks.

use palisade_core::Severity;

use super::{container_name, containers, pod_spec, CIS_K8S, WORKLOAD_KINDS};
use crate::checks::{Check, CheckKind, Context, RuleSpec, Violation};
use crate::model::{is_true, lookup, IacResource};

pub(crate) const PRIVILEGED: Check = Check {
    rule: RuleSpec {
        id: "iac.k8s.privileged-container",
        title: "Container runs privileged",
        severity: Severity::High,
        description: "A privileged container has all capabilities and access to the host's devices; escaping to the node is trivial.",
        remediation: "Remove securityContext.privileged or set it to false.",
        references: &["https://kubernetes.io/docs/concepts/security/pod-security-standards/"],
        compliance: &[(CIS_K8S, "5.2.2"), ("SOC 2", "CC6.8")],
        checkov: &["CKV_K8S_16"],
    },
    kind: CheckKind::PerResource {
        kinds: WORKLOAD_KINDS,
        run: privileged,
    },
};

fn privileged(workload: &IacResource, _: &Context) -> Vec<Violation> {
    let Some(spec) = pod_spec(workload) else {
        return Vec::new();
    };
    containers(spec)
        .filter(|c| is_true(lookup(c, "securityContext.privileged")))
        .map(|c| {
            let name = container_name(c);
            Violation::new(format!("container `{name}` runs privileged"))
                .evidence("securityContext.privileged: true")
                .discriminator(name)
        })
        .collect()
}
