//! Which palisade source a Sigma `logsource` means, and where each Sigma
//! field of that source is found.
//!
//! A field resolves, in order, to: the mapping's entry for it (a column of
//! the source's files, or `$.a.b` for a path into the raw JSON record); a
//! column of the source with exactly that name (`actor`, `src_ip`, ...);
//! else the path into the raw JSON record that the name spells
//! (`requestParameters.bucketName`). A mapped column keeps the JSON path as
//! a fallback for files written before the column existed.
//!
//! The defaults are below ([`FieldMapping::default`]); a YAML file given
//! with `--mapping` adds to or overrides them:
//!
//! ```yaml
//! logsources:                  # extra logsource -> source mappings
//!   - { product: aws, service: cloudtrail, source: cloudtrail }
//! fields:
//!   cloudtrail:
//!     eventName: action        # a column
//!     userIdentity.arn: actor
//!     tlsVersion: $.tlsDetails.tlsVersion
//! placeholders:                # values of %name% for the expand modifier
//!   Administrators: [root, admin]
//! ```

use std::collections::HashMap;
use std::path::Path;

use palisade_lake::Source;
use serde::Deserialize;

use crate::error::{Error, Result};
use crate::event::FieldSpec;
use crate::sigma::value::Placeholders;

/// A Sigma `logsource` block.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct LogSource {
    pub category: Option<String>,
    pub product: Option<String>,
    pub service: Option<String>,
}

/// One logsource -> source rule of the mapping: every given attribute must match.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSourceMapping {
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub product: Option<String>,
    #[serde(default)]
    pub service: Option<String>,
    /// The palisade source (`cloudtrail`, `k8s_audit`).
    pub source: String,
}

/// Logsources and fields of every source.
#[derive(Debug, Clone)]
pub struct FieldMapping {
    logsources: Vec<(LogSourceMapping, Source)>,
    fields: HashMap<Source, HashMap<String, String>>,
    pub placeholders: Placeholders,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct MappingFile {
    logsources: Vec<LogSourceMapping>,
    fields: HashMap<String, HashMap<String, String>>,
    placeholders: Placeholders,
}

/// Sigma's CloudTrail field names that have a column of their own.
const CLOUDTRAIL_FIELDS: &[(&str, &str)] = &[
    ("eventName", "action"),
    ("eventSource", "event_source"),
    ("eventType", "event_type"),
    ("eventID", "event_id"),
    ("errorCode", "error_code"),
    ("errorMessage", "error_message"),
    ("sourceIPAddress", "source_ip_address"),
    ("userAgent", "user_agent"),
    ("awsRegion", "region"),
    ("requestID", "request_id"),
    ("readOnly", "read_only"),
    ("userIdentity.type", "identity_type"),
    ("userIdentity.accessKeyId", "access_key_id"),
];

/// Kubernetes audit field names that have a column of their own.
const K8S_AUDIT_FIELDS: &[(&str, &str)] = &[
    ("verb", "action"),
    ("user.username", "actor"),
    ("userAgent", "user_agent"),
    ("auditID", "request_id"),
    ("stage", "stage"),
    ("level", "level"),
    ("objectRef.resource", "object_resource"),
    ("objectRef.subresource", "object_subresource"),
    ("objectRef.namespace", "object_namespace"),
    ("objectRef.name", "object_name"),
    ("impersonatedUser.username", "impersonated_user"),
    ("responseStatus.code", "response_code"),
];

impl Default for FieldMapping {
    fn default() -> FieldMapping {
        let logsource = |product: &str, service: Option<&str>, source: Source| {
            (
                LogSourceMapping {
                    category: None,
                    product: Some(product.into()),
                    service: service.map(String::from),
                    source: source.name().into(),
                },
                source,
            )
        };
        let table = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<HashMap<_, _>>()
        };
        FieldMapping {
            logsources: vec![
                logsource("aws", Some("cloudtrail"), Source::CloudTrail),
                logsource("kubernetes", None, Source::K8sAudit),
            ],
            fields: HashMap::from([
                (Source::CloudTrail, table(CLOUDTRAIL_FIELDS)),
                (Source::K8sAudit, table(K8S_AUDIT_FIELDS)),
            ]),
            placeholders: Placeholders::new(),
        }
    }
}

fn same(want: &Option<String>, have: &Option<String>) -> bool {
    match want {
        None => true,
        Some(want) => have.as_ref().is_some_and(|h| h.eq_ignore_ascii_case(want)),
    }
}

impl FieldMapping {
    /// The defaults with a mapping file's entries added (they take precedence).
    pub fn with_file(mut self, path: &Path) -> Result<FieldMapping> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let file: MappingFile = serde_norway::from_str(&text).map_err(|e| Error::Config {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        let source_named = |name: &str| {
            name.parse::<Source>().map_err(|e| Error::Config {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })
        };
        let mut logsources = Vec::new();
        for mapping in file.logsources {
            let source = source_named(&mapping.source)?;
            logsources.push((mapping, source));
        }
        logsources.append(&mut self.logsources);
        self.logsources = logsources;
        for (source, fields) in file.fields {
            let source = source_named(&source)?;
            self.fields.entry(source).or_default().extend(fields);
        }
        self.placeholders.extend(file.placeholders);
        Ok(self)
    }

    /// The source a logsource means, if any.
    pub fn source_of(&self, logsource: &LogSource) -> Option<Source> {
        self.logsources
            .iter()
            .find(|(m, _)| {
                same(&m.product, &logsource.product)
                    && same(&m.service, &logsource.service)
                    && same(&m.category, &logsource.category)
            })
            .map(|(_, source)| *source)
    }

    /// Where the Sigma field `name` of `source` is read from.
    pub fn resolve(&self, source: Source, name: &str) -> FieldSpec {
        let json = |path: &str| path.split('.').map(String::from).collect::<Vec<_>>();
        let mapped = self.fields.get(&source).and_then(|fields| fields.get(name));
        match mapped {
            Some(target) => match target.strip_prefix("$.") {
                Some(path) => FieldSpec {
                    column: None,
                    json_path: json(path),
                },
                None => FieldSpec {
                    column: Some(target.clone()),
                    json_path: json(name),
                },
            },
            None => {
                let schema = source.file_schema();
                let is_column = schema.fields().iter().any(|f| f.name() == name)
                    && name != palisade_lake::schema::RAW_COLUMN;
                FieldSpec {
                    column: is_column.then(|| name.to_string()),
                    json_path: if is_column { Vec::new() } else { json(name) },
                }
            }
        }
    }

    /// The mapped fields of a source, for the documentation.
    pub fn fields_of(&self, source: Source) -> Vec<(String, String)> {
        let mut fields: Vec<(String, String)> = self
            .fields
            .get(&source)
            .map(|f| f.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        fields.sort();
        fields
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_resolve_to_columns_then_json() {
        let mapping = FieldMapping::default();
        let spec = mapping.resolve(Source::CloudTrail, "eventName");
        assert_eq!(spec.column.as_deref(), Some("action"));
        let spec = mapping.resolve(Source::CloudTrail, "src_ip");
        assert_eq!(spec.column.as_deref(), Some("src_ip"));
        let spec = mapping.resolve(Source::CloudTrail, "requestParameters.bucketName");
        assert_eq!(spec.column, None);
        assert_eq!(spec.json_path, vec!["requestParameters", "bucketName"]);
        let spec = mapping.resolve(Source::K8sAudit, "objectRef.resource");
        assert_eq!(spec.column.as_deref(), Some("object_resource"));
    }

    #[test]
    fn logsources_map_to_sources() {
        let mapping = FieldMapping::default();
        let aws = LogSource {
            product: Some("aws".into()),
            service: Some("cloudtrail".into()),
            ..LogSource::default()
        };
        assert_eq!(mapping.source_of(&aws), Some(Source::CloudTrail));
        let k8s = LogSource {
            category: Some("application".into()),
            product: Some("kubernetes".into()),
            service: Some("audit".into()),
        };
        assert_eq!(mapping.source_of(&k8s), Some(Source::K8sAudit));
        let windows = LogSource {
            product: Some("windows".into()),
            ..LogSource::default()
        };
        assert_eq!(mapping.source_of(&windows), None);
    }

    #[test]
    fn a_mapping_file_overrides_fields() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("mapping.yml");
        std::fs::write(
            &path,
            "fields:\n  cloudtrail:\n    userIdentity.arn: actor\n    tls: $.tlsDetails.tlsVersion\n\
             placeholders:\n  Admins: [root]\n",
        )
        .expect("write");
        let mapping = FieldMapping::default().with_file(&path).expect("valid");
        assert_eq!(
            mapping
                .resolve(Source::CloudTrail, "userIdentity.arn")
                .column
                .as_deref(),
            Some("actor")
        );
        assert_eq!(
            mapping.resolve(Source::CloudTrail, "tls").json_path,
            vec!["tlsDetails", "tlsVersion"]
        );
        assert_eq!(mapping.placeholders["Admins"], vec!["root".to_string()]);
        std::fs::write(&path, "fields:\n  windows: {}\n").expect("write");
        let error = FieldMapping::default()
            .with_file(&path)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("mapping.yml") && error.contains("windows"),
            "{error}"
        );
    }
}
