//! The chat client end to end on a real network on 127.0.0.1 (three validators and the
//! `local` preset's mail hosts of Dave and Ferdie): a message shown before its block whose
//! notarization then advances to final although another account anchored its root first,
//! a message never anchored flagged as such, a batch
//! of mixed destinations under one anchor acknowledged per leaf and audited, proofs, key
//! rotation, and a group whose key rotates when a member is removed.

mod common;

use common::*;
use quarks_client::{
	chain::{hash_value, At, Chain, Wait},
	error::ReadError,
	inbox::{Notarization, ReadOptions, Received},
	messenger::Messenger,
	proofs::{self, ProofError},
	queries,
	seal::{Content, SealError},
};
use quarks_primitives::{merkle::single_root, Destination};
use sp_core::H256;
use std::time::{Duration, Instant};
use subxt::dynamic::Value as Dynamic;

const LIMIT: Duration = Duration::from_secs(120);

/// Opens `hash` from `who`'s hosts as soon as it is there (any notarization).
async fn receive(who: &mut Messenger, hash: H256) -> Received {
	let deadline = Instant::now() + LIMIT;
	loop {
		let entries = who.fetch().await.expect("mailboxes answer");
		if let Some(entry) = entries.iter().find(|e| e.hash == hash) {
			match who.open_mail(entry).await {
				Ok(received) => return received,
				Err(e) if e.may_resolve() => {}
				Err(e) => panic!("{hash:?} rejected: {e}"),
			}
		}
		assert!(Instant::now() < deadline, "{hash:?} never arrived");
		tokio::time::sleep(Duration::from_millis(100)).await;
	}
}

/// Reads the chain for `received` until its anchor is final.
async fn until_final(who: &Messenger, received: &mut Received) -> u32 {
	let deadline = Instant::now() + LIMIT;
	loop {
		who.check_notarization(received).await.expect("the chain answers");
		if let Notarization::Final(block) = received.notarization {
			return block;
		}
		assert!(Instant::now() < deadline, "{:?} never became final", received.hash);
		tokio::time::sleep(Duration::from_millis(500)).await;
	}
}

/// Reads every key envelope waiting for `who`, so group mail opens.
async fn take_group_keys(who: &mut Messenger, group: u64, epoch: u32) {
	let deadline = Instant::now() + LIMIT;
	while who.keystore.identity.group_key(group, epoch).is_none() {
		assert!(Instant::now() < deadline, "group {group} epoch {epoch} key never came");
		for entry in who.fetch().await.expect("mailboxes answer") {
			let _ = who.open_mail(&entry).await;
		}
		tokio::time::sleep(Duration::from_millis(500)).await;
	}
}

fn text(received: &Received) -> &str {
	match &received.content {
		Content::Text(text) => text,
		other => panic!("expected text, got {other:?}"),
	}
}

#[tokio::test(flavor = "multi_thread")]
async fn chat_end_to_end() {
	let _guard = exclusive();
	let dir = tempfile::tempdir().expect("temp dir");
	let (validators, dave, _ferdie) = start_local_network(dir.path()).await;

	let mut alice = client_session(dir.path(), &validators[0], "Alice").await;
	let mut bob = client_session(dir.path(), &validators[1], "Bob").await;
	let mut charlie = client_session(dir.path(), &validators[2], "Charlie").await;
	let (bob_id, charlie_id) = (bob.account().clone(), charlie.account().clone());

	// A message never anchored: shown pending, then flagged as not notarized once the
	// hosts drop it.
	let unanchored = alice.send_direct(&bob_id, "never anchored").await.expect("sent");
	let mut updates = Vec::new();
	let options =
		ReadOptions { follow: true, count: Some(1), timeout: Some(LIMIT), acknowledge: false };
	bob.read_mail(options, &mut |update| updates.push(format!("{update:?}"))).await.expect("reads");
	assert!(
		updates[0].starts_with("Shown") && updates[0].contains("notarization: Pending"),
		"{updates:?}"
	);
	assert!(
		updates
			.iter()
			.any(|u| u.contains(&format!("{:?}", unanchored.hash)) && u.contains("NotNotarized")),
		"{updates:?}"
	);
	assert!(bob.fetch().await.expect("answers").is_empty(), "the hosts dropped it");

	// Shown before its block: Bob opens it while no anchor exists; then it is anchored and
	// final.
	let sent = alice.send_direct(&bob_id, "hello Bob").await.expect("sent");
	let mut received = receive(&mut bob, sent.hash).await;
	assert_eq!(text(&received), "hello Bob");
	assert_eq!(&received.opened.sender, alice.account());
	assert_eq!(received.notarization, Notarization::Pending);
	assert!(received.membership.is_none(), "no anchor exists yet");
	// Charlie sees Alice's pending message and anchors its root first, under his own
	// account: anchors are keyed by sender, so Alice's anchor still counts.
	let root = single_root(&sent.leaf.value());
	let fields = vec![hash_value(&root), Dynamic::u128(1)];
	charlie
		.chain
		.submit(charlie.pair(), "Messaging", "anchor", fields, Wait::InBlock, &mut |_| {})
		.await
		.expect("anyone may anchor any root under their own account");
	let notarized = alice
		.notarize(std::slice::from_ref(&sent), Wait::InBlock, &mut |_| {})
		.await
		.expect("anchored");
	assert_eq!(notarized.root, root);
	assert_eq!(until_final(&bob, &mut received).await, notarized.included.block_number);
	let charlies =
		queries::anchor(&alice.chain, &charlie_id, &root, At::Finalized).await.expect("reads");
	assert!(charlies.is_some_and(|record| record.anchored_at < notarized.included.block_number));

	// Someone else's mail does not open for Charlie.
	let envelope = alice.store.get(&sent.hash).expect("kept").expect("kept");
	assert!(matches!(
		charlie.open_envelope(&envelope).await,
		Err(ReadError::Seal(SealError::WrongRecipient))
	));

	// The receipt reaches the finalized chain; the audit shows it with the key versions.
	bob.acknowledge(&[&received], Wait::Finalized, &mut |_| {}).await.expect("acknowledged");
	let membership = alice.store.membership(&sent.hash).expect("kept");
	let report = proofs::audit(&alice.chain, &envelope, membership)
		.await
		.expect("chain answers")
		.expect("anchored");
	assert_eq!(&report.sender, alice.account());
	assert_eq!(report.sender_key, Some(1));
	assert_eq!(report.sealed_to, Some(1));
	assert_eq!(report.recipients.len(), 1);
	assert_eq!(report.recipients[0].account, bob_id);
	assert!(report.recipients[0].receipt.is_some(), "receipt recorded");

	// Bob's proof verifies at another node with no key; any alteration fails.
	let proof = proofs::prove(&mut bob, &sent.hash).await.expect("proof");
	let verifier =
		Chain::connect(&format!("ws://127.0.0.1:{}", dave.rpc_port)).await.expect("connects");
	let verified = proofs::verify(&verifier, &proof).await.expect("valid proof");
	assert_eq!(&verified.sender, alice.account());
	assert_eq!(verified.content, Some(Content::Text("hello Bob".into())));
	let mut forged = proof.clone();
	let last = forged.envelope.0.len() - 1;
	forged.envelope.0[last] ^= 1;
	assert!(matches!(
		proofs::verify(&verifier, &forged).await,
		Err(ProofError::Seal(SealError::Tampered))
	));
	let mut moved = proof.clone();
	moved.anchored_at += 1;
	assert!(matches!(proofs::verify(&verifier, &moved).await, Err(ProofError::AnchorMismatch)));

	// A group of three; its key reaches Bob and Charlie, committed on chain.
	let group = alice
		.create_group(&[bob_id.clone(), charlie_id.clone()], &mut |_| {})
		.await
		.expect("group created");
	take_group_keys(&mut bob, group, 1).await;
	take_group_keys(&mut charlie, group, 1).await;

	// One anchor covers a batch of mixed destinations; each recipient acknowledges its
	// own leaves, and the audit shows each leaf's receipts.
	let batch = vec![
		alice.send_direct(&bob_id, "to Bob").await.expect("sent"),
		alice.send_group(group, "to all of us").await.expect("sent"),
		alice.send_direct(&charlie_id, "to Charlie").await.expect("sent"),
	];
	let notarized = alice.notarize(&batch, Wait::InBlock, &mut |_| {}).await.expect("anchored");
	assert_eq!(notarized.memberships.len(), 3);
	assert!(notarized
		.memberships
		.iter()
		.all(|(_, m)| m.root == notarized.root && m.proof.leaf_count == 3));
	let mut for_bob = Vec::new();
	for sent in &batch[..2] {
		let mut received = receive(&mut bob, sent.hash).await;
		until_final(&bob, &mut received).await;
		for_bob.push(received);
	}
	assert_eq!(text(&for_bob[1]), "to all of us");
	let mut for_charlie = Vec::new();
	for sent in &batch[1..] {
		let mut received = receive(&mut charlie, sent.hash).await;
		until_final(&charlie, &mut received).await;
		for_charlie.push(received);
	}
	assert!(
		charlie.fetch().await.expect("answers").iter().all(|e| e.hash != batch[0].hash),
		"Bob's leaf is not Charlie's mail"
	);
	bob.acknowledge(&for_bob.iter().collect::<Vec<_>>(), Wait::Finalized, &mut |_| {})
		.await
		.expect("acknowledged");
	charlie
		.acknowledge(&for_charlie.iter().collect::<Vec<_>>(), Wait::Finalized, &mut |_| {})
		.await
		.expect("acknowledged");
	let receipts = |report: proofs::Audit| {
		report
			.recipients
			.into_iter()
			.filter(|r| r.receipt.is_some())
			.map(|r| r.account)
			.collect::<Vec<_>>()
	};
	for (sent, expected) in batch.iter().zip([
		vec![bob_id.clone()],
		vec![bob_id.clone(), charlie_id.clone()],
		vec![charlie_id.clone()],
	]) {
		let bytes = alice.store.get(&sent.hash).expect("kept").expect("kept");
		let membership = alice.store.membership(&sent.hash).expect("kept");
		let report = proofs::audit(&alice.chain, &bytes, membership)
			.await
			.expect("answers")
			.expect("anchored");
		assert_eq!(report.membership.root, notarized.root);
		let mut got = receipts(report);
		got.sort();
		let mut expected = expected;
		expected.sort();
		assert_eq!(got, expected, "receipts of {:?}", sent.leaf.destination);
	}

	// Bob rotates his key: new mail is sealed to version 2, old mail still opens.
	let (version, _) =
		bob.publish_key(28_800, true, Wait::Finalized, &mut |_| {}).await.expect("rotated");
	assert_eq!(version, 2);
	let second = alice.send_direct(&bob_id, "after rotation").await.expect("sent");
	alice
		.notarize(std::slice::from_ref(&second), Wait::Finalized, &mut |_| {})
		.await
		.expect("anchored");
	assert_eq!(text(&receive(&mut bob, second.hash).await), "after rotation");
	let second_envelope = bob.store.get(&second.hash).expect("kept").expect("kept");
	let report = proofs::audit(&bob.chain, &second_envelope, None)
		.await
		.expect("answers")
		.expect("anchored");
	assert_eq!(report.sealed_to, Some(2));
	assert_eq!(
		text(&bob.open_envelope(&envelope).await.expect("old mail still opens")),
		"hello Bob"
	);

	// Removing Charlie rotates the key; the next message is Bob's to read only.
	let epoch = alice.remove_member(group, &charlie_id, &mut |_| {}).await.expect("removed");
	assert_eq!(epoch, 2);
	take_group_keys(&mut bob, group, 2).await;
	let secret = alice.send_group(group, "without Charlie").await.expect("sent");
	assert_eq!(secret.leaf.destination, Destination::Group { group, epoch: 2 });
	assert_eq!(text(&receive(&mut bob, secret.hash).await), "without Charlie");
	let secret_envelope = alice.store.get(&secret.hash).expect("kept").expect("kept");
	assert!(matches!(
		charlie.open_envelope(&secret_envelope).await,
		Err(ReadError::NoGroupKey { epoch: 2, .. })
	));
	assert!(
		charlie.fetch().await.expect("mailboxes answer").iter().all(|e| e.hash != secret.hash),
		"no host keeps the new epoch's mail for Charlie"
	);
	assert!(queries::anchor(&alice.chain, alice.account(), &notarized.root, At::Finalized)
		.await
		.expect("answers")
		.is_some());
}
