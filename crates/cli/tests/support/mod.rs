//! What several end-to-end test files share: a moto server (the AWS API
//! emulator) started on a free port and stopped on drop.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command as Process;

/// A moto server on 127.0.0.1, stopped on drop.
pub struct Moto {
    child: std::process::Child,
    pub port: u16,
    /// The venv's Python, which has boto3 (installed with moto).
    pub python: PathBuf,
}

impl Moto {
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `$PALISADE_MOTO_SERVER`, else the venv `.ci/run` installs. Absent: the test
/// is skipped with a message, unless `.ci/run` said services are required.
pub fn moto_server_binary() -> Option<PathBuf> {
    let candidate = std::env::var_os("PALISADE_MOTO_SERVER")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .map(|home| Path::new(&home).join(".cache/palisade-venv/bin/moto_server"))
        })
        .filter(|p| p.is_file());
    if candidate.is_none() {
        assert!(
            std::env::var_os("PALISADE_REQUIRE_SERVICES").is_none(),
            "moto_server not found (set PALISADE_MOTO_SERVER or run .ci/run)"
        );
        eprintln!("skipped: moto_server not found; `bash .ci/run` installs it");
    }
    candidate
}

/// Starts moto with the given environment (e.g. `INITIAL_NO_AUTH_ACTION_COUNT`).
pub fn start_moto(env: &[(&str, &str)]) -> Option<Moto> {
    let binary = moto_server_binary()?;
    let python = binary.with_file_name("python");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let child = Process::new(binary)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("moto_server starts");
    let moto = Moto {
        child,
        port,
        python,
    };
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some(moto);
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("moto_server did not listen on port {port}");
}
