//! The chat client end to end on a real network on 127.0.0.1 (three validators and the
//! `local` preset's mail hosts of Dave and Ferdie), every conversation an MLS group whose
//! commits the chain orders: a 1:1 message shown before its block whose notarization then
//! advances to final although another account anchored its root first; a message never
//! anchored flagged as such; a batch of mixed conversations under one anchor acknowledged
//! per leaf and audited; proofs of one message that any alteration breaks; an update that
//! the other member follows; a member removed who reads nothing after; two admins
//! committing at once, one winning and the other rebasing, with no fork; a second device
//! that reads everything new until it is removed; a client that resumes from disk; and a
//! host lying about where mail sits in its anchor, which cannot hide an honest host's
//! answer.

mod common;

use common::*;
use jsonrpsee::core::client::ClientT;
use quarks_client::{
	chain::{hash_value, At, Chain, ChainError, NodeRpc, Progress, Qrk, Wait},
	database::MessageState,
	error::{ClientError, ReadError},
	hosts::{self, MailboxEntry},
	inbox::{Notarization, ReadOptions, Received, Update},
	keystore::Identity,
	messenger::Messenger,
	proofs::{self, Genesis, ProofError},
	queries,
	seal::{self, Body, Content, SealError},
};
use quarks_primitives::{
	envelope::hash_of,
	hosting::{BatchMembership, HostInfo},
	mailbox::{MailEvent, MailboxPage, Notarization as Claim},
	merkle::{batch_root, inclusion_proof, single_root, verify},
	Destination,
};
use sp_core::{
	crypto::{AccountId32, Ss58Codec},
	Bytes, H256,
};
use sp_keyring::Sr25519Keyring::{Dave, Ferdie};
use std::{
	collections::HashMap,
	sync::{
		atomic::{AtomicUsize, Ordering},
		Arc,
	},
	time::{Duration, Instant},
};
use subxt::{dynamic::Value as Dynamic, rpcs::rpc_params};

const LIMIT: Duration = Duration::from_secs(120);

/// Opens everything `who`'s hosts hold (welcomes and commits first, as they come) until
/// `hash` opens; returns it.
async fn receive(who: &Messenger, hash: H256) -> Received {
	let deadline = Instant::now() + LIMIT;
	loop {
		for entry in who.fetch().await.expect("mailboxes answer") {
			let opened = who.open_mail(&entry).await;
			if entry.hash != hash {
				continue;
			}
			match opened {
				Ok(received) => return received,
				Err(e) if e.may_resolve() => {}
				Err(e) => panic!("{hash:?} rejected: {e}"),
			}
		}
		assert!(Instant::now() < deadline, "{hash:?} never arrived");
		tokio::time::sleep(Duration::from_millis(100)).await;
	}
}

/// Brings `who`'s device to `epoch` of `group`, as the chain ordered it.
async fn reach(who: &Messenger, group: u64, epoch: u32) {
	let deadline = Instant::now() + LIMIT;
	while who.group_devices(group).map_or(true, |(at, _)| at < epoch) {
		assert!(
			Instant::now() < deadline,
			"{}: group {group} epoch {epoch} never reached ({:?})",
			who.account(),
			who.group_devices(group).map(|(at, _)| at)
		);
		let _ = who.ensure_current(group).await;
		tokio::time::sleep(Duration::from_millis(200)).await;
	}
}

/// `value` with one byte changed, for each byte of every hex string in it (sampled at 64
/// places in a longer one) and each number; with where.
fn each_byte_changed(value: &serde_json::Value) -> Vec<(String, serde_json::Value)> {
	use serde_json::Value as Json;
	let mut out = Vec::new();
	match value {
		Json::String(text) if text.starts_with("0x") => {
			let bytes = array_bytes::hex2bytes(text).expect("hex");
			let step = (bytes.len() / 64).max(1);
			for at in (0..bytes.len()).step_by(step).chain([bytes.len().saturating_sub(1)]) {
				let mut changed = bytes.clone();
				changed[at] ^= 1;
				out.push((format!("byte {at}"), array_bytes::bytes2hex("0x", changed).into()));
			}
		}
		Json::String(text) => out.push(("text".into(), format!("{text}x").into())),
		Json::Number(n) => out.push(("number".into(), (n.as_u64().expect("a count") + 1).into())),
		Json::Array(items) => {
			for (i, item) in items.iter().enumerate() {
				for (place, changed) in each_byte_changed(item) {
					let mut whole = items.clone();
					whole[i] = changed;
					out.push((format!("[{i}] {place}"), Json::Array(whole)));
				}
			}
		}
		Json::Object(fields) => {
			for (name, field) in fields {
				for (place, changed) in each_byte_changed(field) {
					let mut whole = fields.clone();
					whole.insert(name.clone(), changed);
					out.push((format!("{name} {place}"), Json::Object(whole)));
				}
			}
		}
		_ => {}
	}
	out
}

/// Reads the chain for `received` until its anchor is final; where it sits in its
/// sender's batch comes from the hosts once they saw the anchor, as it does for `watch`.
async fn until_final(who: &Messenger, received: &mut Received) -> u32 {
	use quarks_primitives::mailbox::Notarization as Claim;
	let deadline = Instant::now() + LIMIT;
	loop {
		if received.membership.is_none() {
			let entries = who.fetch().await.expect("mailboxes answer");
			if let Some(Claim::Anchored { membership, .. } | Claim::Final { membership, .. }) =
				entries.into_iter().find(|e| e.hash == received.hash).map(|e| e.notarization)
			{
				received.membership = Some(membership);
			}
		}
		who.check_notarization(received).await.expect("the chain answers");
		if let Notarization::Final(block) = received.notarization {
			return block;
		}
		assert!(Instant::now() < deadline, "{:?} never became final", received.hash);
		tokio::time::sleep(Duration::from_millis(500)).await;
	}
}

fn text(received: &Received) -> &str {
	match received.letter() {
		Some((_, Content::Text(text))) => text,
		Some((_, other)) => panic!("expected a text, got {other:?}"),
		None => panic!("expected a letter, got {:?}", received.delivered),
	}
}

/// Sends `text` from `from` to `group`, anchored (in a block), and opens it at `to`.
async fn round_trip(from: &Messenger, to: &Messenger, group: u64, text_: &str) -> Received {
	let sent = from.send_group(group, text_).await.expect("sent");
	from.notarize(std::slice::from_ref(&sent), Wait::InBlock, &mut |_| {}).await.expect("anchored");
	let received = receive(to, sent.hash).await;
	assert_eq!(text(&received), text_);
	received
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn chat_end_to_end() {
	let _guard = exclusive();
	let dir = tempfile::tempdir().expect("temp dir");
	let (validators, dave_node, _ferdie) = start_local_network(dir.path()).await;

	let alice = client_session(dir.path(), &validators[0], "Alice").await;
	let bob = client_session(dir.path(), &validators[1], "Bob").await;
	let charlie = client_session(dir.path(), &validators[2], "Charlie").await;
	let dave = client_session(dir.path(), &dave_node, "Dave").await;
	let (bob_id, charlie_id, dave_id) =
		(bob.account().clone(), charlie.account().clone(), dave.account().clone());
	// Genesis bound their devices; each publishes the key package others add it with.
	let registered = futures::future::join_all(
		[&alice, &bob, &charlie, &dave]
			.map(|m| async move { m.register_device(28_800, Wait::Finalized, &mut |_| {}).await }),
	)
	.await;
	registered.into_iter().for_each(|r| {
		r.expect("key package published");
	});

	// The first message starts the 1:1 conversation: a group on chain, and one commit,
	// ordered on chain, that welcomes Bob's device. Never anchored, it is shown pending,
	// then flagged as not notarized once the hosts drop it.
	let unanchored = alice.send_direct(&bob_id, "never anchored").await.expect("sent");
	let Destination::Group { group: direct, epoch: 1 } = unanchored.leaf.destination else {
		panic!("a 1:1 message goes to the conversation's group at epoch 1")
	};
	let mut updates = Vec::new();
	let options = ReadOptions {
		follow: true,
		count: Some(1),
		timeout: Some(LIMIT),
		acknowledge: false,
		sync_every: None,
		update_every: None,
	};
	bob.read_mail(options, &mut |update| updates.push(format!("{update:?}"))).await.expect("reads");
	let about = |hash: H256| {
		updates
			.iter()
			.filter(move |u| u.contains(&format!("{hash:?}")))
			.cloned()
			.collect::<Vec<_>>()
	};
	let seen = about(unanchored.hash);
	assert!(
		seen[0].starts_with("Shown") && seen[0].contains("notarization: Pending"),
		"{updates:?}"
	);
	assert!(seen.iter().any(|u| u.contains("NotNotarized")), "{updates:?}");
	assert!(
		bob.fetch().await.expect("answers").iter().all(|e| e.hash != unanchored.hash),
		"the hosts dropped it"
	);
	assert_eq!(bob.database.direct(alice.account()).expect("reads"), Some(direct), "Bob knows it");
	// Never anchored, it cost Alice nothing: Bob keeps nothing of it on disk.
	assert_eq!(bob.store.get(&unanchored.hash).expect("reads"), None, "envelope kept");
	assert_eq!(bob.store.message_key(&unanchored.hash).expect("reads"), None, "key kept");

	// Shown before its block: Bob opens it while no anchor exists; then it is anchored and
	// final.
	let sent = alice.send_direct(&bob_id, "hello Bob").await.expect("sent");
	let mut received = receive(&bob, sent.hash).await;
	assert_eq!(text(&received), "hello Bob");
	assert_eq!(&received.sender, alice.account());
	assert_eq!(received.letter().expect("a letter").0.device, alice.device_key());
	assert_eq!(received.notarization, Notarization::Pending);
	assert!(received.membership.is_none(), "no anchor exists yet");
	// Charlie sees Alice's pending message and anchors its root first, under his own
	// account: anchors are keyed by sender, so Alice's anchor still counts.
	let root = single_root(&sent.leaf.value());
	let fields = vec![hash_value(&root), Dynamic::u128(1)];
	charlie
		.chain
		.submit(
			charlie.pair(),
			quarks_client::chain::vocabulary::ANCHOR,
			fields,
			Wait::InBlock,
			&mut |_| {},
		)
		.await
		.expect("anyone may anchor any root under their own account");
	let notarized = alice
		.notarize(std::slice::from_ref(&sent), Wait::InBlock, &mut |_| {})
		.await
		.expect("anchored");
	assert_eq!(notarized.root, root);
	assert_eq!(
		bob.store.get(&sent.hash).expect("reads"),
		None,
		"a received envelope is kept only once its anchor is confirmed"
	);
	let block = notarized.included.block_number;
	assert_eq!(until_final(&bob, &mut received).await, block);
	assert!(bob.store.get(&sent.hash).expect("reads").is_some(), "kept once anchored");
	// The message database: Bob's conversation with Alice holds her anchored letter, final
	// and unread, and nothing of the one never anchored; Alice's holds both she sent, each
	// as far as she saw it go.
	let chats = bob.database.conversations().expect("reads");
	let with_alice = chats.iter().find(|c| c.group == direct).expect("Bob's conversation");
	assert_eq!((with_alice.peer.as_ref(), with_alice.unread), (Some(alice.account()), 1));
	let history = bob.database.history(direct, None, 10).expect("reads");
	let seen: Vec<_> = history.iter().map(|m| (m.text.as_str(), m.state.clone())).collect();
	assert_eq!(seen, [("hello Bob", MessageState::Final(block))]);
	assert!(!history[0].outgoing && &history[0].sender == alice.account());
	bob.database.mark_read(direct).expect("marks");
	let chats = bob.database.conversations().expect("reads");
	assert!(chats.iter().all(|c| c.group != direct || c.unread == 0), "read");
	let anchored = match notarized.included.finalized {
		true => MessageState::Final(block),
		false => MessageState::Anchored(block),
	};
	let history = alice.database.history(direct, None, 10).expect("reads");
	let seen: Vec<_> = history.iter().map(|m| (m.text.as_str(), m.state.clone())).collect();
	assert_eq!(seen, [("never anchored", MessageState::Pending), ("hello Bob", anchored)]);
	assert_eq!(alice.database.direct(&bob_id).expect("reads"), Some(direct));
	let charlies =
		queries::anchor(&alice.chain, &charlie_id, &root, At::Finalized).await.expect("reads");
	assert!(charlies.is_some_and(|record| record.anchored_at < notarized.included.block_number));

	// Someone else's conversation does not open for Charlie.
	let envelope = alice.store.get(&sent.hash).expect("kept").expect("kept");
	assert!(
		matches!(charlie.open_envelope(&envelope).await, Err(ReadError::NotInGroup(g)) if g == direct)
	);

	// The receipt reaches the finalized chain; the audit shows it, and the device that
	// signed the letter, bound to Alice at the anchoring block.
	bob.acknowledge(&[&received], Wait::Finalized, &mut |_| {}).await.expect("acknowledged");
	let membership = alice.store.membership(&sent.hash).expect("kept");
	let key = alice.store.message_key(&sent.hash).expect("kept");
	let report = proofs::audit(&alice.chain, &envelope, membership, key)
		.await
		.expect("chain answers")
		.expect("anchored");
	assert_eq!(&report.sender, alice.account());
	assert_eq!(report.device, Some((alice.device_key(), true)));
	let acknowledged: Vec<_> =
		report.recipients.iter().filter(|r| r.receipt.is_some()).map(|r| &r.account).collect();
	assert_eq!(acknowledged, vec![&bob_id]);

	// Bob's proof verifies at another node with no secret; any alteration fails.
	let proof = proofs::prove(&bob, &sent.hash).await.expect("proof");
	let verifier =
		Chain::connect(&format!("ws://127.0.0.1:{}", dave_node.rpc_port)).await.expect("connects");
	let verified = proofs::verify(&verifier, &proof).await.expect("valid proof");
	assert_eq!(&verified.sender, alice.account());
	assert_eq!(verified.device, alice.device_key());
	assert_eq!(verified.content, Some(Content::Text("hello Bob".into())));
	let (_, body) = seal::parse(&proof.envelope).expect("parses");
	let Body::Letter { ciphertext, .. } = body else { panic!("a letter") };
	let at = proof.envelope.0.windows(16).position(|w| w == &ciphertext[..16]).expect("in it");
	let mut forged = proof.clone();
	forged.envelope.0[at] ^= 1;
	assert!(matches!(
		proofs::verify(&verifier, &forged).await,
		Err(ProofError::Seal(SealError::Tampered))
	));
	let mut other_key = proof.clone();
	other_key.message_key.0[0] ^= 1;
	assert!(matches!(
		proofs::verify(&verifier, &other_key).await,
		Err(ProofError::Seal(SealError::KeyCommitment))
	));
	let mut moved = proof.clone();
	moved.anchored_at += 1;
	assert!(matches!(proofs::verify(&verifier, &moved).await, Err(ProofError::AnchorMismatch)));

	// It carries its evidence: it checks with no node, from the chain spec's genesis alone,
	// and no longer once any one byte of it changes.
	let spec = serde_json::from_slice(&raw_chain_spec("local")).expect("a chain spec");
	let genesis = Genesis::from_spec(&spec).expect("a raw chain spec");
	let offline = proofs::verify_offline(&genesis, &proof).expect("valid with no node");
	assert_eq!((offline.hash, offline.device), (verified.hash, verified.device));
	let mutations = each_byte_changed(&serde_json::to_value(&proof).expect("JSON"));
	for (place, mutated) in &mutations {
		let Ok(mutated) = serde_json::from_value::<proofs::Proof>(mutated.clone()) else {
			continue;
		};
		assert!(
			proofs::verify_offline(&genesis, &mutated).is_err(),
			"{place} changed, still valid"
		);
	}
	assert!(mutations.len() > 500, "{} places tried", mutations.len());

	// A group of three: one commit adds Bob's and Charlie's devices.
	let group = alice
		.create_group(&[bob_id.clone(), charlie_id.clone()], &mut |_| {})
		.await
		.expect("group created");
	let to_charlie = alice.conversation_with(&charlie_id, &mut |_| {}).await.expect("started");
	// Alice's hosts learn whose mail she accepted: the people of the conversations she
	// started, not herself.
	let mut accepted = vec![bob_id.clone(), charlie_id.clone()];
	accepted.sort();
	assert_eq!(alice.accepted_senders().expect("reads"), accepted);
	// A read (here one that does not follow) tells them, as every reading client does.
	let once = ReadOptions {
		follow: false,
		count: None,
		timeout: Some(LIMIT),
		acknowledge: false,
		sync_every: None,
		update_every: None,
	};
	alice.read_mail(once, &mut |_| {}).await.expect("reads");
	wait_until("Dave's host holds Alice's list", LIMIT, || async {
		let status: serde_json::Value =
			ClientT::request(&dave_node.rpc, "quarks_hostStatus", jsonrpsee::rpc_params![])
				.await
				.expect("status");
		status["contacts"].as_array().expect("a list").iter().any(|row| {
			let account =
				row[0].as_str().and_then(|a| AccountId32::from_ss58check_with_version(a).ok());
			account.is_some_and(|(account, _)| &account == alice.account()) && row[1] == 2
		})
	})
	.await;
	// One anchor covers a batch of three conversations; each recipient acknowledges its
	// own leaves, and the audit shows each leaf's receipts.
	let batch = vec![
		alice.send_group(direct, "to Bob").await.expect("sent"),
		alice.send_group(group, "to all of us").await.expect("sent"),
		alice.send_group(to_charlie, "to Charlie").await.expect("sent"),
	];
	let notarized = alice.notarize(&batch, Wait::InBlock, &mut |_| {}).await.expect("anchored");
	assert_eq!(notarized.memberships.len(), 3);
	assert!(notarized
		.memberships
		.iter()
		.all(|(_, m)| m.root == notarized.root && m.proof.leaf_count == 3));
	let mut for_bob = Vec::new();
	for sent in &batch[..2] {
		let mut received = receive(&bob, sent.hash).await;
		until_final(&bob, &mut received).await;
		for_bob.push(received);
	}
	assert_eq!(text(&for_bob[1]), "to all of us");
	let mut for_charlie = Vec::new();
	for sent in &batch[1..] {
		let mut received = receive(&charlie, sent.hash).await;
		until_final(&charlie, &mut received).await;
		for_charlie.push(received);
	}
	assert!(
		charlie.fetch().await.expect("answers").iter().all(|e| e.hash != batch[0].hash),
		"Bob's conversation is not Charlie's mail"
	);
	bob.acknowledge(&for_bob.iter().collect::<Vec<_>>(), Wait::Finalized, &mut |_| {})
		.await
		.expect("acknowledged");
	charlie
		.acknowledge(&for_charlie.iter().collect::<Vec<_>>(), Wait::Finalized, &mut |_| {})
		.await
		.expect("acknowledged");
	for (sent, expected) in batch.iter().zip([
		vec![bob_id.clone()],
		vec![bob_id.clone(), charlie_id.clone()],
		vec![charlie_id.clone()],
	]) {
		let bytes = alice.store.get(&sent.hash).expect("kept").expect("kept");
		let membership = alice.store.membership(&sent.hash).expect("kept");
		let report = proofs::audit(&alice.chain, &bytes, membership, None)
			.await
			.expect("answers")
			.expect("anchored");
		assert_eq!(report.membership.root, notarized.root);
		let mut got: Vec<_> = report
			.recipients
			.into_iter()
			.filter(|r| r.receipt.is_some())
			.map(|r| r.account)
			.collect();
		got.sort();
		let mut expected = expected;
		expected.sort();
		assert_eq!(got, expected, "receipts of {:?}", sent.leaf.destination);
	}

	// Bob updates his keys in the 1:1 conversation; Alice follows the commit the chain
	// ordered before she writes again. What Bob read before still opens (from his store).
	let epoch = bob.update(direct, &mut |_| {}).await.expect("updated");
	assert_eq!(epoch, 2);
	let after = round_trip(&alice, &bob, direct, "after your update").await;
	assert_eq!(after.leaf.destination, Destination::Group { group: direct, epoch: 2 });
	assert_eq!(
		text(&bob.open_envelope(&envelope).await.expect("old mail still opens")),
		"hello Bob"
	);

	// Removing Charlie: the next message is Bob's to read only.
	let epoch = alice.remove_member(group, &charlie_id, &mut |_| {}).await.expect("removed");
	assert_eq!(epoch, 2);
	reach(&bob, group, 2).await;
	let secret = alice.send_group(group, "without Charlie").await.expect("sent");
	assert_eq!(secret.leaf.destination, Destination::Group { group, epoch: 2 });
	assert_eq!(text(&receive(&bob, secret.hash).await), "without Charlie");
	assert!(
		charlie.fetch().await.expect("mailboxes answer").iter().all(|e| e.hash != secret.hash),
		"no host keeps the new epoch's mail for Charlie"
	);
	// Charlie applies his removal; the envelope itself does not open for him.
	for entry in charlie.fetch().await.expect("answers") {
		let _ = charlie.open_mail(&entry).await;
	}
	let secret_envelope = alice.store.get(&secret.hash).expect("kept").expect("kept");
	assert!(matches!(
		charlie.open_envelope(&secret_envelope).await,
		Err(ReadError::NotInGroup(g)) if g == group
	));

	// Two admins change the group at once: the chain orders one commit for the epoch,
	// the other admin's client applies it and commits again on top, without being asked.
	alice
		.chain
		.submit(
			alice.pair(),
			quarks_client::chain::vocabulary::Call("Groups", "set_admin"),
			vec![
				Dynamic::u128(group.into()),
				quarks_client::chain::account_value(&bob_id),
				Dynamic::bool(true),
			],
			Wait::Finalized,
			&mut |_| {},
		)
		.await
		.expect("Bob is an admin");
	// Neither submits before both staged a commit on epoch 2: they conflict, every time.
	let (alice, bob) = (Arc::new(alice), Arc::new(bob));
	let staged = Arc::new(std::sync::Barrier::new(2));
	let stagings = Arc::new(AtomicUsize::new(0));
	let change = |admin: &Arc<Messenger>, who| {
		let admin = admin.clone();
		let (staged, stagings) = (staged.clone(), stagings.clone());
		tokio::spawn(async move {
			let mut steps = move |step| {
				// A commit is staged, about to be submitted.
				if matches!(step, Progress::Relaying) && stagings.fetch_add(1, Ordering::SeqCst) < 2
				{
					tokio::task::block_in_place(|| staged.wait());
				}
			};
			admin.add_member(group, &who, &mut steps).await
		})
	};
	let (by_alice, by_bob) = (change(&alice, charlie_id.clone()), change(&bob, dave_id.clone()));
	let by_alice = by_alice.await.expect("ran").expect("Alice's change");
	let by_bob = by_bob.await.expect("ran").expect("Bob's change");
	assert_eq!([by_alice.min(by_bob), by_alice.max(by_bob)], [3, 4], "one after the other");
	assert_eq!(stagings.load(Ordering::SeqCst), 3, "the loser staged once more, on epoch 3");
	for member in [&*alice, &*bob, &charlie, &dave] {
		reach(member, group, 4).await;
	}
	assert_eq!(alice.group_devices(group).expect("in it").1.len(), 4);
	let authenticator = alice.epoch_authenticator(group).expect("in it");
	for member in [&*bob, &charlie, &dave] {
		assert_eq!(member.epoch_authenticator(group).expect("in it"), authenticator, "no fork");
	}
	round_trip(&dave, &charlie, group, "hello from the newest member").await;

	// Bob's second device: bound by his account, added to his conversations by his first
	// device's commits; it reads what is sent next, until he removes it.
	let laptop = session(
		dir.path(),
		&validators[2],
		"Bob-laptop",
		Identity::from_suri("//Bob").expect("Bob"),
	)
	.await;
	laptop.register_device(28_800, Wait::Finalized, &mut |_| {}).await.expect("bound");
	for (group, outcome) in bob.sync_groups(false, &mut |_| {}).await {
		outcome.unwrap_or_else(|e| panic!("group {group}: {e}"));
	}
	reach(&alice, direct, 3).await;
	let both = alice.send_direct(&bob_id, "to both of your devices").await.expect("sent");
	alice
		.notarize(std::slice::from_ref(&both), Wait::InBlock, &mut |_| {})
		.await
		.expect("anchored");
	assert_eq!(text(&receive(&laptop, both.hash).await), "to both of your devices");
	assert_eq!(text(&receive(&bob, both.hash).await), "to both of your devices");
	let from_laptop = round_trip(&laptop, &alice, direct, "from my laptop").await;
	assert_eq!(&from_laptop.sender, &bob_id);
	assert_eq!(from_laptop.letter().expect("a letter").0.device, laptop.device_key());

	// Issue 32, item 1: the laptop is away while the phone reads and acknowledges three
	// letters, and their receipts are final. Hosts keep each message until every device
	// that counts has it, so the laptop gets every one on return; once it has them too, the
	// hosts let them go.
	let mut away = Vec::new();
	for n in 1..=3 {
		let text = format!("while you were away {n}");
		away.push(alice.send_direct(&bob_id, &text).await.expect("sent"));
	}
	alice.notarize(&away, Wait::Finalized, &mut |_| {}).await.expect("final");
	let read_all = ReadOptions {
		follow: false,
		count: None,
		timeout: Some(LIMIT),
		acknowledge: true,
		sync_every: None,
		update_every: None,
	};
	bob.read_mail(read_all.clone(), &mut |_| {}).await.expect("the phone reads");
	// Final, and two blocks more: time enough for hosts that deleted on a final receipt.
	let mut acknowledged_at = 0;
	for sent in &away {
		let receipt = wait_for("the phone's receipt, final", LIMIT, || async {
			queries::receipt_of(&bob.chain, &sent.hash, &bob_id).await.expect("reads")
		})
		.await;
		acknowledged_at = acknowledged_at.max(receipt);
	}
	wait_until("two more blocks final", LIMIT, || async {
		bob.chain.finalized().await.is_ok_and(|f| f > acknowledged_at + 2)
	})
	.await;
	for (n, sent) in away.iter().enumerate() {
		let text_ = format!("while you were away {}", n + 1);
		assert_eq!(text(&receive(&laptop, sent.hash).await), text_, "the laptop missed nothing");
	}
	let phone: &Messenger = &bob;
	let held = |hashes: Vec<H256>| async move {
		let kept = phone.fetch().await.expect("mailboxes answer");
		hashes.into_iter().filter(|h| kept.iter().any(|e| e.hash == *h)).count()
	};
	let away_hashes: Vec<H256> = away.iter().map(|sent| sent.hash).collect();
	assert_eq!(held(away_hashes.clone()).await, 3, "kept until the laptop says it has them");
	// What the hosts keep only for the laptop, the phone does not download again.
	for mailbox in bob.mailboxes().await.expect("connects") {
		let new = mailbox.fetch_new(bob.device_key()).await.expect("answers");
		assert!(new.iter().all(|e| !away_hashes.contains(&e.hash)), "the phone has them");
	}
	laptop.read_mail(read_all.clone(), &mut |_| {}).await.expect("the laptop reads");
	wait_until("the hosts let go of what both devices have", LIMIT, || async {
		held(away_hashes.clone()).await == 0
	})
	.await;
	// A letter only the phone reads stays for the laptop, until the laptop is removed: then
	// it no longer counts, and the hosts let it go.
	let last = alice.send_direct(&bob_id, "before the laptop goes").await.expect("sent");
	alice.notarize(std::slice::from_ref(&last), Wait::Finalized, &mut |_| {}).await.expect("final");
	bob.read_mail(read_all.clone(), &mut |_| {}).await.expect("the phone reads");
	assert_eq!(held(vec![last.hash]).await, 1, "kept for the laptop");

	bob.remove_device(&laptop.device_key(), &mut |_| {}).await.expect("unbound");
	wait_until("the hosts let go of what the removed laptop never read", LIMIT, || async {
		held(vec![last.hash]).await == 0
	})
	.await;
	// Unbound on chain, still in the conversation until Bob's next commit: a letter the
	// laptop sends now opens, and is refused once its anchor is final, since no device of
	// Bob's was bound with that key at the anchoring block.
	let unbound = laptop.send_group(direct, "from an unbound laptop").await.expect("sent");
	laptop
		.notarize(std::slice::from_ref(&unbound), Wait::Finalized, &mut |_| {})
		.await
		.expect("anchored");
	let deadline = Instant::now() + LIMIT;
	let refused = loop {
		let entries = alice.fetch().await.expect("mailboxes answer");
		if let Some(entry) = entries.iter().find(|e| e.hash == unbound.hash) {
			let checked = match alice.open_mail(entry).await {
				Ok(mut received) => alice.check_notarization(&mut received).await,
				Err(e) => Err(e),
			};
			match checked {
				Err(e @ ReadError::DeviceNotBound { .. }) => break e,
				Err(e) if !e.may_resolve() => panic!("refused for another reason: {e}"),
				_ => {}
			}
		}
		assert!(Instant::now() < deadline, "the unbound laptop's letter was never refused");
		tokio::time::sleep(Duration::from_millis(200)).await;
	};
	assert!(
		matches!(&refused, ReadError::DeviceNotBound { device, .. } if *device == laptop.device_key()),
		"{refused}"
	);
	for (group, outcome) in bob.sync_groups(false, &mut |_| {}).await {
		outcome.unwrap_or_else(|e| panic!("group {group}: {e}"));
	}
	reach(&alice, direct, 4).await;
	let phone_only = alice.send_direct(&bob_id, "phone only").await.expect("sent");
	assert_eq!(text(&receive(&bob, phone_only.hash).await), "phone only");
	for entry in laptop.fetch().await.expect("answers") {
		let _ = laptop.open_mail(&entry).await;
	}
	let phone_only_envelope = alice.store.get(&phone_only.hash).expect("kept").expect("kept");
	assert!(matches!(
		laptop.open_envelope(&phone_only_envelope).await,
		Err(ReadError::NotInGroup(g)) if g == direct
	));

	// A client restarted mid-conversation resumes from its saved state.
	drop(bob);
	let bob = reopen(dir.path(), &validators[1], "Bob").await;
	round_trip(&alice, &bob, direct, "after your restart").await;
	round_trip(&bob, &alice, direct, "back again").await;

	// A client from before the message database kept its letters in the mail store only:
	// they come into history once, with their notarization and when they were kept.
	let history = |m: &Messenger| m.database.history(direct, None, 100).expect("reads");
	let kept = history(&bob);
	drop(bob);
	for file in ["db", "db-wal", "db-shm"] {
		let _ = std::fs::remove_file(dir.path().join(format!("Bob.json.{file}")));
	}
	let bob = reopen(dir.path(), &validators[1], "Bob").await;
	assert!(history(&bob).is_empty(), "no database yet");
	let imported = bob.import_old_letters().await.expect("imports");
	let restored = history(&bob);
	assert!(restored.len() >= 3 && imported >= restored.len(), "{imported}: {restored:?}");
	for text in ["hello Bob", "after your restart", "back again"] {
		let [before] = &kept.iter().filter(|m| m.text == text).collect::<Vec<_>>()[..] else {
			panic!("{text:?} once in {kept:?}")
		};
		let [after] = &restored.iter().filter(|m| m.text == text).collect::<Vec<_>>()[..] else {
			panic!("{text:?} not imported once: {restored:?}")
		};
		assert_eq!(
			(after.hash, after.outgoing, &after.sender),
			(before.hash, before.outgoing, &before.sender)
		);
		// As the chain has it now: the last may not be final yet.
		let notarized = matches!(after.state, MessageState::Final(_))
			|| (text == "back again" && matches!(after.state, MessageState::Anchored(_)));
		assert!(notarized, "{after:?}");
		assert!(after.at.abs_diff(before.at) < 10_000, "{after:?} dated as kept, {before:?}");
	}
	assert_eq!(bob.import_old_letters().await.expect("once"), 0, "imported once");
	let conversation = bob.database.conversations().expect("reads");
	assert!(conversation.iter().all(|c| c.unread == 0), "history, not news: {conversation:?}");
}

/// Issue 28, item 6: a new account's first transaction is refused for want of funds with a
/// sentence that says what to do (not "Invalid Transaction (1010)"); with too little for
/// its device's deposit it is refused before paying a fee; once an existing user pays it
/// enough, it registers its device, which holds its deposit, as a choice of hosts does
/// until it is cleared (issue 34).
#[tokio::test(flavor = "multi_thread")]
async fn a_newcomer_without_funds_is_told_so_and_can_be_paid() {
	let _guard = exclusive();
	let dir = tempfile::tempdir().expect("temp dir");
	let validators = start_validators(dir.path()).await;
	let alice = client_session(dir.path(), &validators[0], "Alice").await;
	let newcomer = session(dir.path(), &validators[0], "Newcomer", Identity::generate()).await;

	let refused = newcomer
		.register_device(28_800, Wait::InBlock, &mut |_| {})
		.await
		.expect_err("an account without funds pays no fee");
	let ClientError::Chain(ChainError::NoFunds { free, needed, .. }) = &refused else {
		panic!("expected NoFunds, got {refused:?}")
	};
	assert_eq!(*free, Qrk(0));
	assert!(needed.0 > 0);
	let told = refused.to_string();
	assert!(told.contains("quarks pay") && !told.contains("1010"), "{told}");

	// Enough for the fee, not for the device's deposit (0.002444 QRK, beside the 0.001
	// an account keeps): refused before it is submitted, so no fee is paid for nothing.
	let little: Qrk = "0.0025".parse().expect("an amount");
	alice.pay(newcomer.account(), little, &mut |_| {}).await.expect("paid");
	let refused = newcomer
		.register_device(28_800, Wait::InBlock, &mut |_| {})
		.await
		.expect_err("its deposit cannot be held");
	let ClientError::Chain(ChainError::Dispatch(failure)) = &refused else {
		panic!("expected the deposit refused, got {refused:?}")
	};
	assert!(failure.is_unpayable_deposit(), "{failure}");
	assert!(refused.to_string().contains("quarks whoami"), "{refused}");
	let free = newcomer.chain.free_balance(newcomer.account()).await.expect("read");
	assert_eq!(free, little, "no fee paid");

	let amount: Qrk = "1".parse().expect("an amount");
	let fee = alice.payment_fee(newcomer.account(), amount).await.expect("estimated");
	let before = alice.chain.free_balance(alice.account()).await.expect("read");
	alice.pay(newcomer.account(), amount, &mut |_| {}).await.expect("paid");
	let free = newcomer.chain.free_balance(newcomer.account()).await.expect("read");
	assert_eq!(free, Qrk(amount.0 + little.0));
	let spent = before.0 - alice.chain.free_balance(alice.account()).await.expect("read").0;
	assert!(spent > amount.0 && spent - amount.0 <= 2 * fee.0, "spent {spent}, fee about {fee}");
	newcomer
		.register_device(28_800, Wait::Finalized, &mut |_| {})
		.await
		.expect("registered once paid");

	// State on chain holds a deposit (docs/operations.md, "What a new user needs"): the
	// device's, then a choice of hosts', returned when the choice is cleared.
	let held = || async { newcomer.chain.holdings(newcomer.account()).await.expect("read").held };
	let device_deposit: Qrk = "0.002444".parse().expect("an amount");
	assert_eq!(held().await, device_deposit);
	newcomer.choose_hosts(&[Dave.to_account_id()], &mut |_| {}).await.expect("chosen");
	let choice_deposit: Qrk = "0.001273".parse().expect("an amount");
	assert_eq!(held().await, Qrk(device_deposit.0 + choice_deposit.0));
	newcomer.clear_hosts(&mut |_| {}).await.expect("cleared");
	assert_eq!(held().await, device_deposit);
	assert!(hosts::chosen(&newcomer.chain, newcomer.account()).await.expect("read").is_empty());

	// Two transactions of one account at once (two calls to `quarks serve`, say) take two
	// nonces: both land.
	let other = session(dir.path(), &validators[0], "Other", Identity::generate()).await;
	let (mut quiet, mut silent) = (|_| {}, |_| {});
	let (first, second) = tokio::join!(
		alice.pay(newcomer.account(), amount, &mut quiet),
		alice.pay(other.account(), amount, &mut silent),
	);
	first.expect("the first payment landed");
	second.expect("the second payment landed");
	assert_eq!(other.chain.free_balance(other.account()).await.expect("read"), amount);
}

/// What a [`HostProxy`] does to a host's mailbox answers.
#[derive(Clone, Copy)]
enum Answers {
	/// Passes them on as they are, this much later.
	Late(Duration),
	/// Lies at once about everything: a fetched envelope comes with a broken submission
	/// signature and is final under a root no anchor has (whose proof checks); a new
	/// envelope is pushed with a byte changed (its hash and signature the original's); and
	/// the host's true news of an anchor becomes [`FLOOD`] claims of roots no anchor has.
	Lying,
	/// Lists the mailbox's first page for ever: its `next` never advances.
	Endless,
	/// Never answers a fetch.
	Silent,
}

/// A host endpoint in front of a real host: what relays push passes through unchanged,
/// mailbox answers as [`Answers`] says.
struct HostProxy {
	port: u16,
	lies: Arc<AtomicUsize>,
	_server: jsonrpsee::server::ServerHandle,
}

struct Upstream {
	rpc: NodeRpc,
	answers: Answers,
	lies: Arc<AtomicUsize>,
}

/// How many false claims a lying host makes of each anchor: more than a message keeps.
const FLOOD: u8 = 8;

/// A membership of `entry`'s leaf in a batch with `other`: its proof checks, and no anchor
/// has its root.
fn false_membership(envelope: &[u8], other: u8) -> BatchMembership {
	let (parsed, _) = seal::parse(envelope).expect("hosts keep envelopes");
	let leaf = parsed.leaf(hash_of(envelope)).value();
	let leaves = [leaf, H256::repeat_byte(other)];
	let membership = BatchMembership {
		root: batch_root(&leaves),
		proof: inclusion_proof(&leaves, 0).expect("in range"),
	};
	assert!(verify(&membership.root, &leaf, &membership.proof), "a lie that checks");
	membership
}

impl Upstream {
	/// `entry` as this proxy passes it on, `fetched` or pushed.
	async fn pass_on(&self, entry: &mut MailboxEntry, fetched: bool) {
		match self.answers {
			Answers::Late(delay) => tokio::time::sleep(delay).await,
			Answers::Endless | Answers::Silent => {}
			Answers::Lying if fetched => {
				entry.notarization =
					Claim::Final { block: 1, membership: false_membership(&entry.envelope, 0x66) };
				entry.signature[0] ^= 1;
				self.lies.fetch_add(1, Ordering::SeqCst);
			}
			Answers::Lying => {
				let last = entry.envelope.len() - 1;
				entry.envelope[last] ^= 1;
				self.lies.fetch_add(1, Ordering::SeqCst);
			}
		}
	}

	/// What this proxy pushes for the host's `event` about an envelope it holds.
	async fn news(
		&self,
		event: MailEvent<u32>,
		envelopes: &HashMap<H256, Vec<u8>>,
	) -> Vec<MailEvent<u32>> {
		match (event, self.answers) {
			(MailEvent::Anchored { hash, block, .. }, Answers::Lying) => {
				let Some(envelope) = envelopes.get(&hash) else { return Vec::new() };
				self.lies.fetch_add(1, Ordering::SeqCst);
				(0..FLOOD)
					.map(|n| MailEvent::Anchored {
						hash,
						block,
						membership: false_membership(envelope, n),
					})
					.collect()
			}
			(_, Answers::Lying) => Vec::new(),
			(event, Answers::Late(delay)) => {
				tokio::time::sleep(delay).await;
				vec![event]
			}
			(event, Answers::Endless | Answers::Silent) => vec![event],
		}
	}
}

impl HostProxy {
	async fn start(upstream_port: u16, answers: Answers) -> Self {
		use jsonrpsee::{types::ErrorObjectOwned, RpcModule, SubscriptionMessage};
		let rpc = NodeRpc::connect(&format!("ws://127.0.0.1:{upstream_port}"))
			.await
			.expect("the host answers");
		let lies = Arc::new(AtomicUsize::new(0));
		let upstream = Upstream { rpc, answers, lies: lies.clone() };
		let failed = |e: quarks_client::chain::ChainError| {
			ErrorObjectOwned::owned(1, e.to_string(), None::<()>)
		};
		let mut module = RpcModule::new(upstream);
		module
			.register_async_method("quarks_hostEnvelopes", move |params, up, _| async move {
				let items: Bytes = params.one()?;
				up.rpc
					.request::<Bytes>("quarks_hostEnvelopes", rpc_params![items])
					.await
					.map_err(failed)
			})
			.expect("registers");
		module
			.register_async_method("quarks_fetchMailbox", move |params, up, _| async move {
				let request: Bytes = params.one()?;
				if let Answers::Silent = up.answers {
					std::future::pending::<()>().await;
				}
				let mut page: MailboxPage<u32> = up
					.rpc
					.request("quarks_fetchMailbox", rpc_params![request])
					.await
					.map_err(failed)?;
				for entry in &mut page.mail {
					up.pass_on(entry, true).await;
				}
				if let Answers::Endless = up.answers {
					up.lies.fetch_add(1, Ordering::SeqCst);
					page.next = Some(page.mail.last().map_or(0, |e| e.position));
				}
				Ok::<_, ErrorObjectOwned>(page)
			})
			.expect("registers");
		module
			.register_subscription(
				"quarks_subscribeMailbox",
				"mailbox",
				"quarks_unsubscribeMailbox",
				|params, pending, up, _| async move {
					let request: Bytes = params.one()?;
					let mut events = up
						.rpc
						.subscribe::<MailEvent<u32>>(
							"quarks_subscribeMailbox",
							rpc_params![request],
							"quarks_unsubscribeMailbox",
						)
						.await?;
					let sink = pending.accept().await?;
					// The envelopes pushed so far, so that lies about them can check.
					let mut envelopes = HashMap::new();
					while let Some(Ok(event)) = events.next().await {
						let pushed = match event {
							MailEvent::Mail(mut entry) => {
								envelopes.insert(entry.hash, entry.envelope.clone());
								up.pass_on(&mut entry, false).await;
								vec![MailEvent::Mail(entry)]
							}
							news => up.news(news, &envelopes).await,
						};
						for event in pushed {
							sink.send(SubscriptionMessage::from_json(&event)?).await?;
						}
					}
					Ok(())
				},
			)
			.expect("registers");
		let server =
			jsonrpsee::server::Server::builder().build("127.0.0.1:0").await.expect("a free port");
		let port = server.local_addr().expect("bound").port();
		Self { port, lies, _server: server.start(module) }
	}
}

/// Bob's hosts are Dave's and Ferdie's. Dave's endpoint lies, first: what it pushes has a
/// byte changed, what it lists has a broken signature and is final under a root of its
/// own making, and each anchor becomes [`FLOOD`] claims of roots no anchor has, whose
/// proofs check. Ferdie's tells the truth half a second later. Alice's two letters share
/// one anchor, so neither sits alone under its root: only the honest host says where.
/// Bob's client refuses the altered copies for their signature, keeps the signed copy of
/// a listing, and reaches final at the block that anchors them.
#[tokio::test(flavor = "multi_thread")]
async fn a_lying_host_cannot_hide_what_an_honest_host_holds() {
	let _guard = exclusive();
	let dir = tempfile::tempdir().expect("temp dir");
	let (validators, _dave, _ferdie) = start_local_network(dir.path()).await;
	let liar = HostProxy::start(9947, Answers::Lying).await;
	let honest = HostProxy::start(9948, Answers::Late(Duration::from_millis(500))).await;
	for (operator, port) in [(Dave, liar.port), (Ferdie, honest.port)] {
		let terms = validators[0]
			.runtime_call::<Option<HostInfo<u32>>>("HostingApi_host", operator.to_account_id())
			.await
			.expect("admitted at genesis");
		let (retention, capacity, quota) = (terms.retention, terms.capacity, terms.user_quota);
		set_host_record(&validators[0], operator, port, retention, capacity, quota).await;
	}

	let alice = client_session(dir.path(), &validators[0], "Alice").await;
	let bob = client_session(dir.path(), &validators[1], "Bob").await;
	for m in [&alice, &bob] {
		m.register_device(28_800, Wait::Finalized, &mut |_| {}).await.expect("published");
	}
	// A first letter makes the conversation, so the two below are letters only.
	let first = alice.send_direct(bob.account(), "hello").await.expect("sent");
	alice
		.notarize(std::slice::from_ref(&first), Wait::InBlock, &mut |_| {})
		.await
		.expect("anchored");
	receive(&bob, first.hash).await;

	// Bob follows before Alice sends: every claim reaches him as news, the lies first.
	let mut updates = Vec::new();
	let options = |follow| ReadOptions {
		follow,
		count: follow.then_some(3),
		timeout: Some(LIMIT),
		acknowledge: false,
		sync_every: None,
		update_every: None,
	};
	let mut record = |update: &Update| updates.push(format!("{update:?}"));
	let read = bob.read_mail(options(true), &mut record);
	let send = async {
		tokio::time::sleep(Duration::from_secs(2)).await;
		let mut sent = Vec::new();
		for text in ["the truth", "and nothing but"] {
			sent.push(alice.send_direct(bob.account(), text).await.expect("sent"));
		}
		let notarized =
			alice.notarize(&sent, Wait::Finalized, &mut |_| {}).await.expect("anchored");
		(sent, notarized.included.block_number)
	};
	let (read, (sent, block)) = tokio::join!(read, send);
	read.expect("reads");
	assert!(liar.lies.load(Ordering::SeqCst) > 0, "the liar answered");
	for letter in &sent {
		let hash = format!("{:?}", letter.hash);
		let about: Vec<&String> = updates.iter().filter(|u| u.contains(&hash)).collect();
		assert!(about.iter().any(|u| u.starts_with("Shown")), "{updates:?}");
		let last = about.last().expect("updates");
		assert!(last.contains(&format!("notarization: Final({block})")), "{about:?}");
	}
	let forged = updates.iter().filter(|u| u.contains("BadSubmission")).count();
	assert!(forged >= sent.len(), "each altered copy refused for its signature: {updates:?}");

	// Listed again, each letter comes from both hosts, the liar's with a broken signature:
	// the signed copy is the one kept, and each letter is shown once.
	let fetched = bob.fetch().await.expect("mailboxes answer");
	for letter in &sent {
		let entry = fetched.iter().find(|e| e.hash == letter.hash).expect("listed");
		bob.open_mail(entry).await.expect("the signed copy is kept");
	}
	let mut listed = Vec::new();
	let mut record = |update: &Update| listed.push(format!("{update:?}"));
	bob.read_mail(options(false), &mut record).await.expect("reads");
	for letter in &sent {
		let hash = format!("{:?}", letter.hash);
		let shown = listed.iter().filter(|u| u.starts_with("Shown") && u.contains(&hash));
		assert_eq!(shown.count(), 1, "{listed:?}");
	}
	let refused = listed.iter().filter(|u| u.starts_with("Rejected"));
	assert!(refused.clone().all(|u| u.contains("BadSubmission")), "{listed:?}");
}

/// Issue 26, item 8: Bob's host Dave lists his mailbox's first page for ever (its `next`
/// never advances), then answers no fetch at all. Bob's client neither loops nor waits on
/// it: it reads what Ferdie holds, as if Dave were down.
#[tokio::test(flavor = "multi_thread")]
async fn a_hostile_host_cannot_hang_or_exhaust_a_client() {
	let _guard = exclusive();
	let dir = tempfile::tempdir().expect("temp dir");
	let (validators, _dave, _ferdie) = start_local_network(dir.path()).await;
	let endless = HostProxy::start(9947, Answers::Endless).await;
	let silent = HostProxy::start(9947, Answers::Silent).await;
	let terms = validators[0]
		.runtime_call::<Option<HostInfo<u32>>>("HostingApi_host", Dave.to_account_id())
		.await
		.expect("admitted at genesis");
	let (retention, capacity, quota) = (terms.retention, terms.capacity, terms.user_quota);

	let alice = client_session(dir.path(), &validators[0], "Alice").await;
	let bob = client_session(dir.path(), &validators[1], "Bob").await;
	for m in [&alice, &bob] {
		m.register_device(28_800, Wait::Finalized, &mut |_| {}).await.expect("published");
	}
	// Endless pages are refused at the second page; silence is cut at the fetch deadline
	// (10 s), well before a request's own timeout (60 s).
	for (proxy, what, within) in [(&endless, "endless pages", 5), (&silent, "silence", 30)] {
		set_host_record(&validators[0], Dave, proxy.port, retention, capacity, quota).await;
		let sent = alice.send_direct(bob.account(), what).await.expect("sent");
		let started = Instant::now();
		assert_eq!(text(&receive(&bob, sent.hash).await), what);
		let took = started.elapsed();
		assert!(took < Duration::from_secs(within), "{what}: Bob read it after {took:?}");
	}
	assert!(endless.lies.load(Ordering::SeqCst) > 0, "the endless host answered");
}

/// The runtime's metadata at its newest version (v16 describes view functions), as subxt
/// reads it from a node.
fn runtime_metadata() -> subxt::Metadata {
	use codec::Decode;
	let newest = quarks_runtime::Runtime::metadata_versions().into_iter().max().expect("one");
	let bytes = quarks_runtime::Runtime::metadata_at_version(newest).expect("metadata");
	subxt::Metadata::decode(&mut &bytes[..]).expect("the runtime's metadata")
}

/// Every call, storage item, constant, event and runtime API method the
/// client names is the runtime's: a rename in a pallet fails here, not in a user's hands.
#[test]
fn the_client_speaks_the_runtimes_vocabulary() {
	let missing = quarks_client::chain::vocabulary::missing(&runtime_metadata());
	assert!(missing.is_empty(), "the runtime lacks {missing:?}");
}

/// Every error of Quarks' pallets reads to the user as a sentence or is one the client
/// handles itself, and every error the client names is one the runtime has.
#[test]
fn the_client_knows_every_error_the_runtime_can_answer() {
	use quarks_client::chain::failures::{ANSWERED, HANDLED, QUARKS_PALLETS, SENTENCES};
	let metadata = runtime_metadata();
	let errors = |pallet: &str| -> Vec<String> {
		let pallet = metadata.pallet_by_name(pallet).unwrap_or_else(|| panic!("{pallet}"));
		pallet.error_variants().unwrap_or_default().iter().map(|v| v.name.clone()).collect()
	};
	let named: Vec<(&str, &str)> =
		SENTENCES.iter().map(|(p, e, _)| (*p, *e)).chain(HANDLED.iter().copied()).collect();
	for (pallet, error) in &named {
		assert!(errors(pallet).iter().any(|e| e == error), "{pallet}::{error} is no runtime error");
	}
	// The errors the client answers by name (trying again, starting a commit again).
	for answered in ANSWERED {
		assert!(named.contains(&(answered.0, answered.1)), "{answered:?} is named nowhere");
	}
	for pallet in QUARKS_PALLETS {
		for error in errors(pallet) {
			assert!(
				named.iter().any(|(p, e)| p == pallet && *e == error),
				"{pallet}::{error} has no sentence, and the client does not handle it"
			);
		}
	}
}

/// The events of the finalized blocks `from..=to` on `node`.
async fn events_in(node: &Node, from: u32, to: u32) -> Vec<quarks_runtime::RuntimeEvent> {
	let key = [sp_io::hashing::twox_128(b"System"), sp_io::hashing::twox_128(b"Events")].concat();
	let mut events = Vec::new();
	for number in from..=to {
		let hash: H256 = node
			.rpc
			.request("chain_getBlockHash", jsonrpsee::rpc_params![number])
			.await
			.expect("a block");
		let bytes: Option<Bytes> = node
			.rpc
			.request("state_getStorage", jsonrpsee::rpc_params![Bytes(key.clone()), hash])
			.await
			.expect("its events");
		let records: Vec<frame_system::EventRecord<quarks_runtime::RuntimeEvent, H256>> = bytes
			.map(|b| codec::Decode::decode(&mut &b[..]).expect("events decode"))
			.unwrap_or_default();
		events.extend(records.into_iter().map(|record| record.event));
	}
	events
}

/// Hosts paid on delivery: a bounty on Alice's anchor pays the host Charlie fetched her
/// letter from (Ferdie's, his only one) a share for each receipt of his, in its block,
/// through the receipts his reading client sends; what is left stays held for its expiry.
#[tokio::test(flavor = "multi_thread")]
async fn a_bounty_pays_the_host_that_delivered_for_each_receipt() {
	use pallet_quarks_bounties::Event as Bounty;
	let _machine = exclusive();
	let dir = tempfile::tempdir().expect("temp dir");
	let (validators, _dave, _ferdie) = start_local_network(dir.path()).await;
	let alice = Arc::new(client_session(dir.path(), &validators[0], "Alice").await);
	let charlie = client_session(dir.path(), &validators[1], "Charlie").await;
	charlie.register_device(28_800, Wait::Finalized, &mut |_| {}).await.expect("key package");
	let sent = alice.send_direct(charlie.account(), "worth a bounty").await.expect("sent");
	let notary = quarks_client::send::Notary::start(alice.clone());
	notary.notarize(sent.clone()).await.expect("answers").expect("anchored");
	let root = alice.store.membership(&sent.hash).expect("reads").expect("kept").root;

	// A share of 0.001 QRK for each of up to 4 receipts: 0.004 QRK held.
	let share = quarks_runtime::MILLI_UNIT;
	let offered = alice.offer_bounty(&root, Qrk(share), 4, Wait::Finalized, &mut |_| {}).await;
	let from = offered.expect("offered").block_number;
	let bounty_key = {
		let alice_id: quarks_runtime::AccountId = alice.account().clone();
		let mut key =
			[sp_io::hashing::twox_128(b"Bounties"), sp_io::hashing::twox_128(b"Bounties")].concat();
		key.extend(sp_io::hashing::blake2_128(alice_id.as_ref()));
		key.extend(codec::Encode::encode(&alice_id));
		key.extend(root.as_bytes());
		key
	};
	type Stored = pallet_quarks_bounties::Bounty<u128, u32>;
	let before: Stored =
		validators[0].finalized_storage(bounty_key.clone()).await.expect("offered");
	assert_eq!((before.per_receipt, before.left), (share, 4));

	// Charlie reads and acknowledges; each of his receipts names Ferdie's host.
	let shown = read_as(charlie, LIMIT, true);
	wait_until("Charlie's receipts paid shares", LIMIT, || async {
		let now: Option<Stored> = validators[0].finalized_storage(bounty_key.clone()).await;
		now.map_or(0, |b| b.left) < 4
	})
	.await;
	assert!(shown.lock().expect("shown").contains_key(&sent.hash), "Charlie read the letter");
	let to = validators[0].finalized_number().await;
	let paid: Vec<_> = events_in(&validators[0], from, to)
		.await
		.into_iter()
		.filter_map(|event| match event {
			quarks_runtime::RuntimeEvent::Bounties(Bounty::Paid { operator, amount, .. }) => {
				Some((operator, amount))
			}
			_ => None,
		})
		.collect();
	let ferdie: quarks_runtime::AccountId = Ferdie.to_account_id();
	assert!(!paid.is_empty() && paid.iter().all(|p| *p == (ferdie.clone(), share)), "{paid:?}");
	let now: Stored = validators[0].finalized_storage(bounty_key).await.expect("shares left");
	assert_eq!(now.left as usize, 4 - paid.len(), "one share a receipt");
	// And Alice's balance holds what is left, under the bounties' reason.
	let alice_id: quarks_runtime::AccountId = alice.account().clone();
	let mut holds_key =
		[sp_io::hashing::twox_128(b"Balances"), sp_io::hashing::twox_128(b"Holds")].concat();
	holds_key.extend(sp_io::hashing::blake2_128(alice_id.as_ref()));
	holds_key.extend(codec::Encode::encode(&alice_id));
	type Holds =
		Vec<frame_support::traits::tokens::IdAmount<quarks_runtime::RuntimeHoldReason, u128>>;
	let holds: Holds = validators[0].finalized_storage(holds_key).await.unwrap_or_default();
	let bounty_hold =
		quarks_runtime::RuntimeHoldReason::Bounties(pallet_quarks_bounties::HoldReason::Bounty);
	let held: u128 = holds.iter().filter(|h| h.id == bounty_hold).map(|h| h.amount).sum();
	assert_eq!(held, share * u128::from(now.left), "{holds:?}");
}
