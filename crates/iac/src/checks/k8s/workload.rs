//! Pod and container security context checks: privilege, host namespaces,
//! host paths and ports, capabilities, users, seccomp, sysctls.

use palisade_core::Severity;
use serde_json::Value;

use super::{
    as_i64, container_name, containers, each_container, effective_setting, pod_metadata, pod_spec,
    show, strings, Issue, ALL_CONTAINERS, CIS_K8S, ISO27001, PSS, RUNNING_CONTAINERS,
    SECURITY_CONTEXT, SOC2, WORKLOAD_KINDS,
};
use crate::checks::{Check, CheckKind, Context, RuleSpec, Violation};
use crate::model::{is_false, is_true, lookup, IacResource};

const LINUX_CAPABILITIES: &str = "https://man7.org/linux/man-pages/man7/capabilities.7.html";

pub(crate) const PRIVILEGED: Check = Check {
    rule: RuleSpec {
        id: "iac.k8s.privileged-container",
        title: "Container runs privileged",
        severity: Severity::High,
        description: "A privileged container has all capabilities and access to the host's devices; escaping to the node is trivial.",
        remediation: "Remove securityContext.privileged or set it to false.",
        references: &[PSS, SECURITY_CONTEXT],
        compliance: &[(CIS_K8S, "5.2.2"), (SOC2, "CC6.8"), (ISO27001, "A.8.2")],
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

pub(crate) const ALLOW_PRIVILEGE_ESCALATION: Check = Check {
    rule: RuleSpec {
        id: "iac.k8s.allow-privilege-escalation",
        title: "Container allows privilege escalation",
        severity: Severity::Medium,
        description: "Unless allowPrivilegeEscalation is false, a process in the container can gain more privileges than its parent (setuid binaries, file capabilities); the default is to allow it. The Restricted Pod Security Standard requires false.",
        remediation: "Set securityContext.allowPrivilegeEscalation: false on every container.",
        references: &[PSS, SECURITY_CONTEXT],
        compliance: &[(CIS_K8S, "5.2.6"), (SOC2, "CC6.8"), (ISO27001, "A.8.2")],
        checkov: &["CKV_K8S_20"],
    },
    kind: CheckKind::PerResource {
        kinds: WORKLOAD_KINDS,
        run: allow_privilege_escalation,
    },
};

fn allow_privilege_escalation(workload: &IacResource, _: &Context) -> Vec<Violation> {
    each_container(workload, ALL_CONTAINERS, |_, c| {
        let value = lookup(c, "securityContext.allowPrivilegeEscalation");
        if is_false(value) {
            return None;
        }
        let evidence = match value {
            Some(v) => format!("securityContext.allowPrivilegeEscalation: {}", show(v)),
            None => "securityContext.allowPrivilegeEscalation not set (defaults to true)".into(),
        };
        Issue::new("allows privilege escalation", evidence)
    })
}

pub(crate) const RUN_AS_ROOT: Check = Check {
    rule: RuleSpec {
        id: "iac.k8s.run-as-root",
        title: "Container may run as root",
        severity: Severity::Medium,
        description: "A container runs as root unless runAsNonRoot is true or runAsUser is a non-zero UID, at container level or inherited from the pod (the container's setting overrides the pod's). Root in a container is root on the node after any escape, and owns every file the container can reach.",
        remediation: "Set securityContext.runAsNonRoot: true and a non-zero runAsUser at pod level (or on each container), and build images with a non-root USER.",
        references: &[PSS, SECURITY_CONTEXT],
        compliance: &[(CIS_K8S, "5.2.7"), (SOC2, "CC6.8"), (ISO27001, "A.8.2")],
        checkov: &["CKV_K8S_23"],
    },
    kind: CheckKind::PerResource {
        kinds: WORKLOAD_KINDS,
        run: run_as_root,
    },
};

fn run_as_root(workload: &IacResource, _: &Context) -> Vec<Violation> {
    each_container(workload, RUNNING_CONTAINERS, |spec, c| {
        let user = effective_setting(spec, c, "runAsUser");
        let non_root = effective_setting(spec, c, "runAsNonRoot");
        if let Some((uid, level)) = user {
            if as_i64(uid) == Some(0) {
                return Issue::new(
                    "runs as root",
                    format!("{level} securityContext.runAsUser: 0"),
                );
            }
        }
        let non_root_set = non_root.is_some_and(|(v, _)| is_true(Some(v)));
        let user_set = user.is_some_and(|(v, _)| as_i64(v).is_some_and(|uid| uid > 0));
        if non_root_set || user_set {
            return None;
        }
        let evidence = match non_root {
            Some((v, level)) => format!("{level} securityContext.runAsNonRoot: {}", show(v)),
            None => "neither runAsNonRoot: true nor a non-zero runAsUser is set".into(),
        };
        Issue::new("may run as root", evidence)
    })
}

pub(crate) const RUN_AS_LOW_UID: Check = Check {
    rule: RuleSpec {
        id: "iac.k8s.run-as-low-uid",
        title: "Container does not run as a high UID",
        severity: Severity::Low,
        description: "UIDs below 10000 may coincide with users on the node; after an escape the process would act as that host user. Running as a UID of 10000 or more avoids the overlap.",
        remediation: "Set securityContext.runAsUser to a UID of 10000 or more at pod or container level.",
        references: &[SECURITY_CONTEXT],
        compliance: &[(SOC2, "CC6.8"), (ISO27001, "A.8.9")],
        checkov: &["CKV_K8S_40"],
    },
    kind: CheckKind::PerResource {
        kinds: WORKLOAD_KINDS,
        run: run_as_low_uid,
    },
};

fn run_as_low_uid(workload: &IacResource, _: &Context) -> Vec<Violation> {
    each_container(
        workload,
        RUNNING_CONTAINERS,
        |spec, c| match effective_setting(spec, c, "runAsUser") {
            Some((uid, _)) if as_i64(uid).is_some_and(|uid| uid >= 10000) => None,
            Some((uid, level)) => Issue::new(
                "runs with a UID below 10000",
                format!("{level} securityContext.runAsUser: {}", show(uid)),
            ),
            None => Issue::new("runs with the image's default UID", "runAsUser not set"),
        },
    )
}

/// A pod-level boolean that must not be true (hostNetwork, hostPID, hostIPC).
fn pod_flag(workload: &IacResource, key: &str, what: &str) -> Vec<Violation> {
    match pod_spec(workload) {
        Some(spec) if is_true(spec.get(key)) => {
            vec![Violation::new(format!("pod {what}")).evidence(format!("{key}: true"))]
        }
        _ => Vec::new(),
    }
}

pub(crate) const HOST_NETWORK: Check = Check {
    rule: RuleSpec {
        id: "iac.k8s.host-network",
        title: "Pod shares the host network namespace",
        severity: Severity::High,
        description: "With hostNetwork the pod sees every interface of the node, can sniff its traffic, bind its ports and reach services listening on localhost, bypassing network policies.",
        remediation: "Remove hostNetwork or set it to false; expose ports through a Service instead.",
        references: &[PSS],
        compliance: &[(CIS_K8S, "5.2.5"), (SOC2, "CC6.6"), (ISO27001, "A.8.22")],
        checkov: &["CKV_K8S_19"],
    },
    kind: CheckKind::PerResource {
        kinds: WORKLOAD_KINDS,
        run: |w, _| pod_flag(w, "hostNetwork", "shares the host network namespace"),
    },
};

pub(crate) const HOST_PID: Check = Check {
    rule: RuleSpec {
        id: "iac.k8s.host-pid",
        title: "Pod shares the host process ID namespace",
        severity: Severity::High,
        description: "With hostPID the pod sees every process on the node, can read their environment and, with ptrace, inject into them.",
        remediation: "Remove hostPID or set it to false.",
        references: &[PSS],
        compliance: &[(CIS_K8S, "5.2.3"), (SOC2, "CC6.8"), (ISO27001, "A.8.2")],
        checkov: &["CKV_K8S_17"],
    },
    kind: CheckKind::PerResource {
        kinds: WORKLOAD_KINDS,
        run: |w, _| pod_flag(w, "hostPID", "shares the host process ID namespace"),
    },
};

pub(crate) const HOST_IPC: Check = Check {
    rule: RuleSpec {
        id: "iac.k8s.host-ipc",
        title: "Pod shares the host IPC namespace",
        severity: Severity::High,
        description: "With hostIPC the pod can read and write the shared memory and message queues of every process on the node.",
        remediation: "Remove hostIPC or set it to false.",
        references: &[PSS],
        compliance: &[(CIS_K8S, "5.2.4"), (SOC2, "CC6.8"), (ISO27001, "A.8.2")],
        checkov: &["CKV_K8S_18"],
    },
    kind: CheckKind::PerResource {
        kinds: WORKLOAD_KINDS,
        run: |w, _| pod_flag(w, "hostIPC", "shares the host IPC namespace"),
    },
};

/// Each hostPath volume of a workload, with its volume name and path.
fn host_path_volumes(workload: &IacResource) -> Vec<(&str, &str)> {
    let Some(spec) = pod_spec(workload) else {
        return Vec::new();
    };
    spec.get("volumes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| {
            let host_path = v.get("hostPath").filter(|h| h.is_object())?;
            let name = v.get("name").and_then(Value::as_str).unwrap_or("<unnamed>");
            Some((
                name,
                host_path.get("path").and_then(Value::as_str).unwrap_or(""),
            ))
        })
        .collect()
}

pub(crate) const HOST_PATH_VOLUME: Check = Check {
    rule: RuleSpec {
        id: "iac.k8s.host-path-volume",
        title: "Pod mounts a hostPath volume",
        severity: Severity::Medium,
        description: "A hostPath volume exposes part of the node's filesystem to the pod: credentials, logs of other pods, runtime sockets or, written to, a path to the node itself. The Baseline Pod Security Standard forbids hostPath volumes.",
        remediation: "Use emptyDir, a ConfigMap/Secret, or a PersistentVolumeClaim instead; if a host path is unavoidable, mount it readOnly and as narrowly as possible.",
        references: &[PSS, "https://kubernetes.io/docs/concepts/storage/volumes/#hostpath"],
        compliance: &[(CIS_K8S, "5.2.12"), (SOC2, "CC6.8"), (ISO27001, "A.8.9")],
        checkov: &[],
    },
    kind: CheckKind::PerResource {
        kinds: WORKLOAD_KINDS,
        run: host_path_volume,
    },
};

fn host_path_volume(workload: &IacResource, _: &Context) -> Vec<Violation> {
    host_path_volumes(workload)
        .into_iter()
        .map(|(name, path)| {
            Violation::new(format!("volume `{name}` mounts host path `{path}`"))
                .evidence(format!("volumes[{name}].hostPath.path: {path}"))
                .discriminator(name)
        })
        .collect()
}

/// Container runtime sockets: whoever can reach one controls every container on the node.
const RUNTIME_SOCKETS: &[&str] = &[
    "docker.sock",
    "containerd.sock",
    "crio.sock",
    "cri-dockerd.sock",
];

pub(crate) const RUNTIME_SOCKET_MOUNT: Check = Check {
    rule: RuleSpec {
        id: "iac.k8s.runtime-socket-mount",
        title: "Container runtime socket mounted into a pod",
        severity: Severity::Critical,
        description: "Mounting the Docker, containerd or CRI-O socket lets the pod start privileged containers on the node: full node compromise. Mounting it read-only does not help.",
        remediation: "Remove the hostPath volume for the runtime socket; build images with a rootless builder (BuildKit rootless, kaniko) instead.",
        references: &[PSS, "https://kubernetes.io/docs/concepts/storage/volumes/#hostpath"],
        compliance: &[(CIS_K8S, "5.2.12"), (SOC2, "CC6.8"), (ISO27001, "A.8.2")],
        checkov: &["CKV_K8S_27"],
    },
    kind: CheckKind::PerResource {
        kinds: WORKLOAD_KINDS,
        run: runtime_socket_mount,
    },
};

fn runtime_socket_mount(workload: &IacResource, _: &Context) -> Vec<Violation> {
    host_path_volumes(workload)
        .into_iter()
        .filter(|(_, path)| {
            let path = path.trim_end_matches('/');
            RUNTIME_SOCKETS.iter().any(|socket| path.ends_with(socket))
        })
        .map(|(name, path)| {
            Violation::new(format!(
                "volume `{name}` mounts the container runtime socket `{path}`"
            ))
            .evidence(format!("volumes[{name}].hostPath.path: {path}"))
            .discriminator(name)
        })
        .collect()
}

pub(crate) const HOST_PORT: Check = Check {
    rule: RuleSpec {
        id: "iac.k8s.host-port",
        title: "Container binds a host port",
        severity: Severity::Medium,
        description: "A hostPort opens the port on the node's own interfaces, bypassing Services and most network policies, and ties the pod to nodes where the port is free.",
        remediation: "Remove ports[].hostPort and expose the container through a Service.",
        references: &[PSS, "https://kubernetes.io/docs/concepts/configuration/overview/#services"],
        compliance: &[(CIS_K8S, "5.2.13"), (SOC2, "CC6.6"), (ISO27001, "A.8.20")],
        checkov: &["CKV_K8S_26"],
    },
    kind: CheckKind::PerResource {
        kinds: WORKLOAD_KINDS,
        run: host_port,
    },
};

fn host_port(workload: &IacResource, _: &Context) -> Vec<Violation> {
    each_container(workload, RUNNING_CONTAINERS, |_, c| {
        let ports: Vec<String> = c
            .get("ports")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|p| p.get("hostPort"))
            .filter(|p| as_i64(p) != Some(0))
            .map(show)
            .collect();
        if ports.is_empty() {
            return None;
        }
        Issue::new(
            "binds a host port",
            format!("ports[].hostPort: {}", ports.join(", ")),
        )
    })
}

/// A capability name as written (`CAP_SYS_ADMIN`, `sys_admin`) in canonical form (`SYS_ADMIN`).
fn normalize_capability(cap: &str) -> String {
    let upper = cap.trim().to_ascii_uppercase();
    upper
        .strip_prefix("CAP_")
        .map(str::to_string)
        .unwrap_or(upper)
}

/// The container's `securityContext.capabilities.<list>` (`add` or `drop`), canonical.
fn capabilities(container: &Value, list: &str) -> Vec<String> {
    strings(lookup(
        container,
        &format!("securityContext.capabilities.{list}"),
    ))
    .into_iter()
    .map(normalize_capability)
    .collect()
}

pub(crate) const SYS_ADMIN_CAPABILITY: Check = Check {
    rule: RuleSpec {
        id: "iac.k8s.sys-admin-capability",
        title: "Container adds the SYS_ADMIN capability",
        severity: Severity::High,
        description: "CAP_SYS_ADMIN is nearly equivalent to root on the node: it allows mounting filesystems, many namespace operations and a long list of known container escapes.",
        remediation: "Remove SYS_ADMIN from securityContext.capabilities.add; grant only the specific capability the workload needs.",
        references: &[PSS, SECURITY_CONTEXT, LINUX_CAPABILITIES],
        compliance: &[(CIS_K8S, "5.2.9"), (SOC2, "CC6.8"), (ISO27001, "A.8.2")],
        checkov: &["CKV_K8S_39"],
    },
    kind: CheckKind::PerResource {
        kinds: WORKLOAD_KINDS,
        run: sys_admin_capability,
    },
};

fn sys_admin_capability(workload: &IacResource, _: &Context) -> Vec<Violation> {
    each_container(workload, ALL_CONTAINERS, |_, c| {
        if !capabilities(c, "add").iter().any(|cap| cap == "SYS_ADMIN") {
            return None;
        }
        Issue::new(
            "adds CAP_SYS_ADMIN",
            "securityContext.capabilities.add: SYS_ADMIN",
        )
    })
}

/// Capabilities that give a container power over the node or its neighbours
/// (SYS_ADMIN has its own rule).
const DANGEROUS_CAPABILITIES_LIST: &[&str] = &[
    "ALL",
    "NET_ADMIN",
    "SYS_PTRACE",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_BOOT",
    "SYS_TIME",
    "SYS_RESOURCE",
    "DAC_READ_SEARCH",
    "BPF",
    "PERFMON",
    "MAC_ADMIN",
    "MAC_OVERRIDE",
    "SYSLOG",
    "LINUX_IMMUTABLE",
];

pub(crate) const DANGEROUS_CAPABILITIES: Check = Check {
    rule: RuleSpec {
        id: "iac.k8s.dangerous-capabilities",
        title: "Container adds a dangerous capability",
        severity: Severity::High,
        description: "Capabilities such as ALL, NET_ADMIN, SYS_PTRACE, SYS_MODULE, SYS_RAWIO, DAC_READ_SEARCH or BPF let a container reconfigure the node's network, read other processes' memory, load kernel modules or read any file; all are outside the Baseline Pod Security Standard.",
        remediation: "Remove the capability from securityContext.capabilities.add, or move the privileged function out of the application container.",
        references: &[PSS, SECURITY_CONTEXT, LINUX_CAPABILITIES],
        compliance: &[(CIS_K8S, "5.2.9"), (SOC2, "CC6.8"), (ISO27001, "A.8.2")],
        checkov: &[],
    },
    kind: CheckKind::PerResource {
        kinds: WORKLOAD_KINDS,
        run: dangerous_capabilities,
    },
};

fn dangerous_capabilities(workload: &IacResource, _: &Context) -> Vec<Violation> {
    each_container(workload, ALL_CONTAINERS, |_, c| {
        let found: Vec<String> = capabilities(c, "add")
            .into_iter()
            .filter(|cap| DANGEROUS_CAPABILITIES_LIST.contains(&cap.as_str()))
            .collect();
        if found.is_empty() {
            return None;
        }
        Issue::new(
            format!("adds dangerous capabilities {}", found.join(", ")),
            format!("securityContext.capabilities.add: [{}]", found.join(", ")),
        )
    })
}

pub(crate) const ADDED_CAPABILITIES: Check = Check {
    rule: RuleSpec {
        id: "iac.k8s.added-capabilities",
        title: "Container adds Linux capabilities",
        severity: Severity::Low,
        description: "Every capability added beyond the runtime's default set widens what a compromised process can do. The Restricted Pod Security Standard allows adding only NET_BIND_SERVICE.",
        remediation: "Remove securityContext.capabilities.add, or reduce it to NET_BIND_SERVICE.",
        references: &[PSS, SECURITY_CONTEXT, LINUX_CAPABILITIES],
        compliance: &[(CIS_K8S, "5.2.9"), (SOC2, "CC6.8"), (ISO27001, "A.8.2")],
        checkov: &["CKV_K8S_25"],
    },
    kind: CheckKind::PerResource {
        kinds: WORKLOAD_KINDS,
        run: added_capabilities,
    },
};

fn added_capabilities(workload: &IacResource, _: &Context) -> Vec<Violation> {
    each_container(workload, ALL_CONTAINERS, |_, c| {
        let added: Vec<String> = capabilities(c, "add")
            .into_iter()
            .filter(|cap| cap != "NET_BIND_SERVICE")
            .collect();
        if added.is_empty() {
            return None;
        }
        Issue::new(
            format!("adds capabilities {}", added.join(", ")),
            format!("securityContext.capabilities.add: [{}]", added.join(", ")),
        )
    })
}

pub(crate) const CAPABILITIES_NOT_DROPPED: Check = Check {
    rule: RuleSpec {
        id: "iac.k8s.capabilities-not-dropped",
        title: "Container does not drop all capabilities",
        severity: Severity::Low,
        description: "Containers start with the runtime's default capability set (CHOWN, DAC_OVERRIDE, SETUID, NET_RAW...). The Restricted Pod Security Standard requires dropping ALL and adding back only what is needed.",
        remediation: "Set securityContext.capabilities.drop: [\"ALL\"] and add back only required capabilities.",
        references: &[PSS, SECURITY_CONTEXT, LINUX_CAPABILITIES],
        compliance: &[(CIS_K8S, "5.2.10"), (SOC2, "CC6.8"), (ISO27001, "A.8.9")],
        checkov: &["CKV_K8S_37"],
    },
    kind: CheckKind::PerResource {
        kinds: WORKLOAD_KINDS,
        run: capabilities_not_dropped,
    },
};

fn capabilities_not_dropped(workload: &IacResource, _: &Context) -> Vec<Violation> {
    each_container(workload, ALL_CONTAINERS, |_, c| {
        let dropped = capabilities(c, "drop");
        if dropped.iter().any(|cap| cap == "ALL") {
            return None;
        }
        Issue::new(
            "does not drop all capabilities",
            format!(
                "securityContext.capabilities.drop: [{}]",
                dropped.join(", ")
            ),
        )
    })
}

pub(crate) const NET_RAW_NOT_DROPPED: Check = Check {
    rule: RuleSpec {
        id: "iac.k8s.net-raw-capability",
        title: "Container keeps the NET_RAW capability",
        severity: Severity::Medium,
        description: "NET_RAW, in the default capability set of most runtimes, lets a process craft raw packets: ARP and DNS spoofing of neighbouring pods, and it has enabled several kernel exploits.",
        remediation: "Set securityContext.capabilities.drop to [\"ALL\"] (or at least [\"NET_RAW\"]) and do not add it back.",
        references: &[PSS, SECURITY_CONTEXT, LINUX_CAPABILITIES],
        compliance: &[(CIS_K8S, "5.2.8"), (SOC2, "CC6.8"), (ISO27001, "A.8.20")],
        checkov: &["CKV_K8S_28"],
    },
    kind: CheckKind::PerResource {
        kinds: WORKLOAD_KINDS,
        run: net_raw_not_dropped,
    },
};

fn net_raw_not_dropped(workload: &IacResource, _: &Context) -> Vec<Violation> {
    each_container(workload, ALL_CONTAINERS, |_, c| {
        let added = capabilities(c, "add");
        if let Some(cap) = added.iter().find(|cap| *cap == "NET_RAW" || *cap == "ALL") {
            return Issue::new(
                "adds the NET_RAW capability",
                format!("securityContext.capabilities.add: {cap}"),
            );
        }
        let dropped = capabilities(c, "drop");
        if dropped.iter().any(|cap| cap == "ALL" || cap == "NET_RAW") {
            return None;
        }
        Issue::new(
            "does not drop the NET_RAW capability",
            format!(
                "securityContext.capabilities.drop: [{}]",
                dropped.join(", ")
            ),
        )
    })
}

pub(crate) const READ_ONLY_ROOT_FILESYSTEM: Check = Check {
    rule: RuleSpec {
        id: "iac.k8s.read-only-root-filesystem",
        title: "Container root filesystem is writable",
        severity: Severity::Low,
        description: "A writable root filesystem lets an attacker drop tools and modify binaries or configuration inside the container; an immutable one makes persistence and tampering much harder.",
        remediation: "Set securityContext.readOnlyRootFilesystem: true and mount emptyDir volumes for the paths the application writes.",
        references: &[SECURITY_CONTEXT],
        compliance: &[(SOC2, "CC6.8"), (ISO27001, "A.8.9")],
        checkov: &["CKV_K8S_22"],
    },
    kind: CheckKind::PerResource {
        kinds: WORKLOAD_KINDS,
        run: read_only_root_filesystem,
    },
};

fn read_only_root_filesystem(workload: &IacResource, _: &Context) -> Vec<Violation> {
    each_container(workload, RUNNING_CONTAINERS, |_, c| {
        let value = lookup(c, "securityContext.readOnlyRootFilesystem");
        if is_true(value) {
            return None;
        }
        let evidence = match value {
            Some(v) => format!("securityContext.readOnlyRootFilesystem: {}", show(v)),
            None => "securityContext.readOnlyRootFilesystem not set".into(),
        };
        Issue::new("has a writable root filesystem", evidence)
    })
}

const SECCOMP_POD_ANNOTATION: &str = "seccomp.security.alpha.kubernetes.io/pod";
const SECCOMP_CONTAINER_ANNOTATION: &str = "container.seccomp.security.alpha.kubernetes.io/";

/// Whether a seccomp annotation value confines the container.
fn annotation_confines(value: &str) -> bool {
    value == "runtime/default" || value == "docker/default" || value.starts_with("localhost/")
}

pub(crate) const SECCOMP_PROFILE: Check = Check {
    rule: RuleSpec {
        id: "iac.k8s.seccomp-profile",
        title: "Container runs without a seccomp profile",
        severity: Severity::Medium,
        description: "Without a seccomp profile (RuntimeDefault or a Localhost profile) a container can make every system call, including the rarely used ones most kernel exploits need. Kubernetes runs containers Unconfined unless told otherwise. The profile is read from the container's securityContext.seccompProfile, then the pod's, then the legacy seccomp annotations.",
        remediation: "Set securityContext.seccompProfile.type: RuntimeDefault at pod level (or Localhost with a reviewed profile).",
        references: &[PSS, "https://kubernetes.io/docs/tutorials/security/seccomp/"],
        compliance: &[(CIS_K8S, "5.7.2"), (SOC2, "CC6.8"), (ISO27001, "A.8.9")],
        checkov: &["CKV_K8S_31"],
    },
    kind: CheckKind::PerResource {
        kinds: WORKLOAD_KINDS,
        run: seccomp_profile,
    },
};

fn seccomp_profile(workload: &IacResource, _: &Context) -> Vec<Violation> {
    let annotations = pod_metadata(workload).and_then(|m| m.get("annotations"));
    let annotation = |key: &str| annotations.and_then(|a| a.get(key)).and_then(Value::as_str);
    each_container(workload, ALL_CONTAINERS, |spec, c| {
        if let Some((profile, level)) = effective_setting(spec, c, "seccompProfile") {
            let kind = profile.get("type").and_then(Value::as_str).unwrap_or("");
            if kind == "RuntimeDefault" || kind == "Localhost" {
                return None;
            }
            return Issue::new(
                format!("runs with seccomp profile `{kind}`"),
                format!("{level} securityContext.seccompProfile.type: {kind}"),
            );
        }
        let own_key = format!("{SECCOMP_CONTAINER_ANNOTATION}{}", container_name(c));
        for key in [own_key.as_str(), SECCOMP_POD_ANNOTATION] {
            if let Some(value) = annotation(key) {
                if annotation_confines(value) {
                    return None;
                }
                return Issue::new(
                    format!("runs with seccomp profile `{value}`"),
                    format!("annotation {key}: {value}"),
                );
            }
        }
        Issue::new(
            "runs without a seccomp profile",
            "securityContext.seccompProfile not set",
        )
    })
}

pub(crate) const PROC_MOUNT_UNMASKED: Check = Check {
    rule: RuleSpec {
        id: "iac.k8s.proc-mount-unmasked",
        title: "Container uses an unmasked /proc",
        severity: Severity::High,
        description: "procMount: Unmasked removes the masking of sensitive /proc and /sys paths that the runtime applies by default, exposing kernel and host information and write access to some of it. The Baseline Pod Security Standard requires the Default proc mount.",
        remediation: "Remove securityContext.procMount or set it to Default.",
        references: &[PSS, SECURITY_CONTEXT],
        compliance: &[(SOC2, "CC6.8"), (ISO27001, "A.8.9")],
        checkov: &[],
    },
    kind: CheckKind::PerResource {
        kinds: WORKLOAD_KINDS,
        run: proc_mount_unmasked,
    },
};

fn proc_mount_unmasked(workload: &IacResource, _: &Context) -> Vec<Violation> {
    each_container(workload, ALL_CONTAINERS, |_, c| {
        let mount = lookup(c, "securityContext.procMount").and_then(Value::as_str)?;
        if !mount.eq_ignore_ascii_case("Unmasked") {
            return None;
        }
        Issue::new(
            "uses an unmasked /proc",
            format!("securityContext.procMount: {mount}"),
        )
    })
}

/// Sysctls the Baseline Pod Security Standard allows: namespaced, and unable
/// to affect other pods on the node.
const SAFE_SYSCTLS: &[&str] = &[
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
];

pub(crate) const UNSAFE_SYSCTLS: Check = Check {
    rule: RuleSpec {
        id: "iac.k8s.unsafe-sysctls",
        title: "Pod sets an unsafe sysctl",
        severity: Severity::High,
        description: "Sysctls outside the safe set are either not namespaced or can affect other pods and the node (memory, networking, kernel behaviour). The Baseline Pod Security Standard allows only the safe set.",
        remediation: "Remove the sysctl from securityContext.sysctls, or tune it on dedicated, tainted nodes instead.",
        references: &[PSS, "https://kubernetes.io/docs/tasks/administer-cluster/sysctl-cluster/"],
        compliance: &[(SOC2, "CC6.8"), (ISO27001, "A.8.9")],
        checkov: &[],
    },
    kind: CheckKind::PerResource {
        kinds: WORKLOAD_KINDS,
        run: unsafe_sysctls,
    },
};

fn unsafe_sysctls(workload: &IacResource, _: &Context) -> Vec<Violation> {
    let Some(spec) = pod_spec(workload) else {
        return Vec::new();
    };
    lookup(spec, "securityContext.sysctls")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|s| s.get("name").and_then(Value::as_str))
        .filter(|name| !SAFE_SYSCTLS.contains(name))
        .map(|name| {
            Violation::new(format!("pod sets unsafe sysctl `{name}`"))
                .evidence(format!("securityContext.sysctls[].name: {name}"))
                .discriminator(name)
        })
        .collect()
}

pub(crate) const WINDOWS_HOST_PROCESS: Check = Check {
    rule: RuleSpec {
        id: "iac.k8s.windows-host-process",
        title: "Windows container runs as a HostProcess",
        severity: Severity::High,
        description: "A Windows HostProcess container runs directly on the node with host network and filesystem access: the Windows equivalent of a privileged container.",
        remediation: "Remove securityContext.windowsOptions.hostProcess or set it to false.",
        references: &[PSS, "https://kubernetes.io/docs/tasks/configure-pod-container/create-hostprocess-pod/"],
        compliance: &[(CIS_K8S, "5.2.11"), (SOC2, "CC6.8"), (ISO27001, "A.8.2")],
        checkov: &[],
    },
    kind: CheckKind::PerResource {
        kinds: WORKLOAD_KINDS,
        run: windows_host_process,
    },
};

fn windows_host_process(workload: &IacResource, _: &Context) -> Vec<Violation> {
    each_container(workload, ALL_CONTAINERS, |spec, c| {
        let (options, level) = effective_setting(spec, c, "windowsOptions")?;
        if !is_true(options.get("hostProcess")) {
            return None;
        }
        Issue::new(
            "runs as a Windows HostProcess",
            format!("{level} securityContext.windowsOptions.hostProcess: true"),
        )
    })
}

/// Whether a securityContext object is present and says something.
fn has_security_context(value: Option<&Value>) -> bool {
    value
        .and_then(Value::as_object)
        .is_some_and(|sc| !sc.is_empty())
}

pub(crate) const POD_SECURITY_CONTEXT: Check = Check {
    rule: RuleSpec {
        id: "iac.k8s.pod-security-context",
        title: "Pod has no security context",
        severity: Severity::Low,
        description: "Without a pod-level securityContext every container falls back to runtime defaults: root user, no seccomp, no fsGroup. Setting the safe defaults once at pod level covers every container.",
        remediation: "Add spec.securityContext with runAsNonRoot: true, runAsUser, fsGroup and seccompProfile.type: RuntimeDefault.",
        references: &[SECURITY_CONTEXT, PSS],
        compliance: &[(CIS_K8S, "5.7.3"), (SOC2, "CC6.8"), (ISO27001, "A.8.9")],
        checkov: &["CKV_K8S_29"],
    },
    kind: CheckKind::PerResource {
        kinds: WORKLOAD_KINDS,
        run: pod_security_context,
    },
};

fn pod_security_context(workload: &IacResource, _: &Context) -> Vec<Violation> {
    match pod_spec(workload) {
        Some(spec) if !has_security_context(spec.get("securityContext")) => {
            vec![Violation::new("pod has no securityContext")
                .evidence("spec.securityContext not set")]
        }
        _ => Vec::new(),
    }
}

pub(crate) const CONTAINER_SECURITY_CONTEXT: Check = Check {
    rule: RuleSpec {
        id: "iac.k8s.container-security-context",
        title: "Container has no security context",
        severity: Severity::Low,
        description: "Settings such as allowPrivilegeEscalation, readOnlyRootFilesystem and capabilities exist only at container level; a container without a securityContext runs with every runtime default.",
        remediation: "Add a securityContext to each container with allowPrivilegeEscalation: false, readOnlyRootFilesystem: true and capabilities.drop: [\"ALL\"].",
        references: &[SECURITY_CONTEXT, PSS],
        compliance: &[(CIS_K8S, "5.7.3"), (SOC2, "CC6.8"), (ISO27001, "A.8.9")],
        checkov: &["CKV_K8S_30"],
    },
    kind: CheckKind::PerResource {
        kinds: WORKLOAD_KINDS,
        run: container_security_context,
    },
};

fn container_security_context(workload: &IacResource, _: &Context) -> Vec<Violation> {
    each_container(workload, RUNNING_CONTAINERS, |_, c| {
        if has_security_context(c.get("securityContext")) {
            return None;
        }
        Issue::new("has no securityContext", "securityContext not set")
    })
}
