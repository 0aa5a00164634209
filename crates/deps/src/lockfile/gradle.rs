//! `gradle.lockfile`: `group:artifact:version=configuration,...` lines.

use crate::error::{Error, Result};
use crate::inventory::{Ecosystem, Package};

pub(super) fn parse(path: &str, content: &str) -> Result<Vec<Package>> {
    let mut out = Vec::new();
    for (index, line) in content.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with("empty=") {
            continue;
        }
        let coordinates = line.split('=').next().unwrap_or(line);
        let parts: Vec<&str> = coordinates.split(':').collect();
        let [group, artifact, version] = parts.as_slice() else {
            return Err(Error::parse_at(
                path,
                index + 1,
                "expected `group:artifact:version=configurations`",
            ));
        };
        out.push(
            Package::new(
                Ecosystem::Maven,
                format!("{group}:{artifact}"),
                *version,
                path,
            )
            .at_line(u32::try_from(index + 1).unwrap_or(u32::MAX)),
        );
    }
    Ok(out)
}
