//! Namespaces and network exposure: the default namespace, Services that
//! reach outside the cluster, Ingresses without TLS, namespaces without any
//! NetworkPolicy.

use std::collections::HashSet;

use palisade_core::Severity;
use serde_json::Value;

use super::{namespace, object_name, strings, CIS_K8S, ISO27001, SOC2, WORKLOAD_KINDS};
use crate::checks::{Check, CheckKind, Context, RuleSpec, Violation};
use crate::model::{Framework, IacResource};

const NAMESPACES_DOC: &str =
    "https://kubernetes.io/docs/concepts/overview/working-with-objects/namespaces/";
const SERVICE_DOC: &str = "https://kubernetes.io/docs/concepts/services-networking/service/";
const INGRESS_TLS_DOC: &str =
    "https://kubernetes.io/docs/concepts/services-networking/ingress/#tls";
const NETWORK_POLICY_DOC: &str =
    "https://kubernetes.io/docs/concepts/services-networking/network-policies/";

/// Namespaced kinds that should live in a namespace of their own.
const NAMESPACED_KINDS: &[&str] = &[
    "Pod",
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "ReplicationController",
    "Job",
    "CronJob",
    "Service",
    "Ingress",
    "ServiceAccount",
    "Role",
    "RoleBinding",
    "Secret",
    "ConfigMap",
];

pub(crate) const DEFAULT_NAMESPACE: Check = Check {
    rule: RuleSpec {
        id: "iac.k8s.default-namespace",
        title: "Object in the default namespace",
        severity: Severity::Low,
        description: "Objects without a namespace, or in `default`, share one namespace with everything else deployed the same way: RBAC, network policies, quotas and Pod Security admission cannot tell them apart. The `default` ServiceAccount and the `kubernetes` Service, which Kubernetes puts there itself, are exempt.",
        remediation: "Create a namespace per application or team and set metadata.namespace on every object.",
        references: &[NAMESPACES_DOC],
        compliance: &[(CIS_K8S, "5.7.4"), (SOC2, "CC6.1"), (ISO27001, "A.8.22")],
        checkov: &["CKV_K8S_21", "CKV2_K8S_21"],
    },
    kind: CheckKind::PerResource {
        kinds: NAMESPACED_KINDS,
        run: default_namespace,
    },
};

fn default_namespace(resource: &IacResource, _: &Context) -> Vec<Violation> {
    let name = object_name(resource);
    let built_in = matches!(
        (resource.kind.as_str(), name),
        ("ServiceAccount", "default") | ("Service", "kubernetes")
    );
    if built_in || namespace(resource) != "default" {
        return Vec::new();
    }
    let evidence = match resource.get("metadata.namespace").and_then(Value::as_str) {
        Some(ns) => format!("metadata.namespace: {ns}"),
        None => "metadata.namespace not set".to_string(),
    };
    vec![Violation::new(format!(
        "{} `{name}` is in the default namespace",
        resource.kind
    ))
    .evidence(evidence)]
}

/// Annotations cloud providers read to make a LoadBalancer internal, and the
/// value that does it (`None`: any value but "false").
const INTERNAL_LB_ANNOTATIONS: &[(&str, Option<&str>)] = &[
    (
        "service.beta.kubernetes.io/aws-load-balancer-internal",
        None,
    ),
    (
        "service.beta.kubernetes.io/aws-load-balancer-scheme",
        Some("internal"),
    ),
    ("networking.gke.io/load-balancer-type", Some("internal")),
    ("cloud.google.com/load-balancer-type", Some("internal")),
    (
        "service.beta.kubernetes.io/azure-load-balancer-internal",
        Some("true"),
    ),
    (
        "service.beta.kubernetes.io/oci-load-balancer-internal",
        Some("true"),
    ),
    (
        "service.beta.kubernetes.io/openstack-internal-load-balancer",
        Some("true"),
    ),
    (
        "service.kubernetes.io/ibm-load-balancer-cloud-provider-ip-type",
        Some("private"),
    ),
    (
        "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-address-type",
        Some("intranet"),
    ),
];

fn is_internal_load_balancer(service: &IacResource) -> bool {
    let annotations = service.get("metadata.annotations");
    INTERNAL_LB_ANNOTATIONS.iter().any(|(key, wanted)| {
        let Some(value) = annotations.and_then(|a| a.get(*key)) else {
            return false;
        };
        let value = match value {
            Value::String(s) => s.to_ascii_lowercase(),
            other => other.to_string(),
        };
        match wanted {
            Some(wanted) => value == *wanted,
            None => value != "false",
        }
    })
}

fn service_type(service: &IacResource) -> &str {
    service
        .get("spec.type")
        .and_then(Value::as_str)
        .unwrap_or("ClusterIP")
}

pub(crate) const SERVICE_LOAD_BALANCER: Check = Check {
    rule: RuleSpec {
        id: "iac.k8s.service-load-balancer",
        title: "Service exposed through a public load balancer",
        severity: Severity::Medium,
        description: "A Service of type LoadBalancer gets an external load balancer, reachable from the internet unless the provider is told to make it internal or loadBalancerSourceRanges restricts the clients. Every exposed service should be a deliberate choice.",
        remediation: "Use a ClusterIP Service behind an Ingress with TLS and authentication, make the load balancer internal with the provider's annotation, or restrict spec.loadBalancerSourceRanges.",
        references: &[SERVICE_DOC, "https://kubernetes.io/docs/tasks/access-application-cluster/configure-cloud-provider-firewall/"],
        compliance: &[(SOC2, "CC6.6"), (ISO27001, "A.8.20")],
        checkov: &[],
    },
    kind: CheckKind::PerResource {
        kinds: &["Service"],
        run: service_load_balancer,
    },
};

fn service_load_balancer(service: &IacResource, _: &Context) -> Vec<Violation> {
    if service_type(service) != "LoadBalancer" || is_internal_load_balancer(service) {
        return Vec::new();
    }
    let ranges = strings(service.get("spec.loadBalancerSourceRanges"));
    let open = |r: &&str| matches!(r.trim(), "0.0.0.0/0" | "::/0");
    if !ranges.is_empty() && !ranges.iter().any(open) {
        return Vec::new();
    }
    let evidence = if ranges.is_empty() {
        "spec.type: LoadBalancer, no loadBalancerSourceRanges".to_string()
    } else {
        format!(
            "spec.type: LoadBalancer, loadBalancerSourceRanges: [{}]",
            ranges.join(", ")
        )
    };
    vec![Violation::new(format!(
        "Service `{}` is exposed through an external load balancer",
        object_name(service)
    ))
    .evidence(evidence)]
}

pub(crate) const SERVICE_NODE_PORT: Check = Check {
    rule: RuleSpec {
        id: "iac.k8s.service-node-port",
        title: "Service exposed on node ports",
        severity: Severity::Low,
        description: "A NodePort Service opens its port on every node of the cluster, bypassing load balancers and ingress controllers, and reachable by anyone who can reach a node.",
        remediation: "Use a ClusterIP Service behind an Ingress or an internal load balancer; if NodePort is needed, restrict node access with firewall rules.",
        references: &[SERVICE_DOC],
        compliance: &[(SOC2, "CC6.6"), (ISO27001, "A.8.20")],
        checkov: &[],
    },
    kind: CheckKind::PerResource {
        kinds: &["Service"],
        run: service_node_port,
    },
};

fn service_node_port(service: &IacResource, _: &Context) -> Vec<Violation> {
    if service_type(service) != "NodePort" {
        return Vec::new();
    }
    vec![Violation::new(format!(
        "Service `{}` is exposed on every node",
        object_name(service)
    ))
    .evidence("spec.type: NodePort")]
}

/// Whether `host` is covered by a TLS host entry (which may be a `*.` wildcard).
fn host_covered(host: &str, tls_hosts: &[&str]) -> bool {
    tls_hosts.iter().any(|tls| {
        *tls == host
            || tls
                .strip_prefix("*.")
                .is_some_and(|suffix| host.split_once('.').is_some_and(|(_, rest)| rest == suffix))
    })
}

pub(crate) const INGRESS_TLS: Check = Check {
    rule: RuleSpec {
        id: "iac.k8s.ingress-tls",
        title: "Ingress serves without TLS",
        severity: Severity::Medium,
        description: "An Ingress without a tls section (or with hosts no tls entry covers) serves plain HTTP: credentials, session cookies and data cross the network readable and modifiable.",
        remediation: "Add spec.tls with a certificate Secret for every host (cert-manager can issue and renew them), and redirect HTTP to HTTPS.",
        references: &[INGRESS_TLS_DOC],
        compliance: &[(SOC2, "CC6.7"), (ISO27001, "A.8.24")],
        checkov: &[],
    },
    kind: CheckKind::PerResource {
        kinds: &["Ingress"],
        run: ingress_tls,
    },
};

fn ingress_tls(ingress: &IacResource, _: &Context) -> Vec<Violation> {
    let name = object_name(ingress);
    let tls: Vec<&Value> = ingress
        .get("spec.tls")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|t| t.is_object())
        .collect();
    if tls.is_empty() {
        return vec![
            Violation::new(format!("Ingress `{name}` has no TLS configuration"))
                .evidence("spec.tls not set"),
        ];
    }
    let tls_hosts: Vec<&str> = tls.iter().flat_map(|t| strings(t.get("hosts"))).collect();
    // A tls entry without hosts applies the certificate to every host.
    if tls.iter().any(|t| strings(t.get("hosts")).is_empty()) {
        return Vec::new();
    }
    let mut seen = HashSet::new();
    ingress
        .get("spec.rules")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| r.get("host").and_then(Value::as_str))
        .filter(|host| !host_covered(host, &tls_hosts) && seen.insert(*host))
        .map(|host| {
            Violation::new(format!("Ingress `{name}` serves host `{host}` without TLS"))
                .evidence(format!("rules[].host: {host} not in spec.tls[].hosts"))
                .discriminator(host)
        })
        .collect()
}

/// Policy kinds that cover the namespace they live in.
const NETWORK_POLICY_KINDS: &[&str] = &["NetworkPolicy", "CiliumNetworkPolicy"];
/// Policy kinds that cover every namespace.
const CLUSTER_NETWORK_POLICY_KINDS: &[&str] = &[
    "CiliumClusterwideNetworkPolicy",
    "GlobalNetworkPolicy",
    "AdminNetworkPolicy",
    "BaselineAdminNetworkPolicy",
];

pub(crate) const NAMESPACE_NETWORK_POLICY: Check = Check {
    rule: RuleSpec {
        id: "iac.k8s.namespace-network-policy",
        title: "Namespace has workloads but no NetworkPolicy",
        severity: Severity::Medium,
        description: "Pods in a namespace that no NetworkPolicy selects accept traffic from, and send it to, any pod in the cluster: one compromised pod can reach every database and internal API. Reported once per namespace of the scan that has workloads and no NetworkPolicy, on its first workload.",
        remediation: "Add a default-deny NetworkPolicy to the namespace and allow the flows each application needs.",
        references: &[NETWORK_POLICY_DOC],
        compliance: &[(CIS_K8S, "5.3.2"), (SOC2, "CC6.6"), (ISO27001, "A.8.22")],
        checkov: &["CKV2_K8S_6"],
    },
    kind: CheckKind::Set(namespace_network_policy),
};

fn namespace_network_policy(context: &Context) -> Vec<(usize, Violation)> {
    if CLUSTER_NETWORK_POLICY_KINDS
        .iter()
        .any(|kind| context.of_kind(kind).next().is_some())
    {
        return Vec::new();
    }
    let mut covered: HashSet<&str> = NETWORK_POLICY_KINDS
        .iter()
        .flat_map(|kind| context.of_kind(kind))
        .map(|(_, policy)| namespace(policy))
        .collect();
    context
        .resources
        .iter()
        .enumerate()
        .filter(|(_, r)| {
            r.framework == Framework::Kubernetes && WORKLOAD_KINDS.contains(&r.kind.as_str())
        })
        .filter_map(|(index, workload)| {
            let ns = namespace(workload);
            // Inserting marks the namespace reported, so each is reported once.
            covered.insert(ns).then(|| {
                let violation = Violation::new(format!(
                    "namespace `{ns}` has workloads but no NetworkPolicy"
                ))
                .evidence(format!(
                    "no NetworkPolicy in namespace {ns} (first workload: {} `{}`)",
                    workload.kind,
                    object_name(workload)
                ))
                .subject("Namespace", ns);
                (index, violation)
            })
        })
        .collect()
}
