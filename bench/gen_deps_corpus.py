#!/usr/bin/env python3
"""Generates the dependency-scanning benchmark corpus.

- OUT/monorepo: a synthetic monorepo of LOCKFILES lockfiles in nine formats
  (package-lock.json v3, yarn.lock, pnpm-lock.yaml v9, requirements.txt,
  Cargo.lock, go.mod, Gemfile.lock, composer.lock, gradle.lockfile) holding
  PACKAGES package entries in total.
- OUT/osv/<ecosystem>/all.zip: OSV exports shaped like osv.dev's, RECORDS
  records in total, each naming one package with one or two ranges; about one
  package in twenty of the monorepo's is affected at the version it has.
- OUT/expected.txt: the purls of the monorepo (what a complete SBOM lists).

Deterministic (seeded), standard library only.
"""

import json
import os
import random
import sys
import zipfile

OUT = sys.argv[1] if len(sys.argv) > 1 else "deps-corpus"
LOCKFILES = int(os.environ.get("LOCKFILES", "60"))
PACKAGES = int(os.environ.get("PACKAGES", "20000"))
RECORDS = int(os.environ.get("RECORDS", "200000"))

rng = random.Random(6)

# (ecosystem, purl type, lockfile kind)
KINDS = [
    ("npm", "npm", "package-lock"),
    ("npm", "npm", "yarn"),
    ("npm", "npm", "pnpm"),
    ("PyPI", "pypi", "requirements"),
    ("crates.io", "cargo", "cargo"),
    ("Go", "golang", "gomod"),
    ("RubyGems", "gem", "gemfile"),
    ("Packagist", "composer", "composer"),
    ("Maven", "maven", "gradle"),
]
# Share of the package entries each kind gets (npm dominates real monorepos).
WEIGHTS = [30, 10, 10, 10, 10, 8, 7, 7, 8]


def name_for(ecosystem, i):
    if ecosystem == "npm":
        return f"@scope{i % 50}/pkg-{i}" if i % 7 == 0 else f"pkg-{i}"
    if ecosystem == "Go":
        return f"github.com/org{i % 40}/mod-{i}"
    if ecosystem == "Packagist":
        return f"vendor{i % 30}/lib-{i}"
    if ecosystem == "Maven":
        return f"org.example{i % 20}:artifact-{i}"
    if ecosystem == "PyPI":
        return f"py-pkg-{i}"
    return f"pkg-{i}"


def version_for(i):
    return f"{i % 5 + 1}.{i % 13}.{i % 7}"


# A well-formed (if meaningless) sha512 integrity string.
INTEGRITY = "sha512-" + "A" * 86 + "=="


def lockfile(kind, ecosystem, entries):
    """Text of one lockfile of `kind` holding `entries` [(name, version)]."""
    if kind == "package-lock":
        packages = {"": {"name": "app", "dependencies": {n: "^" + v for n, v in entries[:20]}}}
        for n, v in entries:
            packages[f"node_modules/{n}"] = {
                "version": v,
                "resolved": f"https://registry.npmjs.org/{n}/-/{n.split('/')[-1]}-{v}.tgz",
                "integrity": INTEGRITY,
            }
        return json.dumps({"name": "app", "lockfileVersion": 3, "requires": True, "packages": packages}, indent=2)
    if kind == "yarn":
        out = ["# yarn lockfile v1", ""]
        for n, v in entries:
            out += [f'"{n}@^{v}":', f'  version "{v}"', f'  resolved "https://registry.yarnpkg.com/{n}/-/x-{v}.tgz"', ""]
        return "\n".join(out)
    if kind == "pnpm":
        out = ["lockfileVersion: '9.0'", "", "importers:", "", "  .:", "    dependencies:"]
        for n, v in entries[:20]:
            out += [f"      '{n}':", f"        specifier: ^{v}", f"        version: {v}"]
        out += ["", "packages:", ""]
        for n, v in entries:
            out += [f"  '{n}@{v}':", f"    resolution: {{integrity: {INTEGRITY}}}", ""]
        return "\n".join(out)
    if kind == "requirements":
        return "\n".join(f"{n}=={v}" for n, v in entries) + "\n"
    if kind == "cargo":
        out = ["version = 3", "", "[[package]]", 'name = "app"', 'version = "0.1.0"', ""]
        for n, v in entries:
            out += ["[[package]]", f'name = "{n}"', f'version = "{v}"',
                    'source = "registry+https://github.com/rust-lang/crates.io-index"', ""]
        return "\n".join(out)
    if kind == "gomod":
        out = ["module example.com/app", "", "go 1.22", "", "require ("]
        out += [f"\t{n} v{v}" for n, v in entries]
        return "\n".join(out + [")", ""])
    if kind == "gemfile":
        out = ["GEM", "  remote: https://rubygems.org/", "  specs:"]
        out += [f"    {n} ({v})" for n, v in entries]
        out += ["", "PLATFORMS", "  ruby", "", "DEPENDENCIES"] + [f"  {n}" for n, _ in entries[:20]]
        return "\n".join(out + [""])
    if kind == "composer":
        return json.dumps({"packages": [{"name": n, "version": v, "type": "library"} for n, v in entries]}, indent=4)
    if kind == "gradle":
        out = ["# Gradle lockfile"] + [f"{n}:{v}=runtimeClasspath" for n, v in entries]
        return "\n".join(out + ["empty="])
    raise ValueError(kind)


FILE_NAMES = {
    "package-lock": "package-lock.json",
    "yarn": "yarn.lock",
    "pnpm": "pnpm-lock.yaml",
    "requirements": "requirements.txt",
    "cargo": "Cargo.lock",
    "gomod": "go.mod",
    "gemfile": "Gemfile.lock",
    "composer": "composer.lock",
    "gradle": "gradle.lockfile",
}
PURL_NAMESPACES = {"Maven": ":", "Go": "/", "Packagist": "/"}


def purl(ecosystem, purl_type, name, version):
    if ecosystem == "npm" and name.startswith("@"):
        scope, rest = name[1:].split("/", 1)
        return f"pkg:npm/%40{scope}/{rest}@{version}"
    if ecosystem == "Maven":
        group, artifact = name.split(":")
        return f"pkg:maven/{group}/{artifact}@{version}"
    if ecosystem == "Go":
        return f"pkg:golang/{name}@v{version}"
    return f"pkg:{purl_type}/{name}@{version}"


def main():
    repo = os.path.join(OUT, "monorepo")
    os.makedirs(repo, exist_ok=True)
    total_weight = sum(WEIGHTS)
    per_kind_files = [max(1, round(LOCKFILES * w / total_weight)) for w in WEIGHTS]
    per_kind_packages = [PACKAGES * w // total_weight for w in WEIGHTS]
    used = {}  # ecosystem -> [(name, version)]
    expected = set()
    next_id = 0
    files = 0
    for (ecosystem, purl_type, kind), n_files, n_packages in zip(KINDS, per_kind_files, per_kind_packages):
        per_file = max(1, n_packages // n_files)
        for f in range(n_files):
            entries = []
            for _ in range(per_file):
                # Some packages repeat across lockfiles, as in a real monorepo.
                i = rng.randrange(next_id) if next_id and rng.random() < 0.2 else next_id
                if i == next_id:
                    next_id += 1
                entries.append((name_for(ecosystem, i), version_for(i)))
            entries = list(dict.fromkeys(entries))
            used.setdefault(ecosystem, []).extend(entries)
            for n, v in entries:
                expected.add(purl(ecosystem, purl_type, n, v))
            d = os.path.join(repo, f"services/{kind}-{f:02d}")
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, FILE_NAMES[kind]), "w") as fh:
                fh.write(lockfile(kind, ecosystem, entries))
            files += 1
    with open(os.path.join(OUT, "expected.txt"), "w") as fh:
        fh.write("\n".join(sorted(expected)) + "\n")

    # OSV records: one in four names a package of the monorepo, and one in
    # fifty of those is affected at the installed version (about one package
    # in twenty ends up with a finding, as in a maintained monorepo).
    ecosystems = [k[0] for k in KINDS]
    ecosystems = sorted(set(ecosystems), key=ecosystems.index)
    writers = {}
    for ecosystem in ecosystems:
        d = os.path.join(OUT, "osv", ecosystem)
        os.makedirs(d, exist_ok=True)
        writers[ecosystem] = zipfile.ZipFile(os.path.join(d, "all.zip"), "w", zipfile.ZIP_DEFLATED)
    pool = {e: list(dict.fromkeys(used.get(e, []))) for e in ecosystems}
    for r in range(RECORDS):
        ecosystem = ecosystems[r % len(ecosystems)]
        if rng.random() < 0.25 and pool[ecosystem]:
            name, version = rng.choice(pool[ecosystem])
            major = int(version.split(".")[0])
            affected = rng.random() < 0.02
            fixed = f"{major + 1}.0.0" if affected else f"{major}.0.0"
        else:
            name = name_for(ecosystem, 10_000_000 + r)
            fixed = "2.0.0"
        record_id = f"BENCH-{ecosystem.replace('.', '')}-{r:07d}"
        record = {
            "schema_version": "1.6.0",
            "id": record_id,
            "modified": "2026-11-30T00:00:00Z",
            "published": "2026-01-01T00:00:00Z",
            "aliases": [f"CVE-2026-{r:07d}"],
            "summary": f"Synthetic advisory {r}",
            "details": "Generated for the palisade benchmark. " * 8,
            "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"}],
            "affected": [{
                "package": {"ecosystem": ecosystem, "name": name},
                "ranges": [{"type": "SEMVER" if ecosystem in ("npm", "crates.io", "Go") else "ECOSYSTEM",
                            "events": [{"introduced": "0"}, {"fixed": fixed}]}],
            }],
            "references": [{"type": "ADVISORY", "url": f"https://example.com/advisories/{record_id}"}],
            "database_specific": {"severity": "HIGH"},
        }
        writers[ecosystem].writestr(f"{record_id}.json", json.dumps(record))
    for w in writers.values():
        w.close()
    print(f"{files} lockfiles, {len(expected)} distinct packages "
          f"({sum(len(v) for v in used.values())} entries), {RECORDS} OSV records -> {OUT}")


if __name__ == "__main__":
    main()
