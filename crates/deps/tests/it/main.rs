//! Integration tests of palisade-deps: real-format lockfiles and OSV
//! records under `tests/fixtures/`, each with its expected result next to it.

mod archives;
mod image;
mod image_distros;
mod lockfiles;
mod matching;
mod robustness;
mod sbom;

use std::path::PathBuf;

pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}
