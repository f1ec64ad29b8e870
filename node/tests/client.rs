//! The chat client end to end on a real network on 127.0.0.1 (three validators and the
//! `local` preset's mail hosts of Dave and Ferdie): 1:1 messages with receipts, audit and
//! a keyless proof, key rotation with old mail still readable, and a group whose key
//! rotates when a member is removed, after which that member cannot read.

mod common;

use common::*;
use quarks_client::{
	audit::{self, ProofError},
	chain::{Chain, Wait},
	messenger::{Content, Messenger, ReadError},
	seal::SealError,
};
use quarks_primitives::Destination;
use sp_core::H256;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(120);

/// Reads `hash` from `who`'s hosts once it is there and its anchor is final.
async fn receive(who: &mut Messenger, hash: H256) -> quarks_client::messenger::Received {
	let deadline = std::time::Instant::now() + LIMIT;
	loop {
		let entries = who.fetch().await.expect("mailboxes answer");
		if let Some(entry) = entries.iter().find(|e| e.hash == hash) {
			match who.read(&entry.envelope).await {
				Ok(received) => return received,
				Err(e) if e.may_resolve() => {}
				Err(e) => panic!("{hash:?} rejected: {e}"),
			}
		}
		assert!(std::time::Instant::now() < deadline, "{hash:?} never became readable");
		tokio::time::sleep(Duration::from_millis(500)).await;
	}
}

/// Reads every key envelope waiting for `who`, so group mail opens.
async fn take_group_keys(who: &mut Messenger, group: u64, epoch: u32) {
	let deadline = std::time::Instant::now() + LIMIT;
	while who.keystore.identity.group_key(group, epoch).is_none() {
		assert!(std::time::Instant::now() < deadline, "group {group} epoch {epoch} key never came");
		for entry in who.fetch().await.expect("mailboxes answer") {
			let _ = who.read(&entry.envelope).await;
		}
		tokio::time::sleep(Duration::from_millis(500)).await;
	}
}

fn text(received: &quarks_client::messenger::Received) -> &str {
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
	let bob_id = bob.account().clone();

	// 1:1, read from Bob's hosts, with every check.
	let sent =
		alice.send_direct(&bob_id, "hello Bob", Wait::InBlock, &mut |_| {}).await.expect("sent");
	let received = receive(&mut bob, sent.hash).await;
	assert_eq!(text(&received), "hello Bob");
	assert_eq!(&received.opened.sender, alice.account());
	assert_eq!(received.anchor.anchored_at, sent.included.block_number);

	// Someone else's mail does not open for Charlie.
	let envelope = alice.store.get(&sent.hash).expect("kept").expect("kept");
	assert!(matches!(
		charlie.read(&envelope).await,
		Err(ReadError::Seal(SealError::WrongRecipient))
	));
	// An envelope never anchored is refused, however well sealed.
	let unanchored = quarks_client::seal::seal(
		alice.pair(),
		quarks_client::seal::SealFor::Direct {
			account: &bob_id,
			key: &quarks_client::dev::encryption_public("Bob"),
			version: 1,
		},
		&quarks_client::seal::Letter { sent_at: 0, content: b"x".to_vec() },
	)
	.expect("seals");
	assert!(matches!(bob.read(&unanchored).await, Err(ReadError::Unanchored)));

	// The receipt reaches the finalized chain; the audit shows it with the key versions.
	bob.acknowledge(&[sent.hash], Wait::Finalized, &mut |_| {}).await.expect("acknowledged");
	let report = audit::audit(&alice.chain, &sent.hash, Some(&envelope))
		.await
		.expect("chain answers")
		.expect("anchored");
	assert_eq!(&report.anchor.sender, alice.account());
	assert_eq!(report.sender_key, Some(1));
	assert_eq!(report.sealed_to, Some(1));
	assert_eq!(report.recipients.len(), 1);
	assert_eq!(report.recipients[0].account, bob_id);
	assert!(report.recipients[0].receipt.is_some(), "receipt recorded");

	// Bob's proof verifies at another node with no key; any alteration fails.
	let proof = audit::prove(&mut bob, &sent.hash).await.expect("proof");
	let verifier =
		Chain::connect(&format!("ws://127.0.0.1:{}", dave.rpc_port)).await.expect("connects");
	let verified = audit::verify(&verifier, &proof).await.expect("valid proof");
	assert_eq!(&verified.sender, alice.account());
	assert_eq!(verified.content, Some(Content::Text("hello Bob".into())));
	let mut forged = proof.clone();
	let last = forged.envelope.0.len() - 1;
	forged.envelope.0[last] ^= 1;
	assert!(matches!(
		audit::verify(&verifier, &forged).await,
		Err(ProofError::Seal(SealError::Tampered))
	));
	let mut moved = proof.clone();
	moved.anchored_at += 1;
	assert!(matches!(audit::verify(&verifier, &moved).await, Err(ProofError::AnchorMismatch)));

	// Bob rotates his key: new mail is sealed to version 2, old mail still opens.
	let (version, _) =
		bob.publish_key(28_800, true, Wait::Finalized, &mut |_| {}).await.expect("rotated");
	assert_eq!(version, 2);
	let second = alice
		.send_direct(&bob_id, "after rotation", Wait::InBlock, &mut |_| {})
		.await
		.expect("sent");
	let received = receive(&mut bob, second.hash).await;
	assert_eq!(text(&received), "after rotation");
	let second_envelope = bob.store.get(&second.hash).expect("kept").expect("kept");
	let report = audit::audit(&bob.chain, &second.hash, Some(&second_envelope))
		.await
		.expect("chain answers")
		.expect("anchored");
	assert_eq!(report.sealed_to, Some(2));
	assert_eq!(text(&bob.read(&envelope).await.expect("old mail still opens")), "hello Bob");

	// A group of three; its key reaches Bob and Charlie, committed on chain.
	let charlie_id = charlie.account().clone();
	let group = alice
		.create_group(&[bob_id.clone(), charlie_id.clone()], &mut |_| {})
		.await
		.expect("group created");
	take_group_keys(&mut bob, group, 1).await;
	take_group_keys(&mut charlie, group, 1).await;
	let hello =
		alice.send_group(group, "hello group", Wait::InBlock, &mut |_| {}).await.expect("sent");
	assert_eq!(text(&receive(&mut bob, hello.hash).await), "hello group");
	assert_eq!(text(&receive(&mut charlie, hello.hash).await), "hello group");
	assert_eq!(
		hello.destination,
		Destination::Group { group, epoch: 1 },
		"sent under the first epoch"
	);

	// Removing Charlie rotates the key; the next message is Bob's to read only.
	let epoch = alice.remove_member(group, &charlie_id, &mut |_| {}).await.expect("removed");
	assert_eq!(epoch, 2);
	take_group_keys(&mut bob, group, 2).await;
	let secret =
		alice.send_group(group, "without Charlie", Wait::InBlock, &mut |_| {}).await.expect("sent");
	assert_eq!(text(&receive(&mut bob, secret.hash).await), "without Charlie");
	let secret_envelope = alice.store.get(&secret.hash).expect("kept").expect("kept");
	let deadline = std::time::Instant::now() + LIMIT;
	let refusal = loop {
		match charlie.read(&secret_envelope).await {
			Err(ReadError::Unanchored) if std::time::Instant::now() < deadline => {
				tokio::time::sleep(Duration::from_millis(500)).await
			}
			other => break other,
		}
	};
	assert!(matches!(refusal, Err(ReadError::NoGroupKey { epoch: 2, .. })), "{refusal:?}");
	assert!(
		charlie.fetch().await.expect("mailboxes answer").iter().all(|e| e.hash != secret.hash),
		"no host keeps the new epoch's mail for Charlie"
	);
}
