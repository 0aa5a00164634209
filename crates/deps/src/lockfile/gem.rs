//! `Gemfile.lock`: the `specs:` of every `GEM` source (platform suffixes
//! such as `-x86_64-linux` dropped), direct ones named under `DEPENDENCIES`.
//! `GIT` and `PATH` sources are not RubyGems releases and are skipped.

use std::collections::HashSet;

use crate::error::{Error, Result};
use crate::inventory::{Ecosystem, Package};

pub(super) fn parse(path: &str, content: &str) -> Result<Vec<Package>> {
    let mut section = "";
    let mut in_specs = false;
    let mut specs = Vec::new();
    let mut direct = HashSet::new();
    for (index, line) in content.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        if !line.starts_with(' ') {
            section = line.trim();
            in_specs = false;
            continue;
        }
        if section == "DEPENDENCIES" {
            if let Some(name) = line.strip_prefix("  ").filter(|l| !l.starts_with(' ')) {
                let name = name.split_whitespace().next().unwrap_or(name);
                direct.insert(name.trim_end_matches('!').to_string());
            }
            continue;
        }
        if section != "GEM" {
            continue;
        }
        if line == "  specs:" {
            in_specs = true;
            continue;
        }
        if !in_specs {
            continue;
        }
        let Some(spec) = line.strip_prefix("    ").filter(|l| !l.starts_with(' ')) else {
            continue;
        };
        let (Some(name), Some(version)) = (
            spec.split_whitespace().next(),
            spec.split_once('(').and_then(|(_, v)| v.strip_suffix(')')),
        ) else {
            return Err(Error::parse_at(
                path,
                index + 1,
                "expected `name (version)`",
            ));
        };
        let version = version.split('-').next().unwrap_or(version);
        specs.push((name.to_string(), version.to_string(), index + 1));
    }
    Ok(specs
        .into_iter()
        .map(|(name, version, line)| {
            let is_direct = direct.contains(&name);
            Package::new(Ecosystem::RubyGems, name, version, path)
                .direct(is_direct)
                .at_line(u32::try_from(line).unwrap_or(u32::MAX))
        })
        .collect())
}
