//! Running the `paicha` binary as a user runs it, for the tests of its commands.

#![allow(dead_code, reason = "each test binary uses part of it")]

use std::process::{Command, Output};

/// The built `paicha`, with none of the environment that would point it elsewhere.
pub fn paicha() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_paicha"));
    cmd.env_remove("PAICHA_DB")
        .env_remove("PAICHA_ADDR")
        .env("RUST_LOG", "warn");
    cmd
}

/// Runs a command to its end.
pub fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap()
}

/// Runs a command that must succeed; its stdout.
pub fn run_ok(cmd: &mut Command) -> String {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}
