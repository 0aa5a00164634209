//! Container image references: mutable tags, pull policy, digests, and
//! images of components that should not run in a cluster (Tiller, the dashboard).

use palisade_core::Severity;
use serde_json::Value;

use super::{
    each_container, pod_metadata, Issue, ALL_CONTAINERS, CIS_K8S, ISO27001, RBAC_GOOD_PRACTICES,
    SOC2, WORKLOAD_KINDS,
};
use crate::checks::{Check, CheckKind, Context, RuleSpec, Violation};
use crate::model::IacResource;

const IMAGES_DOC: &str = "https://kubernetes.io/docs/concepts/containers/images/";

/// The parts of an image reference `registry:5000/team/app:1.2@sha256:...`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ImageRef<'a> {
    /// Everything before the tag: `registry:5000/team/app`.
    pub repository: &'a str,
    pub tag: Option<&'a str>,
    pub digest: Option<&'a str>,
}

impl<'a> ImageRef<'a> {
    pub fn parse(image: &'a str) -> Self {
        let image = image.trim();
        let (rest, digest) = match image.split_once('@') {
            Some((rest, digest)) => (rest, Some(digest)),
            None => (image, None),
        };
        // A colon after the last slash separates the tag; one before it is a registry port.
        let name_start = rest.rfind('/').map_or(0, |i| i + 1);
        let (repository, tag) = match rest[name_start..].rfind(':') {
            Some(i) => (&rest[..name_start + i], Some(&rest[name_start + i + 1..])),
            None => (rest, None),
        };
        Self {
            repository,
            tag: tag.filter(|t| !t.is_empty()),
            digest: digest.filter(|d| !d.is_empty()),
        }
    }

    /// The image's last path component without registry: `app`.
    pub fn short_name(&self) -> &'a str {
        self.repository
            .rsplit('/')
            .next()
            .unwrap_or(self.repository)
    }

    /// Whether the reference can point at different content over time:
    /// no digest, and no tag or `latest`.
    pub fn is_mutable_tag(&self) -> bool {
        self.digest.is_none() && self.tag.is_none_or(|t| t.eq_ignore_ascii_case("latest"))
    }
}

/// A container's image, unless missing or a template placeholder the scan cannot judge.
fn container_image(container: &Value) -> Option<&str> {
    let image = container.get("image")?.as_str()?.trim();
    let templated = image.is_empty() || image.contains("{{") || image.contains("${");
    (!templated).then_some(image)
}

pub(crate) const IMAGE_TAG_MUTABLE: Check = Check {
    rule: RuleSpec {
        id: "iac.k8s.image-tag-mutable",
        title: "Image uses the latest tag or no tag",
        severity: Severity::Medium,
        description: "An image without a tag, or tagged latest, can change under the same name: deployments are not reproducible, rollbacks do not roll back, and a compromised registry push reaches production on the next restart. Images pinned by digest pass.",
        remediation: "Reference a fixed version tag, or better an immutable digest (image@sha256:...).",
        references: &[IMAGES_DOC, "https://kubernetes.io/docs/concepts/configuration/overview/#container-images"],
        compliance: &[(CIS_K8S, "5.5.1"), (SOC2, "CC8.1"), (ISO27001, "A.8.32")],
        checkov: &["CKV_K8S_14"],
    },
    kind: CheckKind::PerResource {
        kinds: WORKLOAD_KINDS,
        run: image_tag_mutable,
    },
};

fn image_tag_mutable(workload: &IacResource, _: &Context) -> Vec<Violation> {
    each_container(workload, ALL_CONTAINERS, |_, c| {
        let image = container_image(c)?;
        let reference = ImageRef::parse(image);
        if !reference.is_mutable_tag() {
            return None;
        }
        let what = match reference.tag {
            Some(tag) => format!("uses image tag `{tag}`"),
            None => "uses an image without a tag".to_string(),
        };
        Issue::new(what, format!("image: {image}"))
    })
}

pub(crate) const IMAGE_PULL_POLICY: Check = Check {
    rule: RuleSpec {
        id: "iac.k8s.image-pull-policy",
        title: "Image pull policy is not Always",
        severity: Severity::Low,
        description: "With imagePullPolicy IfNotPresent or Never a node reuses whatever image it cached under the tag, which for a mutable tag may not be the one intended, and skips the registry's check of the pod's pull credentials. A tag other than latest defaults to IfNotPresent. Images pinned by digest pass: their content cannot change.",
        remediation: "Set imagePullPolicy: Always, or pin the image by digest.",
        references: &[IMAGES_DOC],
        compliance: &[(SOC2, "CC8.1"), (ISO27001, "A.8.32")],
        checkov: &["CKV_K8S_15"],
    },
    kind: CheckKind::PerResource {
        kinds: WORKLOAD_KINDS,
        run: image_pull_policy,
    },
};

fn image_pull_policy(workload: &IacResource, _: &Context) -> Vec<Violation> {
    each_container(workload, ALL_CONTAINERS, |_, c| {
        let image = container_image(c)?;
        let reference = ImageRef::parse(image);
        if reference.digest.is_some() {
            return None;
        }
        match c.get("imagePullPolicy").and_then(Value::as_str) {
            Some("Always") => None,
            Some(policy) => Issue::new(
                format!("pulls image `{image}` with policy {policy}"),
                format!("imagePullPolicy: {policy}"),
            ),
            // Kubernetes defaults to Always for latest or untagged images.
            None if reference.is_mutable_tag() => None,
            None => Issue::new(
                format!("pulls image `{image}` with the default policy IfNotPresent"),
                "imagePullPolicy not set",
            ),
        }
    })
}

pub(crate) const IMAGE_DIGEST: Check = Check {
    rule: RuleSpec {
        id: "iac.k8s.image-digest",
        title: "Image is not pinned by digest",
        severity: Severity::Low,
        description: "Tags are mutable: whoever can push to the repository can change what a tag points to. Only a digest (image@sha256:...) guarantees that the reviewed image is the one that runs.",
        remediation: "Reference images by digest (keep the tag for readability: app:1.2@sha256:...), and update digests with a bot such as Renovate.",
        references: &[IMAGES_DOC],
        compliance: &[(CIS_K8S, "5.5.1"), (SOC2, "CC8.1"), (ISO27001, "A.8.32")],
        checkov: &["CKV_K8S_43"],
    },
    kind: CheckKind::PerResource {
        kinds: WORKLOAD_KINDS,
        run: image_digest,
    },
};

fn image_digest(workload: &IacResource, _: &Context) -> Vec<Violation> {
    each_container(workload, ALL_CONTAINERS, |_, c| {
        let image = container_image(c)?;
        if ImageRef::parse(image).digest.is_some() {
            return None;
        }
        Issue::new(
            "uses an image not pinned by digest",
            format!("image: {image}"),
        )
    })
}

/// A label of the pods a workload creates, or of the workload itself.
fn label<'a>(workload: &'a IacResource, key: &str) -> Option<&'a str> {
    pod_metadata(workload)
        .and_then(|m| m.get("labels"))
        .and_then(|l| l.get(key))
        .or_else(|| workload.get("metadata.labels").and_then(|l| l.get(key)))
        .and_then(Value::as_str)
}

/// Per-container violations for containers whose image matches, or one
/// workload-level violation when only the labels give the component away.
fn component_deployed(
    workload: &IacResource,
    component: &str,
    image_matches: fn(&ImageRef) -> bool,
    labels: &[(&str, &str)],
) -> Vec<Violation> {
    let by_image = each_container(workload, ALL_CONTAINERS, |_, c| {
        let image = container_image(c)?;
        if !image_matches(&ImageRef::parse(image)) {
            return None;
        }
        Issue::new(format!("runs {component}"), format!("image: {image}"))
    });
    if !by_image.is_empty() {
        return by_image;
    }
    labels
        .iter()
        .find(|(key, value)| label(workload, key) == Some(*value))
        .map(|(key, value)| {
            vec![Violation::new(format!("workload deploys {component}"))
                .evidence(format!("labels.{key}: {value}"))]
        })
        .unwrap_or_default()
}

pub(crate) const TILLER: Check = Check {
    rule: RuleSpec {
        id: "iac.k8s.tiller-deployed",
        title: "Tiller (Helm v2) is deployed",
        severity: Severity::High,
        description: "Tiller, the server side of Helm v2, is unmaintained since 2020, usually runs with cluster-admin rights and by default accepts unauthenticated gRPC requests from any pod: any workload can take over the cluster through it.",
        remediation: "Migrate to Helm 3, which has no in-cluster component, and delete the Tiller deployment and its service account bindings.",
        references: &["https://helm.sh/docs/topics/v2_v3_migration/", RBAC_GOOD_PRACTICES],
        compliance: &[(SOC2, "CC6.1"), (ISO27001, "A.8.2")],
        checkov: &["CKV_K8S_34"],
    },
    kind: CheckKind::PerResource {
        kinds: WORKLOAD_KINDS,
        run: |w, _| {
            component_deployed(
                w,
                "Tiller (Helm v2)",
                |image| image.short_name().contains("tiller"),
                &[("name", "tiller")],
            )
        },
    },
};

pub(crate) const DASHBOARD: Check = Check {
    rule: RuleSpec {
        id: "iac.k8s.kubernetes-dashboard",
        title: "Kubernetes dashboard is deployed",
        severity: Severity::Medium,
        description: "The Kubernetes dashboard is a web UI with the permissions of its service account; exposed or over-privileged dashboards have been the entry point of well-known cluster compromises.",
        remediation: "Remove the dashboard; use kubectl or a managed console with single sign-on. If it must stay, bind it to a read-only role and reach it only through kubectl proxy.",
        references: &["https://kubernetes.io/docs/tasks/access-application-cluster/web-ui-dashboard/"],
        compliance: &[(SOC2, "CC6.1"), (ISO27001, "A.8.2")],
        checkov: &["CKV_K8S_33"],
    },
    kind: CheckKind::PerResource {
        kinds: WORKLOAD_KINDS,
        run: |w, _| {
            component_deployed(
                w,
                "the Kubernetes dashboard",
                |image| {
                    image.repository.contains("kubernetes-dashboard")
                        || image.repository.contains("kubernetesui/dashboard")
                },
                &[("app", "kubernetes-dashboard"), ("k8s-app", "kubernetes-dashboard")],
            )
        },
    },
};

#[cfg(test)]
mod tests {
    use super::ImageRef;

    #[test]
    fn parses_registry_ports_tags_and_digests() {
        let r = ImageRef::parse("registry:5000/team/app:1.2@sha256:abc");
        assert_eq!(r.repository, "registry:5000/team/app");
        assert_eq!(r.tag, Some("1.2"));
        assert_eq!(r.digest, Some("sha256:abc"));
        assert_eq!(r.short_name(), "app");
        let r = ImageRef::parse("registry:5000/team/app");
        assert_eq!((r.tag, r.digest), (None, None));
        assert!(r.is_mutable_tag());
        assert!(ImageRef::parse("nginx:latest").is_mutable_tag());
        assert!(!ImageRef::parse("nginx@sha256:abc").is_mutable_tag());
        assert!(!ImageRef::parse("nginx:1.25").is_mutable_tag());
    }
}
