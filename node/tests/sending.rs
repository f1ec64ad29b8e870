//! Nothing stuck in "sending": a message no node took (its node refused it, its connection
//! was down, the client stopped mid-send) is kept sealed and recorded, and a client that
//! starts again hands the very envelope to the node: the recipient reads it once, and the
//! sender's history holds it once, anchored; so does a `quarks` process SIGKILLed while
//! its node held the submission. An anchor the pool refuses is built again, not left
//! unanchored. Nothing missed: a reader whose node and
//! hosts are killed and restarted mid-conversation reads everything once, and settles it.

mod common;

use common::*;
use futures::{SinkExt, StreamExt};
use quarks_client::{
	chain::{Chain, Wait},
	database::MessageState,
	inbox::{Notarization, ReadOptions, Update, NOT_NOTARIZED_AFTER},
	keystore::{Identity, Keystore},
	messenger::Messenger,
	send::Notary,
};
use sp_core::H256;
use sp_keyring::Sr25519Keyring::{Dave, Ferdie};
use std::{
	collections::HashMap,
	path::Path,
	sync::Mutex,
	sync::{
		atomic::{AtomicU8, Ordering},
		Arc,
	},
	time::{Duration, Instant},
};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message as Frame;

const PASSPHRASE: &str = "sending test passphrase";

/// What the proxy does with envelope submissions.
const PASS: u8 = 0;
/// Answers each with the node's own rate-limit error instead of passing it on.
const REFUSE: u8 = 1;
/// Never answers them (a node that hangs); it turns to [`SWALLOWED`] once one came.
const SWALLOW: u8 = 2;
const SWALLOWED: u8 = 3;
/// Refuses the next transaction as a pool refuses one signed for the runtime before an
/// upgrade (the signature covers the spec version), then passes again.
const REFUSE_TRANSACTION: u8 = 4;

/// A JSON-RPC proxy in front of a node that does with envelope submissions what `mode`
/// says.
async fn refusing_proxy(upstream: String, mode: Arc<AtomicU8>) -> String {
	let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
	let url = format!("ws://{}", listener.local_addr().expect("bound"));
	tokio::spawn(async move {
		while let Ok((socket, _)) = listener.accept().await {
			let (upstream, mode) = (upstream.clone(), mode.clone());
			tokio::spawn(async move {
				let Ok(client) = tokio_tungstenite::accept_async(socket).await else { return };
				let Ok((node, _)) = tokio_tungstenite::connect_async(&upstream).await else {
					return;
				};
				let (mut to_client, mut from_client) = client.split();
				let (mut to_node, mut from_node) = node.split();
				let (replies, mut answers) = tokio::sync::mpsc::unbounded_channel::<Frame>();
				let refusals = replies.clone();
				tokio::spawn(async move {
					while let Some(Ok(frame)) = from_node.next().await {
						let _ = replies.send(frame);
					}
				});
				tokio::spawn(async move {
					while let Some(frame) = answers.recv().await {
						if to_client.send(frame).await.is_err() {
							break;
						}
					}
				});
				while let Some(Ok(frame)) = from_client.next().await {
					if let Frame::Text(text) = &frame {
						let call: serde_json::Value =
							serde_json::from_str(text.as_str()).unwrap_or_default();
						let submits = call["method"] == "quarks_submitEnvelope"
							|| call["method"] == "quarks_submitEnvelopes";
						let transacts = call["method"] == "author_submitAndWatchExtrinsic";
						match mode.load(Ordering::SeqCst) {
							REFUSE_TRANSACTION if transacts => {
								let error = serde_json::json!({
									"jsonrpc": "2.0",
									"id": call["id"],
									"error": {
										"code": 1010,
										"message": "Invalid Transaction",
										"data": "Transaction has a bad signature",
									},
								});
								let _ = refusals.send(Frame::Text(error.to_string().into()));
								mode.store(PASS, Ordering::SeqCst);
								continue;
							}
							REFUSE if submits => {
								let error = serde_json::json!({
									"jsonrpc": "2.0",
									"id": call["id"],
									"error": { "code": -32999, "message": "RPC rate limit exceeded" },
								});
								let _ = refusals.send(Frame::Text(error.to_string().into()));
								continue;
							}
							SWALLOW | SWALLOWED if submits => {
								mode.store(SWALLOWED, Ordering::SeqCst);
								continue;
							}
							_ => {}
						}
					}
					if to_node.send(frame).await.is_err() {
						break;
					}
				}
			});
		}
	});
	url
}

async fn alice_through(dir: &Path, url: &str, create: bool) -> Messenger {
	let path = dir.join("alice.json");
	let keystore = if create {
		Keystore::create(&path, PASSPHRASE, Identity::development("Alice"), 10)
	} else {
		Keystore::open(&path, PASSPHRASE)
	}
	.expect("keystore");
	let chain = Chain::connect(url).await.expect("connects");
	Messenger::new(chain, keystore).expect("messenger")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_message_no_node_took_goes_again_after_a_restart_and_arrives_once() {
	let _machine = exclusive();
	let dir = tempfile::tempdir().expect("temp dir");
	let (validators, _dave, _ferdie) = start_local_network(dir.path()).await;
	let node = &validators[0];
	let mode = Arc::new(AtomicU8::new(PASS));
	let proxy = refusing_proxy(format!("ws://127.0.0.1:{}", node.rpc_port), mode.clone()).await;
	let bob = client_session(dir.path(), node, "Bob").await;
	let bob_account = bob.account().clone();
	bob.register_device(28_800, Wait::Finalized, &mut |_| {}).await.expect("Bob's key package");

	let alice = Arc::new(alice_through(dir.path(), &proxy, true).await);
	let first = alice.send_direct(&bob_account, "before the refusal").await.expect("sends");
	let group = alice.database.direct(&bob_account).expect("reads").expect("a conversation");
	// An anchor the pool refuses (as it refuses one built just before a runtime upgrade) is
	// built again at the next block, not left unanchored.
	mode.store(REFUSE_TRANSACTION, Ordering::SeqCst);
	Notary::start(alice.clone()).notarize(first).await.expect("answers").expect("anchored");
	assert_eq!(mode.load(Ordering::SeqCst), PASS, "the proxy refused the first anchor");

	mode.store(REFUSE, Ordering::SeqCst);
	let refused = alice.send_group(group, "sent while refused").await;
	assert!(refused.is_err(), "the proxy refuses submissions");
	let history = alice.database.history(group, None, 10).expect("reads");
	let kept = history.iter().find(|m| m.text == "sent while refused").expect("recorded");
	assert!(matches!(&kept.state, MessageState::Failed(reason) if reason.contains("rate limit")));
	let hash = kept.hash;
	drop(alice);

	// The client starts again; the node takes submissions again.
	mode.store(PASS, Ordering::SeqCst);
	let alice = Arc::new(alice_through(dir.path(), &proxy, false).await);
	let outcomes = alice.resend_unsent().await.expect("resends");
	assert_eq!(outcomes.len(), 1, "only the refused message");
	let (resent, outcome) = outcomes.into_iter().next().expect("one");
	let sent = outcome.expect("the node takes it now");
	assert_eq!((resent, sent.hash), (hash, hash), "the very envelope");
	Notary::start(alice.clone()).notarize(sent).await.expect("answers").expect("anchored");
	assert!(alice.resend_unsent().await.expect("resends").is_empty(), "nothing left to send");

	// Bob reads both, each once.
	let mut texts = Vec::new();
	let options = ReadOptions {
		follow: true,
		count: Some(2),
		timeout: Some(Duration::from_secs(120)),
		acknowledge: false,
		sync_every: None,
		update_every: None,
	};
	bob.read_mail(options, &mut |update| {
		if let Update::Shown(received) = update {
			if let Some((_, quarks_client::seal::Content::Text(text))) = received.letter() {
				texts.push(text.clone());
			}
		}
	})
	.await
	.expect("Bob reads");
	texts.sort();
	assert_eq!(texts, ["before the refusal", "sent while refused"]);
	let history = alice.database.history(group, None, 10).expect("reads");
	let copies: Vec<_> = history.iter().filter(|m| m.text == "sent while refused").collect();
	assert_eq!(copies.len(), 1, "{history:?}");
	assert!(matches!(copies[0].state, MessageState::Anchored(_) | MessageState::Final(_)));

	// The `quarks` process SIGKILLed while its node holds the submission unanswered: the
	// next start hands the node the very envelope it sealed, and Bob reads it once.
	drop(alice);
	mode.store(SWALLOW, Ordering::SeqCst);
	let mut sending = std::process::Command::new(quarks_binary())
		.env("QUARKS_PASSPHRASE", PASSPHRASE)
		.env("QUARKS_KEYSTORE", dir.path().join("alice.json"))
		.env("QUARKS_URL", &proxy)
		.args(["send", "--group", &group.to_string(), "killed while sending"])
		.stdout(std::process::Stdio::null())
		.stderr(std::process::Stdio::piped())
		.spawn()
		.expect("quarks runs");
	let deadline = Instant::now() + Duration::from_secs(60);
	while mode.load(Ordering::SeqCst) != SWALLOWED {
		if let Some(status) = sending.try_wait().expect("waits") {
			let mut said = String::new();
			let _ = std::io::Read::read_to_string(
				&mut sending.stderr.take().expect("piped"),
				&mut said,
			);
			panic!("`quarks send` ended before its submission reached the node: {status}: {said}");
		}
		if Instant::now() > deadline {
			let _ = sending.kill();
			panic!("the submission never reached the node");
		}
		tokio::time::sleep(Duration::from_millis(100)).await;
	}
	sending.kill().expect("SIGKILL");
	sending.wait().expect("reaped");
	mode.store(PASS, Ordering::SeqCst);
	let alice = Arc::new(alice_through(dir.path(), &proxy, false).await);
	let history = alice.database.history(group, None, 10).expect("reads");
	let killed = history.iter().find(|m| m.text == "killed while sending").expect("recorded");
	assert_eq!(killed.state, MessageState::Sending, "{history:?}");
	let outcomes = alice.resend_unsent().await.expect("resends");
	let [(resent, Ok(sent))] = &outcomes[..] else { panic!("one resent: {outcomes:?}") };
	assert_eq!((*resent, sent.hash), (killed.hash, killed.hash), "the very envelope");
	// Anchored, as the engine has it after a resend: hosts drop unanchored mail in 10 blocks.
	Notary::start(alice.clone()).notarize(sent.clone()).await.expect("answers").expect("anchored");
	let history = alice.database.history(group, None, 10).expect("reads");
	let copies: Vec<_> = history.iter().filter(|m| m.text == "killed while sending").collect();
	assert_eq!(copies.len(), 1, "{history:?}");
	assert!(matches!(copies[0].state, MessageState::Anchored(_) | MessageState::Final(_)));
	let entry = wait_for("Bob's hosts hold it", Duration::from_secs(60), || async {
		let entries = bob.fetch().await.ok()?;
		entries.into_iter().find(|entry| entry.hash == killed.hash)
	})
	.await;
	let received = bob.open_mail(&entry).await.expect("opens");
	let text = received.letter().map(|(_, content)| content.clone());
	assert_eq!(text, Some(quarks_client::seal::Content::Text("killed while sending".into())));
}

/// What a reader saw of each letter (its text, how often it was shown, whether it was
/// seen final), and what else it was told.
#[derive(Default)]
struct Seen {
	letters: HashMap<H256, (String, usize, bool)>,
	acknowledged: usize,
	not_notarized: Vec<H256>,
	failed_receipts: usize,
}

impl Seen {
	fn settled(&self) -> usize {
		self.letters.values().filter(|(_, _, fin)| *fin).count()
	}
	fn shown(&self, text: &str) -> bool {
		self.letters.values().any(|(t, _, _)| t == text)
	}
}

async fn until(what: &str, seen: &Mutex<Seen>, done: impl Fn(&Seen) -> bool) {
	let deadline = Instant::now() + Duration::from_secs(180);
	while !done(&seen.lock().expect("not poisoned")) {
		assert!(Instant::now() < deadline, "{what} never happened");
		tokio::time::sleep(Duration::from_millis(200)).await;
	}
}

/// Bob's node and both his hosts die mid-conversation, his node for longer than a letter
/// may wait for its anchor: his reading session goes on, and every letter — one shown
/// pending just before, some sent while all was down, some after — is shown once, turns
/// final and is acknowledged; Alice's client then sees each delivered, from the chain.
#[tokio::test(flavor = "multi_thread")]
async fn a_reader_whose_node_and_hosts_restart_misses_nothing_and_sees_nothing_twice() {
	let _machine = exclusive();
	let dir = tempfile::tempdir().expect("temp dir");
	let (mut validators, mut dave, mut ferdie) = start_local_network(dir.path()).await;
	let boot = vec![validators[0].multiaddr().await];
	let alice = Arc::new(client_session(dir.path(), &validators[0], "Alice").await);
	let bob = Arc::new(client_session(dir.path(), &validators[1], "Bob").await);
	let bob_account = bob.account().clone();
	bob.register_device(28_800, Wait::Finalized, &mut |_| {}).await.expect("Bob's key package");
	let notary = Notary::start(alice.clone());
	let letter = |i: usize| format!("letter {i}");
	let send = |from: std::ops::RangeInclusive<usize>| {
		let (alice, notary, bob) = (alice.clone(), notary.clone(), bob_account.clone());
		async move {
			for i in from {
				let sent = alice.send_direct(&bob, &letter(i)).await.expect("sent");
				let anchored = notary.notarize(sent).await.expect("answers");
				anchored.unwrap_or_else(|e| panic!("letter {i} not anchored: {e}"));
			}
		}
	};

	// Bob follows his mail in one reading session, as `watch` and the chat do.
	const LETTERS: usize = 12;
	let seen = Arc::new(Mutex::new(Seen::default()));
	let reader = {
		let (bob, seen) = (bob.clone(), seen.clone());
		tokio::spawn(async move {
			let options = ReadOptions {
				follow: true,
				count: Some(LETTERS),
				timeout: Some(Duration::from_secs(400)),
				acknowledge: true,
				sync_every: None,
				update_every: None,
			};
			bob.read_mail(options, &mut |update| {
				let mut seen = seen.lock().expect("not poisoned");
				match update {
					Update::Shown(received) => {
						if let Some((_, quarks_client::seal::Content::Text(text))) =
							received.letter()
						{
							let fin = matches!(received.notarization, Notarization::Final(_));
							let entry =
								seen.letters.entry(received.hash).or_insert((text.clone(), 0, fin));
							entry.1 += 1;
						}
					}
					Update::Notarized { hash, notarization: Notarization::Final(_) } => {
						if let Some(entry) = seen.letters.get_mut(hash) {
							entry.2 = true;
						}
					}
					Update::Notarized { hash, notarization: Notarization::NotNotarized } => {
						seen.not_notarized.push(*hash)
					}
					Update::Acknowledged(n) => seen.acknowledged += n,
					Update::AcknowledgeFailed(_) => seen.failed_receipts += 1,
					_ => {}
				}
			})
			.await
		})
	};

	send(1..=4).await;
	// Acknowledged: the four, and the welcome into the conversation.
	until("Bob's first four letters final and acknowledged", &seen, |s| {
		s.settled() == 4 && s.acknowledged == 5
	})
	.await;
	// The fifth is shown pending: Alice has not anchored it yet.
	let fifth = alice.send_direct(&bob_account, &letter(5)).await.expect("sent");
	until("Bob's fifth letter shown", &seen, |s| s.shown(&letter(5))).await;
	let shown_at = Instant::now();

	// Bob's node and both his hosts die at once; Alice anchors the fifth, and writes on.
	let bob_port = validators[1].rpc_port;
	validators[1].kill();
	dave.kill();
	ferdie.kill();
	let anchored = notary.notarize(fifth).await.expect("answers");
	anchored.unwrap_or_else(|e| panic!("letter 5 not anchored: {e}"));
	send(6..=8).await;
	// His hosts come back first (Alice's node hands them what they missed), then, once
	// the fifth letter has waited longer than any letter may for its anchor, his node.
	dave = Node::start(dir.path(), host_config("dave", 4, Dave, &boot, Some(9947)));
	ferdie = Node::start(dir.path(), host_config("ferdie", 5, Ferdie, &boot, Some(9948)));
	let waited = NOT_NOTARIZED_AFTER + Duration::from_secs(5);
	tokio::time::sleep(waited.saturating_sub(shown_at.elapsed())).await;
	validators[1] = Node::start(
		dir.path(),
		NodeConfig { rpc_port: Some(bob_port), ..validator_config("bob", 2, boot.clone()) },
	);
	send(9..=LETTERS).await;

	reader.await.expect("the reader runs").expect("Bob's session outlives the restarts");
	let seen = seen.lock().expect("not poisoned");
	assert!(seen.not_notarized.is_empty(), "taken as not notarized: {:?}", seen.not_notarized);
	let mut texts: Vec<&str> = seen.letters.values().map(|(text, _, _)| text.as_str()).collect();
	texts.sort_by_key(|text| text[7..].parse::<usize>().expect("numbered"));
	let expected: Vec<String> = (1..=LETTERS).map(letter).collect();
	assert_eq!(texts, expected, "every letter, once");
	assert!(seen.letters.values().all(|(_, shown, _)| *shown == 1), "none shown twice");
	assert_eq!(seen.settled(), LETTERS, "every letter final");
	assert_eq!(seen.acknowledged, LETTERS + 1, "every letter and the welcome acknowledged, once");
	eprintln!("receipts that had to wait for Bob's node: {} tries", seen.failed_receipts);
	// Final, acknowledged and told to the hosts by Bob's one device, the hosts let them go.
	wait_until("Bob's hosts let his letters go", Duration::from_secs(60), || async {
		let kept = bob.fetch().await.expect("hosts answer");
		kept.iter().all(|entry| !seen.letters.contains_key(&entry.hash))
	})
	.await;
	let group = bob.database.direct(alice.account()).expect("reads").expect("a conversation");
	let history = bob.database.history(group, None, 100).expect("reads");
	assert_eq!(history.len(), LETTERS, "{history:?}");
	assert!(history.iter().all(|m| matches!(m.state, MessageState::Final(_))), "{history:?}");

	// Alice's client reads Bob's receipts from the chain: each letter delivered, once.
	let deadline = Instant::now() + Duration::from_secs(60);
	let mut delivered = 0;
	while delivered < LETTERS {
		assert!(Instant::now() < deadline, "{delivered} of {LETTERS} seen delivered");
		delivered += alice.check_deliveries().await.expect("the chain answers");
		tokio::time::sleep(Duration::from_millis(500)).await;
	}
	assert_eq!(delivered, LETTERS);
	let history = alice.database.history(group, None, 100).expect("reads");
	assert!(history.iter().all(|m| m.outgoing && m.delivered_to == 1), "{history:?}");
	assert_eq!(alice.check_deliveries().await.expect("answers"), 0, "nothing new");
	drop((dave, ferdie));
}
