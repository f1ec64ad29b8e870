//! Figures for docs/performance.md, "In the browser": send → shown from Alice's page to
//! Bob's, each served by its own `quarks serve` (release binaries) on the local network on
//! 127.0.0.1, in Debian's Chromium (client/cli/web/test/latency.mjs). Nothing is asserted.
//!
//!     cargo build --release -p quarks-cli && cargo bench -p quarks-node --bench web
//!
//! COUNT (100) messages, one every EVERY_MS (1000), both read from the environment.

#[path = "../tests/common/mod.rs"]
mod common;

use common::*;
use std::path::Path;

#[tokio::main]
async fn main() {
	println!("profile: {}", if cfg!(debug_assertions) { "debug" } else { "release" });
	let dir = tempfile::tempdir().expect("temp dir");
	let (validators, _dave, _ferdie) = start_local_network(dir.path()).await;
	let dir = dir.path();
	// Alice and Bob read from different nodes, as two people would.
	cli_identities(dir, &validators[0], &[("alice", "Alice")]);
	cli_identities(dir, &validators[1], &[("bob", "Bob")]);
	let bob_account = quarks(dir, &validators[1], "bob", &["whoami"])
		.lines()
		.find_map(|l| l.strip_prefix("account ").map(str::to_owned))
		.expect("Bob's account");
	let alice = Serving::start(dir, &validators[0], "alice");
	let bob = Serving::start(dir, &validators[1], "bob");
	let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../client/cli/web/test/latency.mjs");
	let run = std::process::Command::new("node")
		.arg(script)
		.env("ALICE_URL", alice.page())
		.env("BOB_URL", bob.page())
		.env("BOB_ACCOUNT", bob_account)
		.output()
		.expect("node runs the measurement");
	print!("{}", String::from_utf8_lossy(&run.stdout));
	eprint!("{}", String::from_utf8_lossy(&run.stderr));
}
