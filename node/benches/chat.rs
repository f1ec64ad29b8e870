//! Figures for docs/performance.md, "The interactive chat": what `quarks chat` adds to the
//! library's send → shown. Release binaries on the local network on 127.0.0.1; Alice's
//! library sends to Bob one message a second, and Bob reads them in turns, first with
//! `quarks chat` in an 80×24 pseudo-terminal (a message counts as shown when the bytes
//! that draw it reach the terminal and a terminal emulator shows its text), then with the
//! library alone (shown when his client has opened and checked it), and again. Nothing is
//! asserted.
//!
//!     cargo build --release -p quarks-cli && cargo bench -p quarks-node --bench chat
//!
//! COUNT (50) messages a turn, two turns of each, read from the environment.

#[path = "../tests/common/mod.rs"]
mod common;
mod measure;

use common::*;
use measure::describe;
use quarks_client::{
	chain::Wait,
	keystore::Identity,
	messenger::Messenger,
	send::{Notary, Sent},
};
use sp_core::{crypto::AccountId32, H256};
use std::{
	collections::HashMap,
	io::Read,
	path::Path,
	sync::{Arc, Mutex},
	time::{Duration, Instant},
};

/// Texts to look for on the screen, and when each first showed.
#[derive(Default)]
struct Watch {
	wanted: Vec<String>,
	seen: HashMap<String, Instant>,
}

/// Bob's `quarks chat` in a pseudo-terminal; returns when each watched text was drawn.
/// The chat ends when the returned guard drops.
fn chat_as_bob(dir: &Path, node: &Node) -> (Arc<Mutex<Watch>>, impl Drop) {
	let (child, master) = chat_in_pty(dir, node, "bob", PASSPHRASE);
	let watch: Arc<Mutex<Watch>> = Arc::default();
	let record = watch.clone();
	let mut reader = master.try_clone_reader().expect("reads the terminal");
	std::thread::spawn(move || {
		let mut screen = vt100::Parser::new(24, 80, 0);
		let mut buf = [0u8; 8192];
		while let Ok(n @ 1..) = reader.read(&mut buf) {
			let now = Instant::now();
			screen.process(&buf[..n]);
			let contents = screen.screen().contents();
			let mut watch = record.lock().expect("watch");
			let Watch { wanted, seen } = &mut *watch;
			wanted.retain(|text| {
				let shown = contents.contains(text.as_str());
				if shown {
					seen.insert(text.clone(), now);
				}
				!shown
			});
		}
	});
	struct Running {
		child: Box<dyn portable_pty::Child + Send + Sync>,
		_master: Box<dyn portable_pty::MasterPty + Send>,
	}
	impl Drop for Running {
		fn drop(&mut self) {
			let _ = self.child.kill();
			let _ = self.child.wait();
		}
	}
	(watch, Running { child, _master: master })
}

/// Alice sends `count` numbered messages to Bob, one a second, each notarized; returns
/// when each send started, by hash and by text.
async fn send(
	alice: &Arc<Messenger>,
	bob: &AccountId32,
	turn: &str,
	count: usize,
	watch: Option<&Mutex<Watch>>,
) -> Vec<(H256, String, Instant)> {
	let notary = Notary::start(alice.clone());
	let mut sent = Vec::new();
	let mut next = Instant::now();
	for i in 0..count {
		tokio::time::sleep_until(next.into()).await;
		next += Duration::from_secs(1);
		let text = format!("{turn} message {i:03}");
		if let Some(watch) = watch {
			watch.lock().expect("watch").wanted.push(text.clone());
		}
		let t0 = Instant::now();
		let Ok(out): Result<Sent, _> = alice.send_direct(bob, &text).await else { continue };
		sent.push((out.hash, text, t0));
		drop(notary.notarize(out));
	}
	tokio::time::sleep(Duration::from_secs(3)).await;
	sent
}

#[tokio::main]
async fn main() {
	println!("profile: {}", if cfg!(debug_assertions) { "debug" } else { "release" });
	let count: usize = std::env::var("COUNT").ok().and_then(|n| n.parse().ok()).unwrap_or(50);
	let dir = tempfile::tempdir().expect("temp dir");
	let (validators, _dave, _ferdie) = start_local_network(dir.path()).await;
	let dir = dir.path();
	// Alice and Bob read from different nodes, as two people would.
	let alice =
		Arc::new(session(dir, &validators[0], "alice", Identity::development("Alice")).await);
	let bob = session(dir, &validators[1], "bob", Identity::development("Bob")).await;
	let bob_account = bob.account().clone();
	bob.register_device(28_800, Wait::Finalized, &mut |_| {}).await.expect("Bob's key package");
	alice.register_device(28_800, Wait::Finalized, &mut |_| {}).await.expect("Alice's device");
	alice.conversation_with(&bob_account, &mut |_| {}).await.expect("conversation started");
	drop(bob);

	let (mut on_screen, mut by_library) = (Vec::new(), Vec::new());
	for turn in 0..2 {
		// The chat opens the conversation (its only one) once a first message is drawn.
		let (watch, chat) = chat_as_bob(dir, &validators[1]);
		let warm = format!("chat turn {turn} starts");
		watch.lock().expect("watch").wanted.push(warm.clone());
		let deadline = Instant::now() + Duration::from_secs(60);
		alice.send_direct(&bob_account, &warm).await.expect("sent");
		while !watch.lock().expect("watch").seen.contains_key(&warm) {
			assert!(Instant::now() < deadline, "the chat never showed Alice's message");
			tokio::time::sleep(Duration::from_millis(50)).await;
		}
		let sent = send(&alice, &bob_account, &format!("chat {turn}"), count, Some(&watch)).await;
		let seen = watch.lock().expect("watch").seen.clone();
		let mut drawn: Vec<(f64, &str)> = sent
			.iter()
			.filter_map(|(_, text, t0)| {
				seen.get(text).map(|at| (at.duration_since(*t0).as_secs_f64(), text.as_str()))
			})
			.collect();
		on_screen.extend(drawn.iter().map(|(took, _)| took));
		drawn.sort_by(|a, b| b.0.total_cmp(&a.0));
		let slowest: Vec<String> = drawn
			.iter()
			.take(3)
			.map(|(took, text)| format!("{text} {:.1} ms", took * 1e3))
			.collect();
		println!("  chat turn {turn}: slowest {}", slowest.join(", "));
		drop(chat);

		let bob = reopen(dir, &validators[1], "bob").await;
		// It acknowledges, as the chat does.
		let reader = read_as(bob, Duration::from_secs(count as u64 + 20), true);
		tokio::time::sleep(Duration::from_secs(2)).await; // Bob's subscriptions open.
		let sent = send(&alice, &bob_account, &format!("library {turn}"), count, None).await;
		let shown = reader.lock().expect("shown").clone();
		by_library.extend(sent.iter().filter_map(|(hash, _, t0)| {
			shown.get(hash).map(|at| at.duration_since(*t0).as_secs_f64())
		}));
		// The reader ends with its timeout; a fresh chat takes the keystore after it.
		tokio::time::sleep(Duration::from_secs(20)).await;
	}
	println!("{count} messages a turn, two turns each, one a second, Alice → Bob");
	describe("  send → shown by the library", by_library);
	describe("  send → drawn by quarks chat", on_screen);
}
