# METADATA
# title: Container image from an untrusted registry
# description: Images must come from the company registry so they are scanned and signed before use.
# related_resources:
#   - ref: https://kubernetes.io/docs/concepts/containers/images/
# custom:
#   id: acme.k8s.trusted-registry
#   severity: high
#   remediation: Push the image to registry.example.com and reference it from there.
package acme.kubernetes.registries

import rego.v1

trusted := "registry.example.com/"

containers contains c if {
	some c in input.attributes.spec.template.spec.containers
}

containers contains c if {
	some c in input.attributes.spec.jobTemplate.spec.template.spec.containers
}

containers contains c if {
	input.kind == "Pod"
	some c in input.attributes.spec.containers
}

deny contains msg if {
	input.framework == "kubernetes"
	some c in containers
	not startswith(c.image, trusted)
	msg := sprintf("container `%s` uses image `%s` from outside %s", [c.name, c.image, trusted])
}
