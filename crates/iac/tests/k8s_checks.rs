//! The built-in Kubernetes checks, run on manifests built in the test (the
//! resources a parser would produce), each with failing and passing cases.

use std::collections::{BTreeSet, HashSet};

use palisade_iac::checks::{all_checks, Check, CheckKind, Context, Violation};
use palisade_iac::{Framework, IacResource};
use serde_json::{json, Value};

const DIGEST: &str = "sha256:4f6b3e0d1b2a9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d";

/// The resource a parser would produce for one manifest.
fn resource(manifest: Value) -> IacResource {
    let kind = manifest["kind"].as_str().unwrap_or_default().to_string();
    let name = manifest["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let address = match manifest["metadata"]["namespace"].as_str() {
        Some(ns) => format!("{ns}/{kind}/{name}"),
        None => format!("{kind}/{name}"),
    };
    IacResource {
        framework: Framework::Kubernetes,
        kind,
        address,
        name,
        file: "manifests/app.yaml".into(),
        start_line: 1,
        end_line: 40,
        attributes: manifest,
    }
}

fn k8s_checks() -> impl Iterator<Item = &'static Check> {
    all_checks().filter(|c| c.rule.id.starts_with("iac.k8s."))
}

fn check(id: &str) -> &'static Check {
    k8s_checks()
        .find(|c| c.rule.id == id)
        .unwrap_or_else(|| panic!("no check {id}"))
}

/// Runs one check over a set of manifests as the engine would: per-resource
/// checks on the resources of their kinds, set checks once.
fn run(id: &str, manifests: &[Value]) -> Vec<(usize, Violation)> {
    let resources: Vec<IacResource> = manifests.iter().cloned().map(resource).collect();
    let context = Context::new(&resources);
    match &check(id).kind {
        CheckKind::PerResource { kinds, run } => resources
            .iter()
            .enumerate()
            .filter(|(_, r)| kinds.contains(&r.kind.as_str()))
            .flat_map(|(i, r)| run(r, &context).into_iter().map(move |v| (i, v)))
            .collect(),
        CheckKind::Set(run) => run(&context),
    }
}

// ---------------------------------------------------------------- builders

fn hardened_container(name: &str, probes: bool) -> Value {
    let mut c = json!({
        "name": name,
        "image": format!("registry.example.com/team/app:1.4.2@{DIGEST}"),
        "imagePullPolicy": "Always",
        "ports": [{"containerPort": 8080}],
        "env": [
            {"name": "LOG_LEVEL", "value": "info"},
            {"name": "DB_PASSWORD_FILE", "value": "/run/secrets/db/password"},
            {"name": "API_TOKEN", "value": "$(TOKEN_FROM_ELSEWHERE)"}
        ],
        "resources": {
            "limits": {"cpu": "500m", "memory": "256Mi"},
            "requests": {"cpu": "100m", "memory": "128Mi"}
        },
        "securityContext": {
            "allowPrivilegeEscalation": false,
            "readOnlyRootFilesystem": true,
            "capabilities": {"drop": ["ALL"]}
        }
    });
    if probes {
        c["livenessProbe"] = json!({"httpGet": {"path": "/healthz", "port": 8080}});
        c["readinessProbe"] = json!({"httpGet": {"path": "/ready", "port": 8080}});
    }
    c
}

/// A pod spec that passes every workload check.
fn hardened_pod_spec() -> Value {
    json!({
        "automountServiceAccountToken": false,
        "securityContext": {
            "runAsNonRoot": true,
            "runAsUser": 10001,
            "fsGroup": 10001,
            "seccompProfile": {"type": "RuntimeDefault"},
            "sysctls": [{"name": "net.ipv4.tcp_syncookies", "value": "1"}]
        },
        "initContainers": [hardened_container("init", false)],
        "containers": [hardened_container("app", true)],
        "volumes": [{"name": "tmp", "emptyDir": {}}]
    })
}

/// A workload of `kind` named `web` in namespace `ns` around `pod_spec`.
fn workload(kind: &str, ns: Option<&str>, pod_spec: Value) -> Value {
    let mut metadata = json!({"name": "web", "labels": {"app": "web"}});
    if let Some(ns) = ns {
        metadata["namespace"] = json!(ns);
    }
    let template = json!({"metadata": {"labels": {"app": "web"}}, "spec": pod_spec});
    let (api, spec) = match kind {
        "Pod" => ("v1", template["spec"].clone()),
        "CronJob" => (
            "batch/v1",
            json!({"schedule": "0 * * * *", "jobTemplate": {"spec": {"template": template}}}),
        ),
        "Job" => ("batch/v1", json!({"template": template})),
        _ => (
            "apps/v1",
            json!({"replicas": 2, "selector": {"matchLabels": {"app": "web"}}, "template": template}),
        ),
    };
    json!({"apiVersion": api, "kind": kind, "metadata": metadata, "spec": spec})
}

/// A hardened workload of `kind` in `prod`, changed by `change` (given the pod spec).
fn hardened(kind: &str, change: impl FnOnce(&mut Value)) -> Value {
    let mut spec = hardened_pod_spec();
    change(&mut spec);
    workload(kind, Some("prod"), spec)
}

fn dep(change: impl FnOnce(&mut Value)) -> Value {
    hardened("Deployment", change)
}

fn cron(change: impl FnOnce(&mut Value)) -> Value {
    hardened("CronJob", change)
}

fn pod(change: impl FnOnce(&mut Value)) -> Value {
    hardened("Pod", change)
}

fn app(spec: &mut Value) -> &mut Value {
    &mut spec["containers"][0]
}

fn init(spec: &mut Value) -> &mut Value {
    &mut spec["initContainers"][0]
}

fn push(list: &mut Value, item: Value) {
    list.as_array_mut().expect("an array").push(item);
}

fn remove(value: &mut Value, key: &str) {
    value.as_object_mut().expect("an object").remove(key);
}

fn object(kind: &str, ns: Option<&str>, name: &str, body: Value) -> Value {
    let mut v = body;
    v["kind"] = json!(kind);
    v["metadata"]["name"] = json!(name);
    if let Some(ns) = ns {
        v["metadata"]["namespace"] = json!(ns);
    }
    v
}

fn role(kind: &str, rules: Value) -> Value {
    let ns = (kind == "Role").then_some("prod");
    object(
        kind,
        ns,
        "r",
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "rules": rules}),
    )
}

fn binding(kind: &str, name: &str, role_ref: (&str, &str), subjects: Value) -> Value {
    let ns = (kind == "RoleBinding").then_some("prod");
    object(
        kind,
        ns,
        name,
        json!({
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_ref.0, "name": role_ref.1},
            "subjects": subjects
        }),
    )
}

fn service(ns: Option<&str>, name: &str, spec: Value, annotations: Value) -> Value {
    let mut s = object(
        "Service",
        ns,
        name,
        json!({"apiVersion": "v1", "spec": spec}),
    );
    s["metadata"]["annotations"] = annotations;
    s
}

fn ingress(spec: Value) -> Value {
    object(
        "Ingress",
        Some("prod"),
        "web",
        json!({"apiVersion": "networking.k8s.io/v1", "spec": spec}),
    )
}

fn service_account(ns: &str, name: &str, automount: Option<bool>) -> Value {
    let mut sa = object(
        "ServiceAccount",
        Some(ns),
        name,
        json!({"apiVersion": "v1"}),
    );
    if let Some(a) = automount {
        sa["automountServiceAccountToken"] = json!(a);
    }
    sa
}

// ---------------------------------------------------------------- cases

/// One expectation: running `check` over `manifests` yields exactly these
/// discriminators (`None` for a resource-level violation); empty means pass.
struct Case {
    check: &'static str,
    what: &'static str,
    manifests: Vec<Value>,
    expect: Vec<Option<&'static str>>,
}

fn case(
    check: &'static str,
    what: &'static str,
    manifest: Value,
    expect: &[Option<&'static str>],
) -> Case {
    cases_with(check, what, vec![manifest], expect)
}

fn cases_with(
    check: &'static str,
    what: &'static str,
    manifests: Vec<Value>,
    expect: &[Option<&'static str>],
) -> Case {
    Case {
        check,
        what,
        manifests,
        expect: expect.to_vec(),
    }
}

const PASS: &[Option<&str>] = &[];
const WHOLE: &[Option<&str>] = &[None];
const APP: &[Option<&str>] = &[Some("app")];
const INIT: &[Option<&str>] = &[Some("init")];
const BOTH: &[Option<&str>] = &[Some("init"), Some("app")];

fn cases() -> Vec<Case> {
    vec![
        // --- privileged
        case(
            "iac.k8s.privileged-container",
            "privileged app",
            dep(|s| app(s)["securityContext"]["privileged"] = json!(true)),
            APP,
        ),
        case(
            "iac.k8s.privileged-container",
            "privileged init container",
            dep(|s| init(s)["securityContext"]["privileged"] = json!("true")),
            INIT,
        ),
        case(
            "iac.k8s.privileged-container",
            "cronjob-nested privileged",
            cron(|s| app(s)["securityContext"]["privileged"] = json!(true)),
            APP,
        ),
        case(
            "iac.k8s.privileged-container",
            "hardened",
            dep(|_| {}),
            PASS,
        ),
        // --- allowPrivilegeEscalation
        case(
            "iac.k8s.allow-privilege-escalation",
            "unset",
            dep(|s| remove(&mut app(s)["securityContext"], "allowPrivilegeEscalation")),
            APP,
        ),
        case(
            "iac.k8s.allow-privilege-escalation",
            "cronjob true",
            cron(|s| app(s)["securityContext"]["allowPrivilegeEscalation"] = json!(true)),
            APP,
        ),
        case(
            "iac.k8s.allow-privilege-escalation",
            "no securityContext on init",
            dep(|s| remove(init(s), "securityContext")),
            INIT,
        ),
        case(
            "iac.k8s.allow-privilege-escalation",
            "false everywhere",
            dep(|_| {}),
            PASS,
        ),
        // --- root
        case(
            "iac.k8s.run-as-root",
            "nothing set",
            dep(|s| remove(s, "securityContext")),
            BOTH,
        ),
        case(
            "iac.k8s.run-as-root",
            "container runAsUser 0 overrides pod",
            dep(|s| app(s)["securityContext"]["runAsUser"] = json!(0)),
            APP,
        ),
        case(
            "iac.k8s.run-as-root",
            "container runAsNonRoot false overrides pod",
            dep(|s| {
                remove(&mut s["securityContext"], "runAsUser");
                app(s)["securityContext"]["runAsNonRoot"] = json!(false);
            }),
            APP,
        ),
        case(
            "iac.k8s.run-as-root",
            "container-level runAsNonRoot without pod level",
            dep(|s| {
                remove(s, "securityContext");
                app(s)["securityContext"]["runAsNonRoot"] = json!(true);
                init(s)["securityContext"]["runAsUser"] = json!(1000);
            }),
            PASS,
        ),
        case(
            "iac.k8s.run-as-root",
            "cronjob pod-level non-root",
            cron(|_| {}),
            PASS,
        ),
        // --- low UID
        case(
            "iac.k8s.run-as-low-uid",
            "container uid 1000",
            dep(|s| app(s)["securityContext"]["runAsUser"] = json!(1000)),
            APP,
        ),
        case(
            "iac.k8s.run-as-low-uid",
            "no uid",
            dep(|s| remove(&mut s["securityContext"], "runAsUser")),
            BOTH,
        ),
        case("iac.k8s.run-as-low-uid", "pod uid 10001", dep(|_| {}), PASS),
        // --- host namespaces
        case(
            "iac.k8s.host-network",
            "hostNetwork",
            dep(|s| s["hostNetwork"] = json!(true)),
            WHOLE,
        ),
        case(
            "iac.k8s.host-network",
            "hostNetwork false",
            dep(|s| s["hostNetwork"] = json!(false)),
            PASS,
        ),
        case(
            "iac.k8s.host-pid",
            "cronjob hostPID",
            cron(|s| s["hostPID"] = json!(true)),
            WHOLE,
        ),
        case("iac.k8s.host-pid", "unset", cron(|_| {}), PASS),
        case(
            "iac.k8s.host-ipc",
            "pod hostIPC",
            pod(|s| s["hostIPC"] = json!(true)),
            WHOLE,
        ),
        case("iac.k8s.host-ipc", "unset", pod(|_| {}), PASS),
        // --- host paths
        case(
            "iac.k8s.host-path-volume",
            "hostPath",
            dep(|s| {
                push(
                    &mut s["volumes"],
                    json!({"name": "logs", "hostPath": {"path": "/var/log"}}),
                )
            }),
            &[Some("logs")],
        ),
        case(
            "iac.k8s.host-path-volume",
            "emptyDir only",
            dep(|_| {}),
            PASS,
        ),
        case(
            "iac.k8s.runtime-socket-mount",
            "docker socket",
            dep(|s| {
                push(
                    &mut s["volumes"],
                    json!({"name": "docker", "hostPath": {"path": "/var/run/docker.sock", "type": "Socket"}}),
                )
            }),
            &[Some("docker")],
        ),
        case(
            "iac.k8s.runtime-socket-mount",
            "containerd socket in cronjob",
            cron(|s| {
                push(
                    &mut s["volumes"],
                    json!({"name": "ctr", "hostPath": {"path": "/run/containerd/containerd.sock"}}),
                )
            }),
            &[Some("ctr")],
        ),
        case(
            "iac.k8s.runtime-socket-mount",
            "other hostPath",
            dep(|s| {
                push(
                    &mut s["volumes"],
                    json!({"name": "logs", "hostPath": {"path": "/var/log"}}),
                )
            }),
            PASS,
        ),
        // --- host ports
        case(
            "iac.k8s.host-port",
            "hostPort",
            dep(|s| app(s)["ports"][0]["hostPort"] = json!(8080)),
            APP,
        ),
        case("iac.k8s.host-port", "containerPort only", dep(|_| {}), PASS),
        // --- capabilities
        case(
            "iac.k8s.sys-admin-capability",
            "CAP_SYS_ADMIN",
            dep(|s| app(s)["securityContext"]["capabilities"]["add"] = json!(["CAP_SYS_ADMIN"])),
            APP,
        ),
        case(
            "iac.k8s.sys-admin-capability",
            "NET_BIND_SERVICE",
            dep(|s| app(s)["securityContext"]["capabilities"]["add"] = json!(["NET_BIND_SERVICE"])),
            PASS,
        ),
        case(
            "iac.k8s.dangerous-capabilities",
            "NET_ADMIN on init",
            dep(|s| {
                init(s)["securityContext"]["capabilities"]["add"] = json!(["NET_ADMIN", "CHOWN"])
            }),
            INIT,
        ),
        case(
            "iac.k8s.dangerous-capabilities",
            "ALL",
            dep(|s| app(s)["securityContext"]["capabilities"]["add"] = json!(["all"])),
            APP,
        ),
        case(
            "iac.k8s.dangerous-capabilities",
            "CHOWN",
            dep(|s| app(s)["securityContext"]["capabilities"]["add"] = json!(["CHOWN"])),
            PASS,
        ),
        case(
            "iac.k8s.added-capabilities",
            "CHOWN",
            dep(|s| app(s)["securityContext"]["capabilities"]["add"] = json!(["CHOWN"])),
            APP,
        ),
        case(
            "iac.k8s.added-capabilities",
            "NET_BIND_SERVICE",
            dep(|s| app(s)["securityContext"]["capabilities"]["add"] = json!(["NET_BIND_SERVICE"])),
            PASS,
        ),
        case(
            "iac.k8s.capabilities-not-dropped",
            "drops NET_RAW only",
            dep(|s| app(s)["securityContext"]["capabilities"]["drop"] = json!(["NET_RAW"])),
            APP,
        ),
        case(
            "iac.k8s.capabilities-not-dropped",
            "drops ALL",
            dep(|_| {}),
            PASS,
        ),
        case(
            "iac.k8s.net-raw-capability",
            "no drop",
            dep(|s| remove(&mut app(s)["securityContext"], "capabilities")),
            APP,
        ),
        case(
            "iac.k8s.net-raw-capability",
            "drops ALL but adds NET_RAW",
            dep(|s| app(s)["securityContext"]["capabilities"]["add"] = json!(["NET_RAW"])),
            APP,
        ),
        case(
            "iac.k8s.net-raw-capability",
            "drops CAP_NET_RAW",
            dep(|s| app(s)["securityContext"]["capabilities"]["drop"] = json!(["CAP_NET_RAW"])),
            PASS,
        ),
        // --- filesystem
        case(
            "iac.k8s.read-only-root-filesystem",
            "false",
            dep(|s| app(s)["securityContext"]["readOnlyRootFilesystem"] = json!(false)),
            APP,
        ),
        case(
            "iac.k8s.read-only-root-filesystem",
            "true",
            dep(|_| {}),
            PASS,
        ),
        // --- seccomp
        case(
            "iac.k8s.seccomp-profile",
            "unset",
            dep(|s| remove(&mut s["securityContext"], "seccompProfile")),
            BOTH,
        ),
        case(
            "iac.k8s.seccomp-profile",
            "container Unconfined overrides pod",
            dep(|s| app(s)["securityContext"]["seccompProfile"] = json!({"type": "Unconfined"})),
            APP,
        ),
        case(
            "iac.k8s.seccomp-profile",
            "container Localhost without pod",
            dep(|s| {
                remove(&mut s["securityContext"], "seccompProfile");
                app(s)["securityContext"]["seccompProfile"] =
                    json!({"type": "Localhost", "localhostProfile": "p.json"});
                init(s)["securityContext"]["seccompProfile"] = json!({"type": "RuntimeDefault"});
            }),
            PASS,
        ),
        case(
            "iac.k8s.seccomp-profile",
            "legacy pod annotation",
            {
                let mut w = dep(|s| remove(&mut s["securityContext"], "seccompProfile"));
                w["spec"]["template"]["metadata"]["annotations"] =
                    json!({"seccomp.security.alpha.kubernetes.io/pod": "runtime/default"});
                w
            },
            PASS,
        ),
        case(
            "iac.k8s.seccomp-profile",
            "legacy annotation unconfined on cronjob",
            {
                let mut w = cron(|s| remove(&mut s["securityContext"], "seccompProfile"));
                w["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["annotations"] =
                    json!({"seccomp.security.alpha.kubernetes.io/pod": "unconfined"});
                w
            },
            BOTH,
        ),
        case(
            "iac.k8s.seccomp-profile",
            "pod RuntimeDefault",
            pod(|_| {}),
            PASS,
        ),
        // --- procMount, sysctls, Windows
        case(
            "iac.k8s.proc-mount-unmasked",
            "Unmasked",
            dep(|s| app(s)["securityContext"]["procMount"] = json!("Unmasked")),
            APP,
        ),
        case(
            "iac.k8s.proc-mount-unmasked",
            "Default",
            dep(|s| app(s)["securityContext"]["procMount"] = json!("Default")),
            PASS,
        ),
        case(
            "iac.k8s.unsafe-sysctls",
            "kernel.msgmax",
            dep(
                |s| s["securityContext"]["sysctls"] = json!([{"name": "kernel.msgmax", "value": "65536"}, {"name": "net.ipv4.tcp_syncookies", "value": "1"}]),
            ),
            &[Some("kernel.msgmax")],
        ),
        case("iac.k8s.unsafe-sysctls", "safe sysctl", dep(|_| {}), PASS),
        case(
            "iac.k8s.windows-host-process",
            "pod-level hostProcess",
            dep(|s| s["securityContext"]["windowsOptions"] = json!({"hostProcess": true})),
            BOTH,
        ),
        case(
            "iac.k8s.windows-host-process",
            "container overrides to false",
            dep(|s| {
                s["securityContext"]["windowsOptions"] = json!({"hostProcess": true});
                app(s)["securityContext"]["windowsOptions"] = json!({"hostProcess": false});
                init(s)["securityContext"]["windowsOptions"] = json!({"hostProcess": false});
            }),
            PASS,
        ),
        // --- security contexts present
        case(
            "iac.k8s.pod-security-context",
            "none",
            dep(|s| remove(s, "securityContext")),
            WHOLE,
        ),
        case("iac.k8s.pod-security-context", "set", dep(|_| {}), PASS),
        case(
            "iac.k8s.container-security-context",
            "none on app",
            dep(|s| remove(app(s), "securityContext")),
            APP,
        ),
        case(
            "iac.k8s.container-security-context",
            "set",
            dep(|_| {}),
            PASS,
        ),
        // --- resources and probes
        case(
            "iac.k8s.cpu-limits",
            "no cpu limit",
            dep(|s| remove(&mut app(s)["resources"]["limits"], "cpu")),
            APP,
        ),
        case(
            "iac.k8s.cpu-limits",
            "no resources on cronjob init",
            cron(|s| remove(init(s), "resources")),
            INIT,
        ),
        case("iac.k8s.cpu-limits", "set", dep(|_| {}), PASS),
        case(
            "iac.k8s.memory-limits",
            "no memory limit",
            dep(|s| remove(&mut app(s)["resources"]["limits"], "memory")),
            APP,
        ),
        case("iac.k8s.memory-limits", "set", dep(|_| {}), PASS),
        case(
            "iac.k8s.cpu-requests",
            "no requests",
            dep(|s| remove(&mut app(s)["resources"], "requests")),
            APP,
        ),
        case("iac.k8s.cpu-requests", "set", dep(|_| {}), PASS),
        case(
            "iac.k8s.memory-requests",
            "no memory request",
            dep(|s| remove(&mut app(s)["resources"]["requests"], "memory")),
            APP,
        ),
        case("iac.k8s.memory-requests", "set", dep(|_| {}), PASS),
        case(
            "iac.k8s.liveness-probe",
            "missing",
            dep(|s| remove(app(s), "livenessProbe")),
            APP,
        ),
        case(
            "iac.k8s.liveness-probe",
            "cronjob needs none",
            cron(|s| remove(app(s), "livenessProbe")),
            PASS,
        ),
        case(
            "iac.k8s.liveness-probe",
            "set (init containers exempt)",
            dep(|_| {}),
            PASS,
        ),
        case(
            "iac.k8s.readiness-probe",
            "missing",
            dep(|s| remove(app(s), "readinessProbe")),
            APP,
        ),
        case("iac.k8s.readiness-probe", "set", dep(|_| {}), PASS),
        // --- images
        case(
            "iac.k8s.image-tag-mutable",
            "no tag",
            dep(|s| app(s)["image"] = json!("nginx")),
            APP,
        ),
        case(
            "iac.k8s.image-tag-mutable",
            "latest on init",
            dep(|s| init(s)["image"] = json!("docker.io/library/busybox:latest")),
            INIT,
        ),
        case(
            "iac.k8s.image-tag-mutable",
            "registry port, no tag",
            dep(|s| app(s)["image"] = json!("localhost:5000/team/app")),
            APP,
        ),
        case(
            "iac.k8s.image-tag-mutable",
            "fixed tag",
            dep(|s| app(s)["image"] = json!("nginx:1.25.3")),
            PASS,
        ),
        case(
            "iac.k8s.image-tag-mutable",
            "digest-pinned latest",
            dep(|s| app(s)["image"] = json!(format!("nginx:latest@{DIGEST}"))),
            PASS,
        ),
        case(
            "iac.k8s.image-tag-mutable",
            "digest only",
            dep(|s| app(s)["image"] = json!(format!("nginx@{DIGEST}"))),
            PASS,
        ),
        case(
            "iac.k8s.image-pull-policy",
            "fixed tag, default policy",
            dep(|s| {
                app(s)["image"] = json!("nginx:1.25.3");
                remove(app(s), "imagePullPolicy");
            }),
            APP,
        ),
        case(
            "iac.k8s.image-pull-policy",
            "IfNotPresent",
            dep(|s| {
                app(s)["image"] = json!("nginx:1.25.3");
                app(s)["imagePullPolicy"] = json!("IfNotPresent");
            }),
            APP,
        ),
        case(
            "iac.k8s.image-pull-policy",
            "latest defaults to Always",
            dep(|s| {
                app(s)["image"] = json!("nginx:latest");
                remove(app(s), "imagePullPolicy");
            }),
            PASS,
        ),
        case(
            "iac.k8s.image-pull-policy",
            "digest with IfNotPresent",
            dep(|s| app(s)["imagePullPolicy"] = json!("IfNotPresent")),
            PASS,
        ),
        case(
            "iac.k8s.image-digest",
            "tag only",
            dep(|s| app(s)["image"] = json!("nginx:1.25.3")),
            APP,
        ),
        case("iac.k8s.image-digest", "digest", dep(|_| {}), PASS),
        case(
            "iac.k8s.tiller-deployed",
            "tiller image",
            dep(|s| app(s)["image"] = json!("gcr.io/kubernetes-helm/tiller:v2.16.1")),
            APP,
        ),
        case(
            "iac.k8s.tiller-deployed",
            "tiller labels",
            {
                let mut w = dep(|_| {});
                w["spec"]["template"]["metadata"]["labels"] =
                    json!({"app": "helm", "name": "tiller"});
                w
            },
            WHOLE,
        ),
        case("iac.k8s.tiller-deployed", "other image", dep(|_| {}), PASS),
        case(
            "iac.k8s.kubernetes-dashboard",
            "dashboard image",
            dep(|s| app(s)["image"] = json!("kubernetesui/dashboard:v2.7.0")),
            APP,
        ),
        case(
            "iac.k8s.kubernetes-dashboard",
            "dashboard label",
            {
                let mut w = dep(|_| {});
                w["spec"]["template"]["metadata"]["labels"] =
                    json!({"k8s-app": "kubernetes-dashboard"});
                w
            },
            WHOLE,
        ),
        case(
            "iac.k8s.kubernetes-dashboard",
            "other image",
            dep(|_| {}),
            PASS,
        ),
        // --- secrets
        case(
            "iac.k8s.env-plaintext-secret",
            "DB_PASSWORD literal",
            dep(|s| {
                push(
                    &mut app(s)["env"],
                    json!({"name": "DB_PASSWORD", "value": "hunter2-but-longer"}),
                )
            }),
            APP,
        ),
        case(
            "iac.k8s.env-plaintext-secret",
            "AWS key under a bland name",
            dep(|s| {
                push(
                    &mut init(s)["env"],
                    json!({"name": "CONFIG_A", "value": "AKIAIOSFODNN7EXAMPLE"}),
                )
            }),
            INIT,
        ),
        case(
            "iac.k8s.env-plaintext-secret",
            "URL with a password",
            dep(|s| {
                push(
                    &mut app(s)["env"],
                    json!({"name": "DATABASE_URL", "value": "postgres://app:s3cr3tpass@db:5432/app"}),
                )
            }),
            APP,
        ),
        case(
            "iac.k8s.env-plaintext-secret",
            "references, paths and placeholders",
            dep(|s| {
                push(
                    &mut app(s)["env"],
                    json!({"name": "DATABASE_URL", "value": "postgres://app:$(DB_PASS)@db:5432/app"}),
                );
                push(
                    &mut app(s)["env"],
                    json!({"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}),
                );
                push(
                    &mut app(s)["env"],
                    json!({"name": "SECRET_NAME", "value": "db-credentials"}),
                );
                push(
                    &mut app(s)["env"],
                    json!({"name": "TOKEN_TTL", "value": "3600"}),
                );
                push(
                    &mut app(s)["env"],
                    json!({"name": "TOKENIZER_MODEL", "value": "bert-base-uncased"}),
                );
                push(
                    &mut app(s)["env"],
                    json!({"name": "PASSPORT_ISSUER", "value": "gov-registry"}),
                );
            }),
            PASS,
        ),
        case(
            "iac.k8s.env-plaintext-secret",
            "camelCase token name",
            dep(|s| {
                push(
                    &mut app(s)["env"],
                    json!({"name": "slackApiToken", "value": "not-a-real-token-value"}),
                )
            }),
            APP,
        ),
        case(
            "iac.k8s.secrets-as-env",
            "secretKeyRef",
            dep(|s| {
                push(
                    &mut app(s)["env"],
                    json!({"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}),
                )
            }),
            APP,
        ),
        case(
            "iac.k8s.secrets-as-env",
            "envFrom secretRef on cronjob",
            cron(|s| app(s)["envFrom"] = json!([{"secretRef": {"name": "db"}}])),
            APP,
        ),
        case(
            "iac.k8s.secrets-as-env",
            "configMapRef",
            dep(|s| app(s)["envFrom"] = json!([{"configMapRef": {"name": "cfg"}}])),
            PASS,
        ),
        // --- service accounts
        case(
            "iac.k8s.service-account-token-automount",
            "unset",
            dep(|s| remove(s, "automountServiceAccountToken")),
            WHOLE,
        ),
        case(
            "iac.k8s.service-account-token-automount",
            "cronjob true",
            cron(|s| s["automountServiceAccountToken"] = json!(true)),
            WHOLE,
        ),
        cases_with(
            "iac.k8s.service-account-token-automount",
            "disabled on its ServiceAccount",
            vec![
                service_account("prod", "web-sa", Some(false)),
                dep(|s| {
                    remove(s, "automountServiceAccountToken");
                    s["serviceAccountName"] = json!("web-sa");
                }),
            ],
            PASS,
        ),
        cases_with(
            "iac.k8s.service-account-token-automount",
            "ServiceAccount in another namespace",
            vec![
                service_account("other", "web-sa", Some(false)),
                dep(|s| {
                    remove(s, "automountServiceAccountToken");
                    s["serviceAccountName"] = json!("web-sa");
                }),
            ],
            WHOLE,
        ),
        case(
            "iac.k8s.service-account-token-automount",
            "false on pod",
            dep(|_| {}),
            PASS,
        ),
        case(
            "iac.k8s.default-service-account-automount",
            "default SA",
            service_account("prod", "default", None),
            WHOLE,
        ),
        case(
            "iac.k8s.default-service-account-automount",
            "default SA disabled",
            service_account("prod", "default", Some(false)),
            PASS,
        ),
        case(
            "iac.k8s.default-service-account-automount",
            "named SA",
            service_account("prod", "web-sa", None),
            PASS,
        ),
        case(
            "iac.k8s.default-service-account-binding",
            "bound to default",
            binding(
                "RoleBinding",
                "rb",
                ("Role", "r"),
                json!([{"kind": "ServiceAccount", "name": "default", "namespace": "prod"}]),
            ),
            &[Some("prod")],
        ),
        case(
            "iac.k8s.default-service-account-binding",
            "bound to named SA",
            binding(
                "RoleBinding",
                "rb",
                ("Role", "r"),
                json!([{"kind": "ServiceAccount", "name": "web-sa", "namespace": "prod"}]),
            ),
            PASS,
        ),
        // --- RBAC
        case(
            "iac.k8s.rbac-wildcard",
            "verbs *",
            role(
                "ClusterRole",
                json!([{"apiGroups": [""], "resources": ["pods"], "verbs": ["*"]}]),
            ),
            WHOLE,
        ),
        case(
            "iac.k8s.rbac-wildcard",
            "wildcard in second rule",
            role(
                "Role",
                json!([
                    {"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]},
                    {"apiGroups": ["apps"], "resources": ["*"], "verbs": ["get"]}
                ]),
            ),
            WHOLE,
        ),
        case(
            "iac.k8s.rbac-wildcard",
            "explicit",
            role(
                "Role",
                json!([{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}]),
            ),
            PASS,
        ),
        case(
            "iac.k8s.rbac-secrets-read",
            "list secrets",
            role(
                "ClusterRole",
                json!([{"apiGroups": [""], "resources": ["secrets"], "verbs": ["list"]}]),
            ),
            WHOLE,
        ),
        case(
            "iac.k8s.rbac-secrets-read",
            "all resources, get",
            role(
                "Role",
                json!([{"apiGroups": ["*"], "resources": ["*"], "verbs": ["get"]}]),
            ),
            WHOLE,
        ),
        case(
            "iac.k8s.rbac-secrets-read",
            "named secret",
            role(
                "Role",
                json!([{"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["tls"], "verbs": ["get"]}]),
            ),
            PASS,
        ),
        case(
            "iac.k8s.rbac-secrets-read",
            "configmaps",
            role(
                "Role",
                json!([{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}]),
            ),
            PASS,
        ),
        case(
            "iac.k8s.rbac-bind",
            "bind clusterrolebindings",
            role(
                "ClusterRole",
                json!([{"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterrolebindings"], "verbs": ["bind"]}]),
            ),
            WHOLE,
        ),
        case(
            "iac.k8s.rbac-bind",
            "create rolebindings",
            role(
                "Role",
                json!([{"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["rolebindings"], "verbs": ["create"]}]),
            ),
            PASS,
        ),
        case(
            "iac.k8s.rbac-escalate",
            "escalate roles",
            role(
                "Role",
                json!([{"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles"], "verbs": ["escalate"]}]),
            ),
            WHOLE,
        ),
        case(
            "iac.k8s.rbac-escalate",
            "update roles",
            role(
                "Role",
                json!([{"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles"], "verbs": ["update"]}]),
            ),
            PASS,
        ),
        case(
            "iac.k8s.rbac-impersonate",
            "impersonate users",
            role(
                "ClusterRole",
                json!([{"apiGroups": [""], "resources": ["users", "groups"], "verbs": ["impersonate"]}]),
            ),
            WHOLE,
        ),
        case(
            "iac.k8s.rbac-impersonate",
            "list users",
            role(
                "ClusterRole",
                json!([{"apiGroups": [""], "resources": ["serviceaccounts"], "verbs": ["list"]}]),
            ),
            PASS,
        ),
        case(
            "iac.k8s.rbac-webhook-control",
            "patch webhooks",
            role(
                "ClusterRole",
                json!([{"apiGroups": ["admissionregistration.k8s.io"], "resources": ["validatingwebhookconfigurations"], "verbs": ["patch"]}]),
            ),
            WHOLE,
        ),
        case(
            "iac.k8s.rbac-webhook-control",
            "read webhooks",
            role(
                "ClusterRole",
                json!([{"apiGroups": ["admissionregistration.k8s.io"], "resources": ["validatingwebhookconfigurations"], "verbs": ["get"]}]),
            ),
            PASS,
        ),
        case(
            "iac.k8s.rbac-csr-approve",
            "approval and signer",
            role(
                "ClusterRole",
                json!([
                    {"apiGroups": ["certificates.k8s.io"], "resources": ["certificatesigningrequests/approval"], "verbs": ["update"]},
                    {"apiGroups": ["certificates.k8s.io"], "resources": ["signers"], "verbs": ["approve"], "resourceNames": ["kubernetes.io/kube-apiserver-client"]}
                ]),
            ),
            WHOLE,
        ),
        case(
            "iac.k8s.rbac-csr-approve",
            "approval without signer",
            role(
                "ClusterRole",
                json!([
                    {"apiGroups": ["certificates.k8s.io"], "resources": ["certificatesigningrequests/approval"], "verbs": ["update"]}
                ]),
            ),
            PASS,
        ),
        case(
            "iac.k8s.cluster-admin-binding",
            "user bound to cluster-admin",
            binding(
                "ClusterRoleBinding",
                "ops-admin",
                ("ClusterRole", "cluster-admin"),
                json!([{"kind": "User", "name": "ops"}]),
            ),
            WHOLE,
        ),
        case(
            "iac.k8s.cluster-admin-binding",
            "built-in system binding",
            binding(
                "ClusterRoleBinding",
                "system:masters-admin",
                ("ClusterRole", "cluster-admin"),
                json!([{"kind": "Group", "name": "system:masters"}]),
            ),
            PASS,
        ),
        case(
            "iac.k8s.cluster-admin-binding",
            "view role",
            binding(
                "RoleBinding",
                "viewers",
                ("ClusterRole", "view"),
                json!([{"kind": "Group", "name": "devs"}]),
            ),
            PASS,
        ),
        // --- namespaces and exposure
        case(
            "iac.k8s.default-namespace",
            "no namespace",
            workload("Deployment", None, hardened_pod_spec()),
            WHOLE,
        ),
        case(
            "iac.k8s.default-namespace",
            "Service in default",
            service(
                Some("default"),
                "web",
                json!({"ports": [{"port": 80}]}),
                json!({}),
            ),
            WHOLE,
        ),
        case(
            "iac.k8s.default-namespace",
            "own namespace",
            dep(|_| {}),
            PASS,
        ),
        case(
            "iac.k8s.default-namespace",
            "kubernetes Service",
            service(
                None,
                "kubernetes",
                json!({"ports": [{"port": 443}]}),
                json!({}),
            ),
            PASS,
        ),
        case(
            "iac.k8s.default-namespace",
            "default ServiceAccount",
            service_account("default", "default", None),
            PASS,
        ),
        case(
            "iac.k8s.service-load-balancer",
            "public LB",
            service(
                Some("prod"),
                "web",
                json!({"type": "LoadBalancer"}),
                json!({}),
            ),
            WHOLE,
        ),
        case(
            "iac.k8s.service-load-balancer",
            "open source ranges",
            service(
                Some("prod"),
                "web",
                json!({"type": "LoadBalancer", "loadBalancerSourceRanges": ["0.0.0.0/0"]}),
                json!({}),
            ),
            WHOLE,
        ),
        case(
            "iac.k8s.service-load-balancer",
            "internal AWS LB",
            service(
                Some("prod"),
                "web",
                json!({"type": "LoadBalancer"}),
                json!({"service.beta.kubernetes.io/aws-load-balancer-scheme": "internal"}),
            ),
            PASS,
        ),
        case(
            "iac.k8s.service-load-balancer",
            "restricted source ranges",
            service(
                Some("prod"),
                "web",
                json!({"type": "LoadBalancer", "loadBalancerSourceRanges": ["10.0.0.0/8"]}),
                json!({}),
            ),
            PASS,
        ),
        case(
            "iac.k8s.service-node-port",
            "NodePort",
            service(Some("prod"), "web", json!({"type": "NodePort"}), json!({})),
            WHOLE,
        ),
        case(
            "iac.k8s.service-node-port",
            "ClusterIP",
            service(
                Some("prod"),
                "web",
                json!({"ports": [{"port": 80}]}),
                json!({}),
            ),
            PASS,
        ),
        case(
            "iac.k8s.ingress-tls",
            "no tls",
            ingress(json!({"rules": [{"host": "a.example.com"}]})),
            WHOLE,
        ),
        case(
            "iac.k8s.ingress-tls",
            "host not covered",
            ingress(json!({
                "tls": [{"hosts": ["a.example.com"], "secretName": "a-tls"}],
                "rules": [{"host": "a.example.com"}, {"host": "b.example.org"}]
            })),
            &[Some("b.example.org")],
        ),
        case(
            "iac.k8s.ingress-tls",
            "wildcard certificate",
            ingress(json!({
                "tls": [{"hosts": ["*.example.com"], "secretName": "wild"}],
                "rules": [{"host": "a.example.com"}, {"host": "b.example.com"}]
            })),
            PASS,
        ),
    ]
}

fn discriminators(found: &[(usize, Violation)]) -> Vec<Option<String>> {
    let mut d: Vec<Option<String>> = found.iter().map(|(_, v)| v.discriminator.clone()).collect();
    d.sort();
    d
}

#[test]
fn every_case_yields_exactly_the_expected_violations() {
    let mut failures = Vec::new();
    for case in cases() {
        let found = run(case.check, &case.manifests);
        let mut expected: Vec<Option<String>> =
            case.expect.iter().map(|d| d.map(str::to_string)).collect();
        expected.sort();
        let got = discriminators(&found);
        if got != expected {
            failures.push(format!(
                "{} / {}: expected {expected:?}, got {got:?} ({:?})",
                case.check,
                case.what,
                found.iter().map(|(_, v)| &v.message).collect::<Vec<_>>()
            ));
        }
        for (_, v) in &found {
            assert!(
                !v.message.is_empty() && v.evidence.is_some(),
                "{}: {v:?}",
                case.check
            );
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_check_has_a_failing_and_a_passing_case() {
    let all = cases();
    let failing: HashSet<&str> = all
        .iter()
        .filter(|c| !c.expect.is_empty())
        .map(|c| c.check)
        .collect();
    let passing: HashSet<&str> = all
        .iter()
        .filter(|c| c.expect.is_empty())
        .map(|c| c.check)
        .collect();
    for check in k8s_checks() {
        let id = check.rule.id;
        if id == "iac.k8s.namespace-network-policy" {
            continue; // tested by namespace_network_policy_is_reported_once_per_namespace
        }
        assert!(failing.contains(id), "{id} has no failing case");
        assert!(passing.contains(id), "{id} has no passing case");
    }
}

#[test]
fn hardened_workloads_of_every_kind_pass_every_workload_check() {
    for kind in [
        "Pod",
        "Deployment",
        "StatefulSet",
        "DaemonSet",
        "ReplicaSet",
        "ReplicationController",
        "Job",
        "CronJob",
    ] {
        let manifests = vec![
            hardened(kind, |_| {}),
            object(
                "NetworkPolicy",
                Some("prod"),
                "deny",
                json!({"spec": {"podSelector": {}}}),
            ),
        ];
        for check in k8s_checks() {
            let found = run(check.rule.id, &manifests);
            assert!(
                found.is_empty(),
                "{kind} fails {}: {:?}",
                check.rule.id,
                found
            );
        }
    }
}

#[test]
fn an_insecure_cronjob_is_reported_through_its_nested_pod_spec() {
    let manifest = workload(
        "CronJob",
        None,
        json!({"hostPID": true, "containers": [{"name": "job", "image": "busybox", "securityContext": {"privileged": true}}]}),
    );
    for id in [
        "iac.k8s.privileged-container",
        "iac.k8s.host-pid",
        "iac.k8s.run-as-root",
        "iac.k8s.image-tag-mutable",
        "iac.k8s.cpu-limits",
        "iac.k8s.seccomp-profile",
        "iac.k8s.default-namespace",
    ] {
        assert_eq!(run(id, std::slice::from_ref(&manifest)).len(), 1, "{id}");
    }
    // Jobs need no probes.
    assert!(run("iac.k8s.liveness-probe", &[manifest]).is_empty());
}

#[test]
fn plaintext_secret_evidence_never_contains_the_value() {
    let value = "Sup3r-S3cret-Passw0rd!";
    let manifest = dep(|s| {
        push(
            &mut app(s)["env"],
            json!({"name": "ADMIN_PASSWORD", "value": value}),
        )
    });
    let found = run("iac.k8s.env-plaintext-secret", &[manifest]);
    assert_eq!(found.len(), 1);
    let v = &found[0].1;
    assert!(v.message.contains("ADMIN_PASSWORD"));
    let text = format!("{} {:?} {:?}", v.message, v.evidence, v.discriminator);
    assert!(!text.contains(value), "{text}");
    assert!(text.contains("<redacted>"));
}

#[test]
fn namespace_network_policy_is_reported_once_per_namespace() {
    let in_ns = |kind: &str, ns: Option<&str>| workload(kind, ns, hardened_pod_spec());
    let manifests = vec![
        object("ConfigMap", Some("prod"), "cfg", json!({"data": {}})),
        in_ns("Deployment", Some("prod")),
        in_ns("CronJob", Some("prod")),
        in_ns("Deployment", Some("covered")),
        object(
            "NetworkPolicy",
            Some("covered"),
            "deny",
            json!({"spec": {"podSelector": {}}}),
        ),
        in_ns("Pod", None),
        in_ns("StatefulSet", Some("default")),
        object(
            "NetworkPolicy",
            Some("other"),
            "deny",
            json!({"spec": {"podSelector": {}}}),
        ),
    ];
    let found = run("iac.k8s.namespace-network-policy", &manifests);
    let got: Vec<(usize, Option<(String, String)>)> =
        found.iter().map(|(i, v)| (*i, v.subject.clone())).collect();
    let namespace = |ns: &str| Some(("Namespace".to_string(), ns.to_string()));
    assert_eq!(
        got,
        vec![(1, namespace("prod")), (5, namespace("default"))],
        "{found:?}"
    );

    // Every namespace with a policy: nothing to report.
    let covered = vec![
        in_ns("Deployment", Some("prod")),
        object(
            "NetworkPolicy",
            Some("prod"),
            "deny",
            json!({"spec": {"podSelector": {}}}),
        ),
    ];
    assert!(run("iac.k8s.namespace-network-policy", &covered).is_empty());

    // A cluster-wide policy covers every namespace.
    let clusterwide = vec![
        in_ns("Deployment", Some("prod")),
        object(
            "CiliumClusterwideNetworkPolicy",
            None,
            "deny-all",
            json!({"spec": {}}),
        ),
    ];
    assert!(run("iac.k8s.namespace-network-policy", &clusterwide).is_empty());
}

#[test]
fn rule_metadata_is_complete_and_checkov_ids_are_mapped_once() {
    let checkov_id = |id: &str| {
        let number = id
            .strip_prefix("CKV_K8S_")
            .or_else(|| id.strip_prefix("CKV2_K8S_"));
        number.is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
    };
    let mut ids = BTreeSet::new();
    let mut peers = HashSet::new();
    for check in k8s_checks() {
        let rule = &check.rule;
        assert!(ids.insert(rule.id), "duplicate {}", rule.id);
        assert!(
            !rule.title.is_empty() && rule.description.len() > 40 && rule.remediation.len() > 10,
            "{}",
            rule.id
        );
        assert!(!rule.references.is_empty(), "{} has no references", rule.id);
        assert!(
            rule.references.iter().all(|r| r.starts_with("https://")),
            "{}",
            rule.id
        );
        assert!(
            rule.compliance.iter().any(|(f, _)| *f == "SOC 2"),
            "{} has no SOC 2 mapping",
            rule.id
        );
        assert!(
            rule.compliance.iter().any(|(f, _)| *f == "ISO 27001:2022"),
            "{} has no ISO mapping",
            rule.id
        );
        for peer in rule.checkov {
            assert!(checkov_id(peer), "{}: bad Checkov id {peer}", rule.id);
            assert!(peers.insert(*peer), "{peer} mapped twice");
        }
        if let CheckKind::PerResource { kinds, .. } = &check.kind {
            assert!(!kinds.is_empty(), "{}", rule.id);
        }
    }
    assert!(ids.len() >= 26, "only {} Kubernetes checks", ids.len());
}
