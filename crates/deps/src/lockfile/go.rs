//! Go: `go.mod` (`require` directives; `// indirect` marks transitive ones;
//! `replace` directives are not applied) and `go.sum` (module lines, without
//! the `/go.mod`-only ones), used only where no `go.mod` sits next to it.

use std::collections::HashSet;

use crate::error::{Error, Result};
use crate::inventory::{Ecosystem, Package};

pub(super) fn parse_mod(path: &str, content: &str) -> Result<Vec<Package>> {
    let mut out = Vec::new();
    let mut in_block = false;
    for (index, raw) in content.lines().enumerate() {
        let (code, comment) = match raw.split_once("//") {
            Some((code, comment)) => (code.trim(), comment.trim()),
            None => (raw.trim(), ""),
        };
        let spec = if in_block {
            if code == ")" {
                in_block = false;
                continue;
            }
            code
        } else if let Some(rest) = code.strip_prefix("require") {
            let rest = rest.trim();
            if rest == "(" {
                in_block = true;
                continue;
            }
            rest
        } else {
            continue;
        };
        if spec.is_empty() {
            continue;
        }
        let mut words = spec.split_whitespace();
        let (Some(module), Some(version)) = (words.next(), words.next()) else {
            return Err(Error::parse_at(
                path,
                index + 1,
                "expected `module version` in a require directive",
            ));
        };
        let module = module.trim_matches('"');
        let indirect = comment.split(';').any(|c| c.trim() == "indirect");
        out.push(
            Package::new(Ecosystem::Go, module, version, path)
                .direct(!indirect)
                .at_line(u32::try_from(index + 1).unwrap_or(u32::MAX)),
        );
    }
    if in_block {
        return Err(Error::parse(path, "unterminated require block"));
    }
    Ok(out)
}

pub(super) fn parse_sum(path: &str, content: &str) -> Result<Vec<Package>> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for (index, line) in content.lines().enumerate() {
        let mut words = line.split_whitespace();
        let (Some(module), Some(version), Some(hash)) = (words.next(), words.next(), words.next())
        else {
            if line.trim().is_empty() {
                continue;
            }
            return Err(Error::parse_at(
                path,
                index + 1,
                "expected `module version hash`",
            ));
        };
        if version.ends_with("/go.mod") || !seen.insert((module, version)) {
            continue;
        }
        let mut package = Package::new(Ecosystem::Go, module, version, path)
            .at_line(u32::try_from(index + 1).unwrap_or(u32::MAX));
        package.hashes.push(hash.to_string());
        out.push(package);
    }
    Ok(out)
}
