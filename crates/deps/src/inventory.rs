//! The package inventory: what a lockfile, manifest, SBOM or image says is installed.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::version::VersionScheme;

/// A package ecosystem, named as OSV names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Ecosystem {
    CratesIo,
    Npm,
    PyPI,
    Go,
    RubyGems,
    Packagist,
    Maven,
    /// Debian, with its release number (`Debian:12`) when known.
    Debian(Option<String>),
    /// Alpine, with its release (`Alpine:v3.19`) when known.
    Alpine(Option<String>),
    /// Ubuntu, with its release as OSV names it (`22.04:LTS`, `24.10`) when known.
    Ubuntu(Option<String>),
    /// AlmaLinux, with its major release (`AlmaLinux:9`) when known.
    AlmaLinux(Option<String>),
    /// Rocky Linux, with its major release (`Rocky Linux:9`) when known.
    RockyLinux(Option<String>),
    /// RPM packages of a distribution OSV has no advisories for (Fedora,
    /// RHEL, Amazon Linux, CentOS ...): `fedora-39`. Inventoried, never matched.
    OtherRpm(String),
}

impl Ecosystem {
    /// The ecosystem string of OSV records (`crates.io`, `PyPI`, `Debian:12`).
    pub fn osv_name(&self) -> String {
        match self {
            Ecosystem::CratesIo => "crates.io".into(),
            Ecosystem::Npm => "npm".into(),
            Ecosystem::PyPI => "PyPI".into(),
            Ecosystem::Go => "Go".into(),
            Ecosystem::RubyGems => "RubyGems".into(),
            Ecosystem::Packagist => "Packagist".into(),
            Ecosystem::Maven => "Maven".into(),
            Ecosystem::Debian(None) => "Debian".into(),
            Ecosystem::Debian(Some(release)) => format!("Debian:{release}"),
            Ecosystem::Alpine(None) => "Alpine".into(),
            Ecosystem::Alpine(Some(release)) => format!("Alpine:{release}"),
            Ecosystem::Ubuntu(None) => "Ubuntu".into(),
            Ecosystem::Ubuntu(Some(release)) => format!("Ubuntu:{release}"),
            Ecosystem::AlmaLinux(None) => "AlmaLinux".into(),
            Ecosystem::AlmaLinux(Some(release)) => format!("AlmaLinux:{release}"),
            Ecosystem::RockyLinux(None) => "Rocky Linux".into(),
            Ecosystem::RockyLinux(Some(release)) => format!("Rocky Linux:{release}"),
            Ecosystem::OtherRpm(distro) => format!("rpm:{distro}"),
        }
    }

    /// The distribution of an OS package (`debian`, `ubuntu`, `almalinux`
    /// ...), as purls name it; `None` for language ecosystems.
    pub fn distribution(&self) -> Option<&str> {
        Some(match self {
            Ecosystem::Debian(_) => "debian",
            Ecosystem::Alpine(_) => "alpine",
            Ecosystem::Ubuntu(_) => "ubuntu",
            Ecosystem::AlmaLinux(_) => "almalinux",
            Ecosystem::RockyLinux(_) => "rocky",
            Ecosystem::OtherRpm(distro) => distro
                .rsplit_once('-')
                .map_or(distro.as_str(), |(name, _)| name),
            _ => return None,
        })
    }

    /// Parses an OSV ecosystem string; `None` for ecosystems palisade does not inventory.
    pub fn from_osv(name: &str) -> Option<Ecosystem> {
        let (base, release) = match name.split_once(':') {
            Some((base, release)) => (base, Some(release.to_string())),
            None => (name, None),
        };
        Some(match base {
            "crates.io" => Ecosystem::CratesIo,
            "npm" => Ecosystem::Npm,
            "PyPI" => Ecosystem::PyPI,
            "Go" => Ecosystem::Go,
            "RubyGems" => Ecosystem::RubyGems,
            "Packagist" => Ecosystem::Packagist,
            "Maven" => Ecosystem::Maven,
            "Debian" => Ecosystem::Debian(release),
            "Alpine" => Ecosystem::Alpine(release),
            "Ubuntu" => Ecosystem::Ubuntu(release),
            "AlmaLinux" => Ecosystem::AlmaLinux(release),
            "Rocky Linux" => Ecosystem::RockyLinux(release),
            "rpm" => Ecosystem::OtherRpm(release?),
            _ => return None,
        })
    }

    /// How the ecosystem orders versions.
    pub fn version_scheme(&self) -> VersionScheme {
        match self {
            Ecosystem::CratesIo | Ecosystem::Npm | Ecosystem::Go | Ecosystem::Packagist => {
                VersionScheme::Semver
            }
            Ecosystem::PyPI => VersionScheme::Pep440,
            Ecosystem::RubyGems => VersionScheme::RubyGems,
            Ecosystem::Maven => VersionScheme::Maven,
            Ecosystem::Debian(_) | Ecosystem::Ubuntu(_) => VersionScheme::Dpkg,
            Ecosystem::Alpine(_) => VersionScheme::Apk,
            Ecosystem::AlmaLinux(_) | Ecosystem::RockyLinux(_) | Ecosystem::OtherRpm(_) => {
                VersionScheme::Rpm
            }
        }
    }

    /// The package name as the ecosystem compares names: PyPI names are
    /// normalised (PEP 503), Packagist names are case-insensitive.
    pub fn normalize_name(&self, name: &str) -> String {
        match self {
            Ecosystem::PyPI => {
                let mut out = String::with_capacity(name.len());
                let mut separator = false;
                for c in name.trim().chars() {
                    if matches!(c, '-' | '_' | '.') {
                        separator = true;
                    } else {
                        if separator && !out.is_empty() {
                            out.push('-');
                        }
                        separator = false;
                        out.push(c.to_ascii_lowercase());
                    }
                }
                out
            }
            Ecosystem::Packagist => name.trim().to_ascii_lowercase(),
            _ => name.trim().to_string(),
        }
    }

    /// The package-url type (`cargo`, `npm`, `pypi` ...).
    pub fn purl_type(&self) -> &'static str {
        match self {
            Ecosystem::CratesIo => "cargo",
            Ecosystem::Npm => "npm",
            Ecosystem::PyPI => "pypi",
            Ecosystem::Go => "golang",
            Ecosystem::RubyGems => "gem",
            Ecosystem::Packagist => "composer",
            Ecosystem::Maven => "maven",
            Ecosystem::Debian(_) | Ecosystem::Ubuntu(_) => "deb",
            Ecosystem::Alpine(_) => "apk",
            Ecosystem::AlmaLinux(_) | Ecosystem::RockyLinux(_) | Ecosystem::OtherRpm(_) => "rpm",
        }
    }

    /// The ecosystem of a package-url type.
    pub fn from_purl_type(purl_type: &str) -> Option<Ecosystem> {
        Some(match purl_type {
            "cargo" => Ecosystem::CratesIo,
            "npm" => Ecosystem::Npm,
            "pypi" => Ecosystem::PyPI,
            "golang" => Ecosystem::Go,
            "gem" => Ecosystem::RubyGems,
            "composer" => Ecosystem::Packagist,
            "maven" => Ecosystem::Maven,
            "deb" => Ecosystem::Debian(None),
            "apk" => Ecosystem::Alpine(None),
            "rpm" => Ecosystem::OtherRpm(String::new()),
            _ => return None,
        })
    }
}

impl fmt::Display for Ecosystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.osv_name())
    }
}

impl From<Ecosystem> for String {
    fn from(ecosystem: Ecosystem) -> String {
        ecosystem.osv_name()
    }
}

impl TryFrom<String> for Ecosystem {
    type Error = String;

    fn try_from(name: String) -> Result<Self, Self::Error> {
        Ecosystem::from_osv(&name).ok_or_else(|| format!("unknown ecosystem `{name}`"))
    }
}

/// One installed (or locked) package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Package {
    pub ecosystem: Ecosystem,
    /// As the ecosystem spells it: `serde`, `@babel/core`, `org.apache.logging.log4j:log4j-core`.
    pub name: String,
    pub version: String,
    /// Whether the project depends on it directly; `None` when the file does not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direct: Option<bool>,
    /// The lockfile, manifest or image layer it was read from, relative to the scan root.
    pub source: String,
    /// The 1-based line of its entry in `source`, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// For distribution packages: the source package advisories are written against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_package: Option<String>,
    /// Integrity hashes as the lockfile gives them (`sha256:...`, `sha512-...`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hashes: Vec<String>,
    /// purls of the packages this one depends on, where the lockfile says.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<String>,
    /// For packages found in a container image: the layer that last wrote `source`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<String>,
}

impl Package {
    pub fn new(
        ecosystem: Ecosystem,
        name: impl Into<String>,
        version: impl Into<String>,
        source: impl Into<String>,
    ) -> Self {
        Self {
            ecosystem,
            name: name.into(),
            version: version.into(),
            direct: None,
            source: source.into(),
            line: None,
            source_package: None,
            hashes: Vec::new(),
            dependencies: Vec::new(),
            layer: None,
        }
    }

    pub fn direct(mut self, direct: bool) -> Self {
        self.direct = Some(direct);
        self
    }

    pub fn at_line(mut self, line: u32) -> Self {
        self.line = Some(line);
        self
    }

    /// The package-url (purl-spec) of this package.
    pub fn purl(&self) -> String {
        purl(&self.ecosystem, &self.name, &self.version)
    }

    /// The name advisories are matched against: the source package for
    /// distribution packages, else the name.
    pub fn advisory_name(&self) -> &str {
        self.source_package.as_deref().unwrap_or(&self.name)
    }
}

/// The package-url of `name@version` in `ecosystem`.
pub fn purl(ecosystem: &Ecosystem, name: &str, version: &str) -> String {
    let (namespace, name) = match ecosystem {
        Ecosystem::Npm => match name.strip_prefix('@').and_then(|n| n.split_once('/')) {
            Some((scope, name)) => (Some(format!("%40{}", encode(scope))), name.to_string()),
            None => (None, name.to_string()),
        },
        Ecosystem::Maven => match name.split_once(':') {
            Some((group, artifact)) => (Some(encode(group)), artifact.to_string()),
            None => (None, name.to_string()),
        },
        Ecosystem::Go | Ecosystem::Packagist => match name.rsplit_once('/') {
            Some((namespace, name)) => (
                Some(
                    namespace
                        .split('/')
                        .map(encode)
                        .collect::<Vec<_>>()
                        .join("/"),
                ),
                name.to_string(),
            ),
            None => (None, name.to_string()),
        },
        Ecosystem::PyPI => (None, ecosystem.normalize_name(name)),
        _ if ecosystem.distribution().is_some() => (
            ecosystem.distribution().map(str::to_string),
            name.to_string(),
        ),
        _ => (None, name.to_string()),
    };
    let mut out = format!("pkg:{}/", ecosystem.purl_type());
    if let Some(namespace) = namespace {
        out.push_str(&namespace);
        out.push('/');
    }
    out.push_str(&encode(&name));
    // RPM versions carry their epoch as a qualifier (purl-spec's rpm type).
    let (epoch, version) = match version.split_once(':') {
        Some((epoch, rest))
            if ecosystem.purl_type() == "rpm"
                && !epoch.is_empty()
                && epoch.bytes().all(|c| c.is_ascii_digit()) =>
        {
            (Some(epoch), rest)
        }
        _ => (None, version),
    };
    if !version.is_empty() {
        out.push('@');
        out.push_str(&encode(version));
    }
    let distro = match ecosystem {
        Ecosystem::Debian(Some(release)) => Some(format!("debian-{release}")),
        Ecosystem::Alpine(Some(release)) => {
            Some(format!("alpine-{}", release.trim_start_matches('v')))
        }
        Ecosystem::Ubuntu(Some(release)) => Some(format!(
            "ubuntu-{}",
            release.split(':').next().unwrap_or(release)
        )),
        Ecosystem::AlmaLinux(Some(release)) => Some(format!("almalinux-{release}")),
        Ecosystem::RockyLinux(Some(release)) => Some(format!("rocky-{release}")),
        Ecosystem::OtherRpm(distro) if distro.contains('-') => Some(distro.clone()),
        _ => None,
    };
    // Qualifiers in key order, as purl-spec's canonical form has them.
    let qualifiers: Vec<String> = [
        distro.map(|d| format!("distro={d}")),
        epoch.map(|e| format!("epoch={e}")),
    ]
    .into_iter()
    .flatten()
    .collect();
    if !qualifiers.is_empty() {
        out.push('?');
        out.push_str(&qualifiers.join("&"));
    }
    out
}

/// OSV's name of an Ubuntu release (`22.04:LTS`, `24.10`): long-term
/// support releases are the even years' April ones.
pub fn ubuntu_release(version_id: &str) -> String {
    let mut parts = version_id.split('.');
    let lts = match (
        parts.next().and_then(|y| y.parse::<u32>().ok()),
        parts.next(),
    ) {
        (Some(year), Some("04")) => year % 2 == 0,
        _ => false,
    };
    if lts {
        format!("{version_id}:LTS")
    } else {
        version_id.to_string()
    }
}

/// Percent-encodes what purl-spec does not allow in a segment.
fn encode(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'~' | b'+' | b':') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Parses a package-url into ecosystem, name and version.
pub fn parse_purl(purl: &str) -> Option<(Ecosystem, String, String)> {
    let rest = purl.strip_prefix("pkg:")?;
    let rest = rest.split('#').next()?;
    let (rest, qualifiers) = rest.split_once('?').unwrap_or((rest, ""));
    let (purl_type, path) = rest.split_once('/')?;
    let mut ecosystem = Ecosystem::from_purl_type(&purl_type.to_ascii_lowercase())?;
    // `distro=debian-12` / `distro=alpine-3.19` names the release advisories are filed under.
    let distro = qualifiers
        .split('&')
        .find_map(|q| q.strip_prefix("distro="))
        .map(decode);
    let (rest_path, _) = path.split_once('@').unwrap_or((path, ""));
    let namespace = rest_path.split_once('/').map(|(n, _)| decode(n));
    match (&ecosystem, namespace.as_deref()) {
        (Ecosystem::Debian(_), Some("ubuntu")) => ecosystem = Ecosystem::Ubuntu(None),
        (Ecosystem::OtherRpm(_), Some("almalinux")) => ecosystem = Ecosystem::AlmaLinux(None),
        (Ecosystem::OtherRpm(_), Some("rocky")) => ecosystem = Ecosystem::RockyLinux(None),
        (Ecosystem::OtherRpm(_), namespace) => {
            ecosystem = Ecosystem::OtherRpm(namespace.unwrap_or("rpm").to_string())
        }
        _ => {}
    }
    let major_of = |distro: &str, prefix: &str| {
        let version = distro.strip_prefix(prefix).unwrap_or(distro).to_string();
        let major = version.split('.').next().unwrap_or(&version).to_string();
        Some(major).filter(|m| !m.is_empty() && m.bytes().all(|c| c.is_ascii_digit()))
    };
    match (&mut ecosystem, distro) {
        (Ecosystem::Ubuntu(release), Some(distro)) => {
            let version = distro.strip_prefix("ubuntu-").unwrap_or(&distro);
            if version.contains('.') {
                *release = Some(ubuntu_release(version));
            }
        }
        (Ecosystem::AlmaLinux(release), Some(distro)) => *release = major_of(&distro, "almalinux-"),
        (Ecosystem::RockyLinux(release), Some(distro)) => *release = major_of(&distro, "rocky-"),
        (Ecosystem::OtherRpm(name), Some(distro)) => *name = distro,
        (Ecosystem::Debian(release), Some(distro)) => {
            let version = distro.strip_prefix("debian-").unwrap_or(&distro);
            let major = version.split('.').next().unwrap_or(version);
            *release = Some(major.to_string()).filter(|m| m.bytes().all(|c| c.is_ascii_digit()));
        }
        (Ecosystem::Alpine(release), Some(distro)) => {
            let version = distro.strip_prefix("alpine-").unwrap_or(&distro);
            let mut parts = version.split('.');
            if let (Some(major), Some(minor)) = (parts.next(), parts.next()) {
                *release = Some(format!("v{major}.{minor}"));
            }
        }
        _ => {}
    }
    let (path, mut version) = match path.rsplit_once('@') {
        Some((path, version)) => (path, decode(version)),
        None => (path, String::new()),
    };
    if let Some(epoch) = qualifiers.split('&').find_map(|q| q.strip_prefix("epoch=")) {
        if ecosystem.purl_type() == "rpm" && !version.is_empty() {
            version = format!("{}:{version}", decode(epoch));
        }
    }
    let (namespace, name) = match path.rsplit_once('/') {
        Some((namespace, name)) => (Some(decode(namespace)), decode(name)),
        None => (None, decode(path)),
    };
    let name = match (&ecosystem, namespace) {
        (Ecosystem::Maven, Some(group)) => format!("{group}:{name}"),
        (e, _) if e.distribution().is_some() => name,
        (_, Some(namespace)) => format!("{namespace}/{name}"),
        (_, None) => name,
    };
    Some((ecosystem, name, version))
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purls_follow_the_spec_examples() {
        assert_eq!(
            purl(&Ecosystem::Npm, "@babel/core", "7.0.0"),
            "pkg:npm/%40babel/core@7.0.0"
        );
        assert_eq!(
            purl(
                &Ecosystem::Maven,
                "org.apache.logging.log4j:log4j-core",
                "2.14.1"
            ),
            "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"
        );
        assert_eq!(
            purl(&Ecosystem::Go, "github.com/gorilla/mux", "v1.8.0"),
            "pkg:golang/github.com/gorilla/mux@v1.8.0"
        );
        assert_eq!(
            purl(&Ecosystem::PyPI, "Django_Rest.Framework", "3.0"),
            "pkg:pypi/django-rest-framework@3.0"
        );
        assert_eq!(
            purl(
                &Ecosystem::Debian(Some("12".into())),
                "openssl",
                "3.0.11-1~deb12u2"
            ),
            "pkg:deb/debian/openssl@3.0.11-1~deb12u2?distro=debian-12"
        );
    }

    #[test]
    fn purls_round_trip() {
        for (ecosystem, name, version) in [
            (Ecosystem::Npm, "@babel/core", "7.0.0"),
            (Ecosystem::Maven, "org.apache:commons", "1.0"),
            (Ecosystem::Go, "github.com/gorilla/mux", "v1.8.0"),
            (Ecosystem::CratesIo, "serde", "1.0.0"),
            (
                Ecosystem::AlmaLinux(Some("9".into())),
                "openssl-libs",
                "1:3.0.7-24.el9",
            ),
            (
                Ecosystem::Ubuntu(Some("22.04:LTS".into())),
                "libssl3",
                "3.0.2-0ubuntu1.10",
            ),
            (
                Ecosystem::OtherRpm("fedora-39".into()),
                "curl",
                "8.2.1-1.fc39",
            ),
        ] {
            let parsed = parse_purl(&purl(&ecosystem, name, version));
            assert_eq!(
                parsed,
                Some((ecosystem, name.to_string(), version.to_string()))
            );
        }
    }

    #[test]
    fn osv_ecosystem_names_round_trip() {
        for name in [
            "crates.io",
            "npm",
            "PyPI",
            "Go",
            "RubyGems",
            "Packagist",
            "Maven",
            "Debian:12",
            "Alpine:v3.19",
            "Ubuntu:22.04:LTS",
            "AlmaLinux:9",
            "Rocky Linux:9",
        ] {
            assert_eq!(
                Ecosystem::from_osv(name).map(|e| e.osv_name()),
                Some(name.to_string())
            );
        }
        assert_eq!(Ecosystem::from_osv("Hackage"), None);
    }
}
