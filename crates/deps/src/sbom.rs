//! CycloneDX JSON (1.6 by default, 1.5 on request): written from an
//! inventory, with purls, hashes where the lockfile gives them and the
//! dependency graph where it is known; and read back as an inventory
//! (components with a purl) for `scan deps --sbom`.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::inventory::{parse_purl, Package};

/// The CycloneDX specification version written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpecVersion {
    V1_5,
    V1_6,
}

impl SpecVersion {
    pub fn as_str(self) -> &'static str {
        match self {
            SpecVersion::V1_5 => "1.5",
            SpecVersion::V1_6 => "1.6",
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Bom<'a> {
    bom_format: &'static str,
    spec_version: &'static str,
    serial_number: String,
    version: u32,
    metadata: Metadata<'a>,
    components: Vec<Component>,
    dependencies: Vec<Dependency>,
}

#[derive(Serialize)]
struct Metadata<'a> {
    timestamp: String,
    tools: Tools<'a>,
    component: MetadataComponent<'a>,
}

#[derive(Serialize)]
struct Tools<'a> {
    components: Vec<ToolComponent<'a>>,
}

#[derive(Serialize)]
struct ToolComponent<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    name: &'static str,
    version: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct MetadataComponent<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    name: &'a str,
    bom_ref: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct Component {
    #[serde(rename = "type")]
    kind: &'static str,
    bom_ref: String,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    group: Option<String>,
    version: String,
    purl: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    hashes: Vec<Hash>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    properties: Vec<Property>,
}

#[derive(Serialize)]
struct Hash {
    alg: &'static str,
    content: String,
}

#[derive(Serialize)]
struct Property {
    name: &'static str,
    value: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Dependency {
    #[serde(rename = "ref")]
    reference: String,
    depends_on: Vec<String>,
}

/// The component's bom-ref: its purl with `%40` (npm scopes) written `@`,
/// as cdxgen writes them and CycloneDX validators expect in references.
fn bom_ref(purl: &str) -> String {
    purl.replace("%40", "@")
}

/// A lockfile hash as CycloneDX wants it: algorithm and hex digest.
fn hash(text: &str) -> Option<Hash> {
    let (alg, value) = text.split_once([':', '-'])?;
    let alg = match alg.to_ascii_lowercase().as_str() {
        "sha1" => "SHA-1",
        "sha256" => "SHA-256",
        "sha384" => "SHA-384",
        "sha512" => "SHA-512",
        _ => return None,
    };
    let hex = if value.len() % 2 == 0 && value.bytes().all(|c| c.is_ascii_hexdigit()) {
        value.to_ascii_lowercase()
    } else {
        base64_to_hex(value)?
    };
    Some(Hash { alg, content: hex })
}

fn base64_to_hex(text: &str) -> Option<String> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut count = 0;
    let mut out = String::new();
    for c in text.trim_end_matches('=').bytes() {
        let value = ALPHABET.iter().position(|&a| a == c)? as u32;
        bits = (bits << 6) | value;
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push_str(&format!("{:02x}", (bits >> count) & 0xff));
        }
    }
    Some(out)
}

/// Writes `packages` as a CycloneDX JSON document about `subject`.
pub fn write(
    packages: &[Package],
    subject: &str,
    spec: SpecVersion,
    tool_version: &str,
    timestamp: chrono::DateTime<chrono::Utc>,
    serial: &str,
) -> Result<String> {
    // One component per purl; the files it was found in become properties.
    let mut by_purl: BTreeMap<String, (&Package, BTreeSet<&str>, BTreeSet<String>)> =
        BTreeMap::new();
    for package in packages {
        let entry = by_purl
            .entry(package.purl())
            .or_insert_with(|| (package, BTreeSet::new(), BTreeSet::new()));
        entry.1.insert(package.source.as_str());
        entry.2.extend(package.dependencies.iter().cloned());
    }
    let mut components = Vec::new();
    let mut dependencies = Vec::new();
    let mut roots = Vec::new();
    for (purl, (package, sources, depends_on)) in &by_purl {
        let (group, name) = match package.ecosystem {
            crate::Ecosystem::Maven => match package.name.split_once(':') {
                Some((g, n)) => (Some(g.to_string()), n.to_string()),
                None => (None, package.name.clone()),
            },
            _ => (None, package.name.clone()),
        };
        let mut properties: Vec<Property> = sources
            .iter()
            .map(|s| Property {
                name: "palisade:source",
                value: s.to_string(),
            })
            .collect();
        if let Some(direct) = package.direct {
            properties.push(Property {
                name: "palisade:direct",
                value: direct.to_string(),
            });
        }
        components.push(Component {
            kind: "library",
            bom_ref: bom_ref(purl),
            name,
            group,
            version: package.version.clone(),
            purl: purl.clone(),
            hashes: package.hashes.iter().filter_map(|h| hash(h)).collect(),
            properties,
        });
        if package.direct == Some(true) {
            roots.push(bom_ref(purl));
        }
        dependencies.push(Dependency {
            reference: bom_ref(purl),
            depends_on: depends_on
                .iter()
                .filter(|d| by_purl.contains_key(*d))
                .map(|d| bom_ref(d))
                .collect(),
        });
    }
    dependencies.insert(
        0,
        Dependency {
            reference: "root".into(),
            depends_on: roots,
        },
    );
    let bom = Bom {
        bom_format: "CycloneDX",
        spec_version: spec.as_str(),
        serial_number: format!("urn:uuid:{serial}"),
        version: 1,
        metadata: Metadata {
            timestamp: timestamp.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            tools: Tools {
                components: vec![ToolComponent {
                    kind: "application",
                    name: "palisade",
                    version: tool_version,
                }],
            },
            component: MetadataComponent {
                kind: "application",
                name: subject,
                bom_ref: "root",
            },
        },
        components,
        dependencies,
    };
    serde_json::to_string_pretty(&bom).map_err(|e| Error::parse(subject, e))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InputBom {
    bom_format: Option<String>,
    spec_version: Option<String>,
    #[serde(default)]
    components: Vec<Value>,
}

/// Reads the components of a CycloneDX JSON SBOM (nested ones too) that
/// have a purl palisade knows.
pub fn read(path: &str, content: &str) -> Result<Vec<Package>> {
    let bom: InputBom =
        serde_json::from_str(content).map_err(|e| Error::parse_at(path, e.line(), e))?;
    if bom.bom_format.as_deref() != Some("CycloneDX") {
        return Err(Error::parse(
            path,
            "not a CycloneDX JSON document (bomFormat)",
        ));
    }
    let spec = bom.spec_version.unwrap_or_default();
    if !matches!(spec.as_str(), "1.2" | "1.3" | "1.4" | "1.5" | "1.6") {
        return Err(Error::Unsupported {
            path: path.to_string(),
            what: format!("CycloneDX specVersion `{spec}`"),
        });
    }
    let mut out = Vec::new();
    let mut stack: Vec<&Value> = bom.components.iter().collect();
    while let Some(component) = stack.pop() {
        if let Some(children) = component.get("components").and_then(Value::as_array) {
            stack.extend(children);
        }
        let Some(purl) = component.get("purl").and_then(Value::as_str) else {
            continue;
        };
        let Some((ecosystem, name, version)) = parse_purl(purl) else {
            continue;
        };
        if version.is_empty() {
            continue;
        }
        out.push(Package::new(ecosystem, name, version, path));
    }
    out.sort_by_cached_key(Package::purl);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npm_integrity_becomes_hex_sha512() {
        let h = hash("sha512-3q2+7w==").map(|h| (h.alg, h.content));
        assert_eq!(h, Some(("SHA-512", "deadbeef".to_string())));
        let h = hash("sha256:DEADBEEF").map(|h| (h.alg, h.content));
        assert_eq!(h, Some(("SHA-256", "deadbeef".to_string())));
    }
}
