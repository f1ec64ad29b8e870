//! `quarks chat`, the interactive terminal chat, as a person uses it: two windows on a
//! real network on 127.0.0.1, each the `quarks` binary in an 80×24 pseudo-terminal whose
//! screen is read back through a terminal emulator (vt100). Bob adds Alice from her
//! invitation link (verified), they chat 1:1 with every message shown at once and its
//! ticks advancing to final, delivered and read; a stranger's conversation shows as a request, and
//! once Bob blocks him he cannot bring Bob into another; Alice makes a group with Bob, then
//! removes him: he is told, and sees nothing she writes after.

mod common;

use common::*;
use portable_pty::{Child, MasterPty};
use std::{
	io::{Read, Write},
	path::Path,
	sync::{Arc, Mutex},
	time::{Duration, Instant},
};

const LIMIT: Duration = Duration::from_secs(90);

/// A `quarks chat` in a pseudo-terminal, and the screen it draws.
struct Window {
	name: &'static str,
	screen: Arc<Mutex<vt100::Parser>>,
	keys: Box<dyn Write + Send>,
	child: Box<dyn Child + Send + Sync>,
	_master: Box<dyn MasterPty + Send>,
}

impl Window {
	fn open(dir: &Path, node: &Node, name: &'static str) -> Window {
		let (child, master) = chat_in_pty(dir, node, name, CLI_PASSPHRASE);
		let screen = Arc::new(Mutex::new(vt100::Parser::new(24, 80, 0)));
		let mut reader = master.try_clone_reader().expect("reads the terminal");
		let feed = screen.clone();
		std::thread::spawn(move || {
			let mut buf = [0u8; 8192];
			while let Ok(n @ 1..) = reader.read(&mut buf) {
				feed.lock().expect("screen").process(&buf[..n]);
			}
		});
		let keys = master.take_writer().expect("writes the terminal");
		Window { name, screen, keys, child, _master: master }
	}

	fn contents(&self) -> String {
		self.screen.lock().expect("screen").screen().contents()
	}

	/// Types `text` and Enter.
	fn enter(&mut self, text: &str) {
		self.keys.write_all(text.as_bytes()).expect("types");
		self.keys.write_all(b"\r").expect("types");
		self.keys.flush().expect("types");
	}

	/// Waits until the screen shows every one of `needles`; returns the screen.
	fn until(&self, needles: &[&str]) -> String {
		let deadline = Instant::now() + LIMIT;
		loop {
			let screen = self.contents();
			if needles.iter().all(|n| screen.contains(n)) {
				return screen;
			}
			assert!(
				Instant::now() < deadline,
				"{}'s screen never showed {needles:?}:\n{screen}",
				self.name
			);
			std::thread::sleep(Duration::from_millis(100));
		}
	}

	/// The screen line holding `needle`.
	fn line_with(&self, needle: &str) -> String {
		self.contents().lines().find(|l| l.contains(needle)).unwrap_or_default().to_owned()
	}
}

impl Drop for Window {
	fn drop(&mut self) {
		let _ = self.child.kill();
	}
}

#[tokio::test(flavor = "multi_thread")]
async fn two_people_chat_in_two_terminal_windows() {
	let _machine = exclusive();
	let dir = tempfile::tempdir().expect("temp dir");
	let (validators, _dave, _ferdie) = start_local_network(dir.path()).await;
	let node = &validators[0];
	let dir = dir.path();
	cli_identities(dir, node, &[("alice", "Alice"), ("bob", "Bob"), ("charlie", "Charlie")]);
	let link = quarks(dir, node, "alice", &["invite", "--link"]).trim().to_owned();
	let bob_link = quarks(dir, node, "bob", &["invite", "--link"]).trim().to_owned();

	let mut alice = Window::open(dir, node, "alice");
	let mut bob = Window::open(dir, node, "bob");
	alice.until(&["chats", "No conversation yet"]);
	bob.until(&["chats", "No conversation yet"]);

	// Bob names Alice from her invitation: checked against the chain, so verified.
	let digits = if link.ends_with("00000") { "11111" } else { "00000" };
	let forged = format!("{}{digits}", &link[..link.len() - 5]);
	bob.enter(&format!("/contact mallory {forged}"));
	bob.until(&["fingerprint does not match"]);
	bob.enter(&format!("/contact alice {link}"));
	bob.until(&["alice is ", ", verified"]);
	alice.enter(&format!("/contact bob {bob_link}"));
	alice.until(&["bob is ", ", verified"]);

	// Bob's first message starts the conversation; both see it, then see it final.
	bob.enter("/to alice");
	bob.until(&["to alice (new)"]);
	bob.enter("Hi Alice, lunch at noon?");
	bob.until(&["you: Hi Alice, lunch at noon?"]);
	alice.until(&["bob: Hi Alice, lunch at noon?"]);
	alice.until(&["bob · verified"]);
	bob.until(&["✓✓ final #"]);
	alice.until(&["✓✓ final #"]);
	assert!(bob.line_with("lunch at noon").contains("✓✓ final #"), "{}", bob.contents());
	// Alice has the conversation open: her chat tells Bob she read it.
	let deadline = Instant::now() + LIMIT;
	while !bob.line_with("lunch at noon").contains("· read") {
		assert!(Instant::now() < deadline, "no read receipt:\n{}", bob.contents());
		std::thread::sleep(Duration::from_millis(100));
	}
	alice.enter("Noon works.");
	bob.until(&["alice: Noon works."]);
	alice.until(&["you: Noon works."]);

	// A stranger's conversation is a request: Bob blocks Charlie, who then cannot bring
	// him into another one.
	let account_of = |who| {
		let whoami = quarks(dir, node, who, &["whoami"]);
		whoami
			.lines()
			.find_map(|l| l.strip_prefix("account "))
			.map(str::to_owned)
			.expect("an account")
	};
	let (bob_account, charlie_account) = (account_of("bob"), account_of("charlie"));
	quarks(dir, node, "charlie", &["send", "--to", &bob_account, "Buy now!"]);
	bob.until(&["(request)"]);
	bob.enter(&format!("/to {charlie_account}"));
	bob.until(&["a request from", "Buy now!"]);
	bob.enter("/block");
	bob.until(&["blocked ", "left 1 conversation"]);
	let created = quarks(dir, node, "charlie", &["group", "create", &bob_account]);
	let spam_group: String = created
		.split("created group ")
		.nth(1)
		.map(|rest| rest.chars().take_while(char::is_ascii_digit).collect())
		.expect("Charlie's group");
	quarks(dir, node, "charlie", &["send", "--group", &spam_group, "Still there?"]);
	std::thread::sleep(Duration::from_secs(5));
	let screen = bob.contents();
	assert!(
		!screen.contains("Still there?") && !screen.contains(&format!(" group {spam_group} ")),
		"{screen}"
	);
	bob.enter("/to alice");

	// A group of two, then Bob removed: he reads nothing written after.
	alice.enter("/new bob");
	let screen = alice.until(&["created group "]);
	let group: String = screen
		.split("created group ")
		.nth(1)
		.map(|rest| rest.chars().take_while(char::is_ascii_digit).collect())
		.unwrap_or_default();
	alice.until(&[&format!(" to group {group} ")]);
	alice.enter("Hi all");
	bob.until(&[&format!("group {group} (1)")]);
	// Bob's chat took it and its receipt is on chain, but he has not opened the group:
	// delivered, not read. Then he opens it, and Alice sees it read. (A short text: the
	// line and its ticks fit the pane's 56 columns unwrapped.)
	let ticked = |tick: &str| {
		let deadline = Instant::now() + LIMIT;
		while !alice.line_with("Hi all").contains(tick) {
			assert!(Instant::now() < deadline, "no {tick:?} tick:\n{}", alice.contents());
			std::thread::sleep(Duration::from_millis(100));
		}
	};
	ticked("· delivered to 1");
	assert!(!alice.line_with("Hi all").contains("read"), "{}", alice.contents());
	bob.enter(&format!("/group {group}"));
	bob.until(&["alice: Hi all"]);
	ticked("· read by 1");
	alice.enter("/remove bob");
	alice.until(&["removed bob from group"]);
	bob.until(&[&format!("you are no longer a member of group {group}")]);
	alice.enter("Bob is gone now");
	alice.until(&["you: Bob is gone now"]);
	let sent = Instant::now();
	while alice.line_with("Bob is gone now").contains("pending")
		|| sent.elapsed() < Duration::from_secs(5)
	{
		assert!(sent.elapsed() < LIMIT, "never anchored:\n{}", alice.contents());
		std::thread::sleep(Duration::from_millis(200));
	}
	assert!(!bob.contents().contains("Bob is gone now"), "{}", bob.contents());

	// The commands' help, and Esc closes it.
	bob.enter("/help");
	bob.until(&["/to <name|account>", "Ticks:"]);
	bob.keys.write_all(b"\x1b").expect("types");
	bob.until(&["alice: Hi all"]);
	bob.enter("/quit");
	let status = bob.child.wait().expect("exits");
	assert!(status.success(), "{status:?}");
}
