//! What the console's end-to-end test files share: the CLI in a temporary
//! home, and a server process stopped when the test ends.
//!
//! Each test file is its own crate and uses only part of this, hence the
//! `dead_code` allowances.

use std::process::Child;

use assert_cmd::Command;
use tempfile::TempDir;

/// The CLI with its home in `home`, never the developer's database or master key.
#[allow(dead_code)]
pub fn palisade(home: &TempDir) -> Command {
    let mut command = Command::cargo_bin("palisade").expect("binary");
    command
        .env("PALISADE_HOME", home.path())
        .env_remove("PALISADE_DATABASE_URL")
        .env_remove("PALISADE_MASTER_KEY")
        .env("USER", "tester");
    command
}

/// Kills the server when the test ends, however it ends.
#[allow(dead_code)]
pub struct Server(pub Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
