//! Delivery and hosting on a real network on 127.0.0.1: three validators and the two mail
//! hosts of the `local` preset (Dave's, chosen by Alice and Bob; Ferdie's, chosen by Bob
//! and Charlie). Envelopes are raw signed submissions here; the client library's own test
//! is `client.rs`.

mod common;

use codec::{Decode, Encode};
use common::*;
use jsonrpsee::{core::client::ClientT, rpc_params};
use pallet_quarks_messaging::Call as MessagingCall;
use quarks_primitives::{
	envelope::{hash_of, Envelope, ENVELOPE_VERSION},
	hosting::{
		batch_payload, submission_payload, BatchMembership, HostAnswer, HostInfo, HostItem,
		SignedMembership, Submission, SubmitAnswer, MAX_HOST_REQUEST_BYTES,
	},
	mailbox::{
		MailEntry, MailboxAction, MailboxPage, MailboxRequest, Notarization, SignedMailboxRequest,
	},
	merkle::{batch_root, inclusion_proof, single_root, AnchorLeaf},
	AnchorRecord, Destination, SIZE_CLASSES,
};
use quarks_runtime::{AccountId, BlockNumber, RuntimeCall};
use serde_json::Value;
use sp_core::{
	crypto::{Ss58AddressFormat, Ss58Codec},
	Bytes, Pair as _, H256,
};
use sp_keyring::Sr25519Keyring::{self, Alice, Bob, Charlie, Dave, Eve, Ferdie};
use std::{path::Path, time::Duration};

const LIMIT: Duration = Duration::from_secs(180);

/// A sealed-looking envelope: nodes and hosts never look inside the body.
fn envelope(sender: Sr25519Keyring, to: Destination<AccountId>, class: u8, serial: u32) -> Vec<u8> {
	let mut body = vec![0; SIZE_CLASSES[class as usize] as usize];
	body[..4].copy_from_slice(&serial.to_le_bytes());
	Envelope {
		version: ENVELOPE_VERSION,
		sender: account(sender),
		destination: to,
		size_class: class,
		body,
	}
	.encode()
}

fn to(who: Sr25519Keyring) -> Destination<AccountId> {
	Destination::Direct(account(who))
}

/// `envelope` signed for submission by `signer`.
async fn submission(node: &Node, signer: Sr25519Keyring, envelope: &[u8]) -> Submission {
	let payload = submission_payload(&node.genesis_hash().await, &hash_of(envelope));
	Submission { envelope: envelope.to_vec(), signature: signer.sign(&payload).0 }
}

/// The JSON-RPC error code of a refused call.
async fn refusal(node: &Node, method: &str, params: jsonrpsee::core::params::ArrayParams) -> i32 {
	match node.rpc.request::<Value, _>(method, params).await {
		Err(jsonrpsee::core::ClientError::Call(error)) => error.code(),
		other => panic!("{method} on {} should be refused, got {other:?}", node.name),
	}
}

async fn submit(node: &Node, submission: &Submission) -> Result<H256, i32> {
	match node.rpc.request("quarks_submitEnvelope", rpc_params![Bytes(submission.encode())]).await {
		Ok(hash) => Ok(hash),
		Err(jsonrpsee::core::ClientError::Call(error)) => Err(error.code()),
		Err(other) => panic!("submission to {} failed: {other}", node.name),
	}
}

/// Anchors `envelope` alone as `sender`, and waits until the anchor is final.
async fn anchor_alone(node: &Node, sender: Sr25519Keyring, envelope: &[u8]) -> BlockNumber {
	let decoded = Envelope::<AccountId>::decode_checked(envelope).expect("well formed");
	let root = single_root(&decoded.leaf(hash_of(envelope)).value());
	node.submit_next(sender, RuntimeCall::Messaging(MessagingCall::anchor { root, count: 1 }))
		.await;
	wait_for("the anchor is final", LIMIT, || async {
		let anchor: Option<AnchorRecord<BlockNumber>> =
			node.runtime_call("HostingApi_anchor", (account(sender), root)).await;
		anchor.map(|a| a.anchored_at)
	})
	.await
}

async fn host_status(host: &Node) -> Value {
	host.rpc.request("quarks_hostStatus", rpc_params![]).await.expect("host status")
}

async fn stored(host: &Node) -> u64 {
	host_status(host).await["envelopes"].as_u64().expect("a count")
}

async fn relay_status(node: &Node) -> Vec<Value> {
	node.rpc.request("quarks_relayStatus", rpc_params![]).await.expect("relay status")
}

/// Nonces for mailbox requests: increasing, as a client's clock would give.
static NONCE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// A mailbox request for `owner`'s mail on `operator`'s host, signed by `signer`.
async fn mailbox_request(
	node: &Node,
	owner: Sr25519Keyring,
	operator: Sr25519Keyring,
	signer: Sr25519Keyring,
	action: MailboxAction<AccountId>,
) -> Bytes {
	let nonce = NONCE.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
	let request =
		MailboxRequest { account: account(owner), host: account(operator), nonce, action };
	let signature = signer.sign(&request.signing_payload(&node.genesis_hash().await));
	Bytes(SignedMailboxRequest { request, signature: signature.0 }.encode())
}

fn fetch() -> MailboxAction<AccountId> {
	MailboxAction::Fetch { after: None, limit: 256 }
}

/// `owner`'s mail on `operator`'s host, every page, by fresh signed requests.
async fn mailbox(
	host: &Node,
	owner: Sr25519Keyring,
	operator: Sr25519Keyring,
) -> Vec<MailEntry<BlockNumber>> {
	let mut mail = Vec::new();
	let mut after = None;
	loop {
		let action = MailboxAction::Fetch { after, limit: 256 };
		let request = mailbox_request(host, owner, operator, owner, action).await;
		let page: MailboxPage<BlockNumber> = host
			.rpc
			.request("quarks_fetchMailbox", rpc_params![request])
			.await
			.expect("own mailbox");
		mail.extend(page.mail);
		match page.next {
			Some(next) => after = Some(next),
			None => return mail,
		}
	}
}

/// Waits until `owner`'s mailbox on `operator`'s host holds `hash` with a notarization
/// `wanted` accepts, and returns that entry.
async fn wait_in_mailbox(
	host: &Node,
	owner: Sr25519Keyring,
	operator: Sr25519Keyring,
	hash: H256,
	wanted: impl Fn(&Notarization<BlockNumber>) -> bool,
) -> MailEntry<BlockNumber> {
	wait_for(&format!("{} keeps {hash:?} for {owner}", host.name), LIMIT, || async {
		mailbox(host, owner, operator)
			.await
			.into_iter()
			.find(|e| e.hash == hash && wanted(&e.notarization))
	})
	.await
}

async fn host_items(host: &Node, items: &[HostItem]) -> Vec<HostAnswer<BlockNumber>> {
	let answer: Bytes = host
		.rpc
		.request("quarks_hostEnvelopes", rpc_params![Bytes(items.encode())])
		.await
		.expect("answers");
	Vec::decode(&mut &answer[..]).expect("SCALE answers")
}

/// Anchors `envelopes` as one batch of `sender` through `node`; waits until every node of
/// `seen_by` has the anchor finalized, and returns each envelope's membership, signed by
/// `sender` as nodes and hosts require.
async fn anchor_batch(
	node: &Node,
	seen_by: &[&Node],
	sender: Sr25519Keyring,
	envelopes: &[Vec<u8>],
) -> Vec<SignedMembership> {
	let leaves: Vec<H256> = envelopes
		.iter()
		.map(|e| {
			let decoded = Envelope::<AccountId>::decode_checked(e).expect("well formed");
			decoded.leaf(hash_of(e)).value()
		})
		.collect();
	let root = batch_root(&leaves);
	let count = leaves.len() as u32;
	node.submit_next(sender, RuntimeCall::Messaging(MessagingCall::anchor { root, count })).await;
	for seer in seen_by {
		wait_until(&format!("{} sees the anchor", seer.name), LIMIT, || async {
			let anchor: Option<AnchorRecord<BlockNumber>> =
				seer.runtime_call("HostingApi_anchor", (account(sender), root)).await;
			anchor.is_some()
		})
		.await;
	}
	let signature = sender.sign(&batch_payload(&node.genesis_hash().await, &root)).0;
	(0..count)
		.map(|i| SignedMembership {
			membership: BatchMembership {
				root,
				proof: inclusion_proof(&leaves, i).expect("in the batch"),
			},
			signature: Some(signature),
		})
		.collect()
}

/// How many of `hashes` `owner`'s mailbox on `operator`'s host lacks in a final anchor,
/// once all are there or `LIMIT` passed.
async fn lost_after_wait(
	host: &Node,
	owner: Sr25519Keyring,
	operator: Sr25519Keyring,
	hashes: &[H256],
) -> usize {
	let deadline = std::time::Instant::now() + LIMIT;
	loop {
		let kept: std::collections::HashSet<H256> = mailbox(host, owner, operator)
			.await
			.into_iter()
			.filter(|e| is_final(&e.notarization))
			.map(|e| e.hash)
			.collect();
		let lost = hashes.iter().filter(|h| !kept.contains(h)).count();
		if lost == 0 || std::time::Instant::now() > deadline {
			return lost;
		}
		tokio::time::sleep(Duration::from_millis(500)).await;
	}
}

fn pending(n: &Notarization<BlockNumber>) -> bool {
	matches!(n, Notarization::Pending)
}

fn is_final(n: &Notarization<BlockNumber>) -> bool {
	matches!(n, Notarization::Final { .. })
}

#[tokio::test(flavor = "multi_thread")]
async fn envelopes_reach_every_chosen_host_at_once_and_are_notarized_after() {
	let _machine = exclusive();
	let dir = tempfile::tempdir().expect("temp dir");
	run(dir.path()).await;
}

/// Finding 3 on real nodes: Dave's endpoint takes every connection and never answers.
/// Each attempt to reach it is cut by its deadline (the direct push's 2 s, the relay
/// worker's 4 s), so it holds up no one: Ferdie's host, which Bob chose too, has each
/// envelope pending at once and confirms the anchored one, while the attempts at Dave's
/// count up, one per deadline.
#[tokio::test(flavor = "multi_thread")]
async fn a_host_that_never_answers_holds_up_no_one() {
	let _machine = exclusive();
	let dir = tempfile::tempdir().expect("temp dir");
	let dir = dir.path();
	let validators = start_validators(dir).await;
	let boot = vec![validators[0].multiaddr().await];
	let ferdie = Node::start(dir, host_config("ferdie", 5, Ferdie, &boot, None));
	wait_finalized(&[&validators[0], &validators[1], &validators[2], &ferdie], 1).await;
	let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("binds");
	let silent_port = silent.local_addr().expect("bound").port();
	tokio::spawn(async move {
		let mut held = Vec::new();
		while let Ok((socket, _)) = silent.accept().await {
			held.push(socket);
		}
	});
	set_host_record(&validators[0], Dave, silent_port, 1000, 1 << 30, 1 << 20).await;
	set_host_record(&validators[0], Ferdie, ferdie.rpc_port, 1000, 1 << 30, 1 << 20).await;

	let node = &validators[2];
	let mut last = Vec::new();
	for serial in 0..5 {
		last = envelope(Alice, to(Bob), 0, 100 + serial);
		let started = std::time::Instant::now();
		let hash = submit(node, &submission(node, Alice, &last).await).await.expect("accepted");
		wait_in_mailbox(&ferdie, Bob, Ferdie, hash, pending).await;
		let waited = started.elapsed();
		assert!(waited < Duration::from_secs(3), "envelope {serial} took {waited:?} to Ferdie");
	}
	let hash = hash_of(&last);
	anchor_alone(&validators[0], Alice, &last).await;
	wait_in_mailbox(&ferdie, Bob, Ferdie, hash, is_final).await;
	// Of Bob's two hosts, only Ferdie's can confirm: Dave's is the one left, its failed
	// attempts counting up.
	let status = wait_for("three attempts at the silent host", LIMIT, || async {
		let queued = relay_status(node).await;
		let entry = queued.into_iter().find(|q| q["hash"] == serde_json::json!(hash))?;
		let unconfirmed = entry["unconfirmed"].as_array()?.clone();
		let attempts = match &unconfirmed[..] {
			[only] => only[1].as_u64()?,
			_ => return None,
		};
		(attempts >= 3).then_some(entry)
	})
	.await;
	assert_eq!(status["confirmed"].as_array().map(Vec::len), Some(1), "Ferdie's host: {status}");
}

/// Issue 12's fault tests, with real processes: SIGKILL of a host right after it
/// confirmed, of the sending node mid-relay, and of a validator under traffic. Each phase
/// counts the accepted envelopes that never became final at the hosts: none may be lost.
#[tokio::test(flavor = "multi_thread")]
async fn accepted_mail_survives_sigkill_of_hosts_senders_and_validators() {
	let _machine = exclusive();
	let dir = tempfile::tempdir().expect("temp dir");
	let dir = dir.path();
	let (mut validators, mut dave, mut ferdie) = start_local_network(dir).await;
	let boot = vec![validators[1].multiaddr().await];
	let host = |name, key, operator, port| {
		Node::start(dir, host_config(name, key, operator, &boot, Some(port)))
	};
	let batch = |from: u32| -> Vec<Vec<u8>> {
		(from..from + 64).map(|n| envelope(Alice, to(Bob), 0, n)).collect()
	};
	let hashes =
		|envelopes: &[Vec<u8>]| -> Vec<H256> { envelopes.iter().map(|e| hash_of(e)).collect() };

	// A host killed right after it confirmed: what it confirmed is there after a restart.
	let confirmed = batch(10_000);
	let memberships = anchor_batch(&validators[0], &[&dave], Alice, &confirmed).await;
	let mut items = Vec::new();
	for (e, membership) in confirmed.iter().zip(memberships) {
		let submission = submission(&validators[0], Alice, e).await;
		items.push(HostItem::Envelope { submission, membership: Some(membership) });
	}
	let answers = host_items(&dave, &items).await;
	dave.kill();
	assert!(
		answers.iter().all(|a| matches!(a, HostAnswer::Stored { anchored_at: Some(_) })),
		"{answers:?}"
	);
	dave = host("dave", 4, Dave, 9947);
	let kept: Vec<H256> = mailbox(&dave, Bob, Dave).await.into_iter().map(|e| e.hash).collect();
	let lost = hashes(&confirmed).iter().filter(|h| !kept.contains(h)).count();
	assert_eq!(lost, 0, "confirmed envelopes lost by a host's SIGKILL");

	// The sending node killed mid-relay, while both hosts are down: its accepted
	// envelopes reach them after all three restart.
	dave.kill();
	ferdie.kill();
	let accepted = batch(20_000);
	let sender = &validators[2];
	for e in &accepted {
		submit(sender, &submission(sender, Alice, e).await).await.expect("accepted");
	}
	let memberships = anchor_batch(&validators[0], &[sender], Alice, &accepted).await;
	let list: Vec<(H256, SignedMembership)> =
		hashes(&accepted).into_iter().zip(memberships).collect();
	let held: u32 = sender
		.rpc
		.request("quarks_submitMemberships", rpc_params![Bytes(list.encode())])
		.await
		.expect("memberships");
	assert_eq!(held, 64);
	validators[2].kill();
	validators[2] = Node::start(dir, validator_config("charlie", 3, boot.clone()));
	dave = host("dave", 4, Dave, 9947);
	ferdie = host("ferdie", 5, Ferdie, 9948);
	for (host, operator) in [(&dave, Dave), (&ferdie, Ferdie)] {
		let lost = lost_after_wait(host, Bob, operator, &hashes(&accepted)).await;
		assert_eq!(lost, 0, "accepted envelopes lost at {} by the sender's SIGKILL", host.name);
	}

	// A validator killed under traffic while it holds mail (finality stops without it):
	// the first half went to it, the rest to another validator after it died; anchored
	// while it is down, none is lost once it is back.
	let streamed = batch(30_000);
	let half = streamed.len() / 2;
	for (n, e) in streamed.iter().enumerate() {
		if n == half {
			validators[0].kill();
		}
		let sender = &validators[if n < half { 0 } else { 2 }];
		submit(sender, &submission(sender, Alice, e).await).await.expect("accepted");
		tokio::time::sleep(Duration::from_millis(50)).await;
	}
	let memberships = anchor_batch(&validators[1], &[], Alice, &streamed).await;
	let mut list: Vec<(H256, SignedMembership)> =
		hashes(&streamed).into_iter().zip(memberships).collect();
	let after_the_kill = list.split_off(half);
	validators[0] = Node::start(dir, validator_config("alice", 1, boot.clone()));
	for (node, list) in [(0, list), (2, after_the_kill)] {
		let held: u32 = validators[node]
			.rpc
			.request("quarks_submitMemberships", rpc_params![Bytes(list.encode())])
			.await
			.expect("memberships");
		assert_eq!(held as usize, half, "{}: held since it accepted them", validators[node].name);
	}
	for (host, operator) in [(&dave, Dave), (&ferdie, Ferdie)] {
		let lost = lost_after_wait(host, Bob, operator, &hashes(&streamed)).await;
		assert_eq!(lost, 0, "envelopes lost at {} by a validator's SIGKILL", host.name);
	}
}

/// A host back from downtime is behind the chain: mail relayed to it meanwhile is kept
/// pending, and its anchor arrives in blocks the host imports while catching up, of which
/// a node announces none. The host still finds those anchors: nothing it took is dropped.
#[tokio::test(flavor = "multi_thread")]
async fn a_host_catching_up_keeps_what_it_took_while_behind() {
	let _machine = exclusive();
	let dir = tempfile::tempdir().expect("temp dir");
	let dir = dir.path();
	let (validators, mut dave, _ferdie) = start_local_network(dir).await;
	dave.kill();
	let envelopes: Vec<Vec<u8>> = (0..8).map(|n| envelope(Alice, to(Bob), 0, 40_000 + n)).collect();
	let memberships = anchor_batch(&validators[0], &[&validators[0]], Alice, &envelopes).await;
	// Far enough that catching up is a major sync (more than 5 blocks), and twice the 10
	// blocks a host keeps mail pending its anchor.
	let anchored = validators[0].best_number().await;
	wait_finalized(&[&validators[0]], anchored + 20).await;

	// Dave's host restarts with no peer: it cannot import the anchor yet.
	dave = Node::start(dir, host_config("dave", 4, Dave, &[], Some(9947)));
	let mut items = Vec::new();
	for (e, membership) in envelopes.iter().zip(memberships) {
		let submission = submission(&validators[0], Alice, e).await;
		items.push(HostItem::Envelope { submission, membership: Some(membership) });
	}
	let answers = host_items(&dave, &items).await;
	assert!(
		answers.iter().all(|a| matches!(a, HostAnswer::Stored { anchored_at: None })),
		"a host behind the anchor keeps the mail pending: {answers:?}"
	);
	let () = dave
		.rpc
		.request("system_addReservedPeer", rpc_params![validators[0].multiaddr().await])
		.await
		.expect("a peer");
	let hashes: Vec<H256> = envelopes.iter().map(|e| hash_of(e)).collect();
	let lost = lost_after_wait(&dave, Bob, Dave, &hashes).await;
	assert_eq!(lost, 0, "mail a catching-up host took was dropped");
}

async fn run(dir: &Path) {
	// Charlie's node (the sending node) and Dave's host serve their metrics.
	let alice = Node::start(dir, validator_config("alice", 1, vec![]));
	let boot = vec![alice.multiaddr().await];
	let bob = Node::start(dir, validator_config("bob", 2, boot.clone()));
	let charlie_metrics = Some(free_port());
	let charlie_config = || NodeConfig {
		prometheus_port: charlie_metrics,
		..validator_config("charlie", 3, boot.clone())
	};
	let mut validators = vec![alice, bob, Node::start(dir, charlie_config())];
	let dave_metrics = Some(free_port());
	let dave_config = |port| NodeConfig {
		prometheus_port: dave_metrics,
		..host_config("dave", 4, Dave, &boot, port)
	};
	let mut dave = Node::start(dir, dave_config(None));
	let mut ferdie = Node::start(dir, host_config("ferdie", 5, Ferdie, &boot, None));
	wait_finalized(&[&validators[0], &validators[1], &validators[2], &dave, &ferdie], 1).await;
	// The preset's endpoints name fixed ports; point the records at this test's.
	set_host_record(&validators[0], Dave, dave.rpc_port, 1000, 1 << 30, 1 << 20).await;
	set_host_record(&validators[0], Ferdie, ferdie.rpc_port, 1000, 1 << 30, 1 << 20).await;
	let charlie_node = 2;

	// Submissions are checked before anything is kept.
	let to_bob = envelope(Alice, to(Bob), 0, 1);
	let node = &validators[charlie_node];
	assert_eq!(
		refusal(node, "quarks_submitEnvelope", rpc_params![Bytes(vec![1, 2, 3])]).await,
		9001
	);
	let unpadded = [&to_bob[..to_bob.len() - 1], &[]].concat();
	let mut bad = submission(node, Alice, &to_bob).await;
	bad.envelope = unpadded;
	assert_eq!(submit(node, &bad).await, Err(9000));
	// One byte past the largest class (64 KiB): no size class holds it.
	let largest = SIZE_CLASSES.len() - 1;
	let oversized = Envelope {
		version: ENVELOPE_VERSION,
		sender: account(Alice),
		destination: to(Bob),
		size_class: largest as u8,
		body: vec![0; SIZE_CLASSES[largest] as usize + 1],
	}
	.encode();
	let oversized = submission(node, Alice, &oversized).await;
	assert_eq!(submit(node, &oversized).await, Err(9000), "an envelope beyond 64 KiB");
	assert_eq!(submit(node, &submission(node, Charlie, &to_bob).await).await, Err(9041), "forged");
	let from_eve = envelope(Eve, to(Bob), 0, 2);
	assert_eq!(submit(node, &submission(node, Eve, &from_eve).await).await, Err(9025), "no device");
	let to_eve = envelope(Alice, to(Eve), 0, 3);
	assert_eq!(
		submit(node, &submission(node, Alice, &to_eve).await).await,
		Err(9024),
		"Eve chose no host: it could never be delivered"
	);
	assert!(relay_status(node).await.is_empty(), "nothing refused was kept");

	// 1:1 with Ferdie's host down: Dave's host has it at once, pending, before any anchor.
	let ferdie_port = ferdie.rpc_port;
	ferdie.stop();
	let h1 = submit(node, &submission(node, Alice, &to_bob).await).await.expect("accepted");
	assert_eq!(h1, hash_of(&to_bob), "submission returns the hash");
	wait_in_mailbox(&dave, Bob, Dave, h1, pending).await;
	let anchored_at = anchor_alone(&validators[0], Alice, &to_bob).await;
	let entry = wait_in_mailbox(&dave, Bob, Dave, h1, is_final).await;
	assert!(
		matches!(entry.notarization, Notarization::Final { block, .. } if block == anchored_at)
	);
	assert_eq!(entry.envelope, to_bob);
	let charlie = &validators[charlie_node];
	for (code, refused) in
		[("9001", 1.0), ("9000", 2.0), ("9041", 1.0), ("9025", 1.0), ("9024", 1.0)]
	{
		assert_eq!(
			charlie.metric("quarks_submissions_total", &[("result", "refused"), ("code", code)]),
			refused,
			"{code}"
		);
	}
	assert_eq!(charlie.metric("quarks_submissions_total", &[("result", "accepted")]), 1.0);
	assert_eq!(
		charlie.metric("quarks_relayed_envelopes_total", &[("path", "direct")]),
		1.0,
		"to Dave's host"
	);
	assert_eq!(charlie.metric("quarks_submission_to_stored_seconds_count", &[]), 1.0);
	wait_until(
		"Charlie's node exports the envelope still queued for Ferdie's host",
		LIMIT,
		|| async { charlie.metric("quarks_relay_queue_length", &[]) == 1.0 },
	)
	.await;
	wait_until("Dave's host exports the final envelope it keeps", LIMIT, || async {
		dave.metric("quarks_host_envelopes", &[("state", "final")]) == 1.0
	})
	.await;
	assert_eq!(dave.metric("quarks_host_bytes", &[("state", "final")]), to_bob.len() as f64);
	assert!(dave.metric("quarks_host_items_total", &[("result", "stored")]) >= 1.0);
	assert!(
		dave.metric("quarks_mailbox_fetches_total", &[]) >= 2.0,
		"the mailbox was fetched while waiting"
	);

	// The sending node restarts mid-relay: the envelope is still queued for Ferdie's host,
	// whose relay worker delivers it once the host is back.
	validators[charlie_node].stop();
	validators[charlie_node] = Node::start(dir, charlie_config());
	let node = &validators[charlie_node];
	let queued = relay_status(node).await;
	assert_eq!(queued.len(), 1, "the restarted node still relays: {queued:?}");
	assert_eq!(queued[0]["hash"], serde_json::to_value(h1).expect("json"));
	ferdie = Node::start(dir, host_config("ferdie", 5, Ferdie, &boot, Some(ferdie_port)));
	wait_in_mailbox(&ferdie, Bob, Ferdie, h1, is_final).await;
	wait_until("the relay queue empties once both hosts confirmed", LIMIT, || async {
		relay_status(node).await.is_empty()
	})
	.await;
	wait_until("the restarted node exports what its relay worker delivered", LIMIT, || async {
		node.metric("quarks_relayed_envelopes_total", &[("path", "worker")]) >= 1.0
			&& node.metric("quarks_relay_queue_length", &[]) == 0.0
	})
	.await;
	assert!(mailbox(&dave, Alice, Dave).await.is_empty(), "the sender has no copy");
	// Only a host's users have a mailbox there (and a nonce record): Alice chose Dave's host,
	// not Ferdie's; Eve chose none.
	for (host, operator, who) in [(&ferdie, Ferdie, Alice), (&dave, Dave, Eve)] {
		let request = mailbox_request(host, who, operator, who, fetch()).await;
		assert_eq!(refusal(host, "quarks_fetchMailbox", rpc_params![request]).await, 9043);
	}

	// Only Bob reads Bob's mail; each request is good once, on one host, for its action.
	let forged = mailbox_request(&dave, Bob, Dave, Alice, fetch()).await;
	assert_eq!(refusal(&dave, "quarks_fetchMailbox", rpc_params![forged]).await, 9041);
	let once = mailbox_request(&dave, Bob, Dave, Bob, fetch()).await;
	let _: Value = dave
		.rpc
		.request("quarks_fetchMailbox", rpc_params![once.clone()])
		.await
		.expect("first use");
	assert_eq!(refusal(&dave, "quarks_fetchMailbox", rpc_params![once]).await, 9042);
	let for_dave = mailbox_request(&ferdie, Bob, Dave, Bob, fetch()).await;
	assert_eq!(refusal(&ferdie, "quarks_fetchMailbox", rpc_params![for_dave]).await, 9040);
	let subscribe_request = mailbox_request(&dave, Bob, Dave, Bob, MailboxAction::Subscribe).await;
	assert_eq!(refusal(&dave, "quarks_fetchMailbox", rpc_params![subscribe_request]).await, 9001);

	// A host keeps Bob's mail until each of his devices that counts says it has it: a device
	// he does not have bound is refused; his one device's word makes Dave's host delete,
	// while Ferdie's, not told, keeps its copy for him.
	let leaf_value = AnchorLeaf { envelope: h1, destination: to(Bob), size_class: 0 }.value();
	let received = |device| MailboxAction::Received { device, envelopes: vec![h1] };
	let request = mailbox_request(&dave, Bob, Dave, Bob, received([9; 32])).await;
	assert_eq!(refusal(&dave, "quarks_receivedMail", rpc_params![request]).await, 9044);
	assert_eq!(stored(&dave).await, 1, "nothing deleted on an unbound device's word");
	let (_, bobs_device) = quarks_runtime::genesis_config_presets::DEV_DEVICE_KEYS
		.into_iter()
		.find(|(who, _)| *who == Bob)
		.expect("Bob's development device");
	let request = mailbox_request(&dave, Bob, Dave, Bob, received(bobs_device)).await;
	let kept: u32 =
		dave.rpc.request("quarks_receivedMail", rpc_params![request]).await.expect("taken");
	assert_eq!(kept, 1, "it was kept for Bob");
	assert_eq!(stored(&dave).await, 0, "every device Bob has bound has it");
	assert_eq!(dave.metric("quarks_deleted_delivered_total", &[]), 1.0);
	assert_eq!(mailbox(&ferdie, Bob, Ferdie).await.len(), 1, "Ferdie's host was not told");
	// Posting it again (a relay after a restart, or anyone re-injecting it) stores nothing.
	let again = HostItem::Envelope {
		submission: submission(node, Alice, &to_bob).await,
		membership: Some(SignedMembership::alone(&leaf_value)),
	};
	assert_eq!(host_items(&dave, &[again]).await, vec![HostAnswer::Delivered]);
	assert_eq!(stored(&dave).await, 0);
	wait_until("Dave's host exports that it keeps nothing", LIMIT, || async {
		dave.metric("quarks_host_envelopes", &[("state", "final")]) == 0.0
	})
	.await;

	// Pending mail whose anchor never comes: subscribed Bob is told it was dropped.
	let request = mailbox_request(&dave, Bob, Dave, Bob, MailboxAction::Subscribe).await;
	let (mut bob_feed, accepted) = subscribe(&dave, request).await;
	assert!(accepted["result"].is_string(), "a subscription id: {accepted}");
	assert_eq!(dave.metric("quarks_mailbox_subscriptions", &[]), 1.0);
	let never = envelope(Alice, to(Bob), 0, 4);
	let h2 = submit(node, &submission(node, Alice, &never).await).await.expect("accepted");
	let event = next_json(&mut bob_feed).await;
	assert_eq!(event["params"]["result"]["mail"]["hash"], serde_json::to_value(h2).expect("json"));
	assert_eq!(event["params"]["result"]["mail"]["notarization"], "pending");
	let event = next_json(&mut bob_feed).await;
	assert_eq!(
		event["params"]["result"]["dropped"]["hash"],
		serde_json::to_value(h2).expect("json"),
		"{event}"
	);
	assert!(mailbox(&dave, Bob, Dave).await.is_empty());
	assert_eq!(dave.metric("quarks_dropped_unanchored_total", &[]), 1.0);

	// A mailbox has at most 8 open subscriptions on a host; closing one makes room.
	let mut feeds = vec![bob_feed];
	for _ in 1..8 {
		let request = mailbox_request(&dave, Bob, Dave, Bob, MailboxAction::Subscribe).await;
		let (feed, accepted) = subscribe(&dave, request).await;
		assert!(accepted["result"].is_string(), "{accepted}");
		feeds.push(feed);
	}
	let request = mailbox_request(&dave, Bob, Dave, Bob, MailboxAction::Subscribe).await;
	let (_, refused) = subscribe(&dave, request).await;
	assert_eq!(refused["error"]["code"], 9061, "{refused}");
	assert_eq!(dave.metric("quarks_mailbox_subscriptions", &[]), 8.0);
	drop(feeds.pop());
	wait_until("the closed subscription frees its place", LIMIT, || async {
		dave.metric("quarks_mailbox_subscriptions", &[]) == 7.0
	})
	.await;
	let request = mailbox_request(&dave, Bob, Dave, Bob, MailboxAction::Subscribe).await;
	let (_reopened, accepted) = subscribe(&dave, request).await;
	assert!(accepted["result"].is_string(), "{accepted}");
	drop(feeds);

	// A host checks what it is handed directly, item by item.
	let for_charlie = envelope(Alice, to(Charlie), 0, 5);
	let answers = host_items(
		&dave,
		&[
			HostItem::Envelope {
				submission: submission(&dave, Alice, &for_charlie).await,
				membership: None,
			},
			HostItem::Envelope {
				submission: submission(&dave, Charlie, &to_bob).await,
				membership: None,
			},
			HostItem::Membership {
				envelope: H256::repeat_byte(9),
				membership: SignedMembership::alone(&H256::repeat_byte(9)),
			},
		],
	)
	.await;
	assert_eq!(
		answers,
		vec![
			HostAnswer::Refused { code: 9023, retry: false },
			HostAnswer::Refused { code: 9041, retry: false },
			HostAnswer::Missing
		]
	);

	// A persistent host keeps its mail across a restart.
	let kept = envelope(Alice, to(Bob), 0, 6);
	let h3 = submit(node, &submission(node, Alice, &kept).await).await.expect("accepted");
	anchor_alone(&validators[0], Alice, &kept).await;
	wait_in_mailbox(&dave, Bob, Dave, h3, is_final).await;
	let dave_port = dave.rpc_port;
	dave.stop();
	dave = Node::start(dir, dave_config(Some(dave_port)));
	assert_eq!(
		mailbox(&dave, Bob, Dave).await.iter().map(|e| e.hash).collect::<Vec<_>>(),
		vec![h3]
	);

	// Undelivered mail disappears past the host's retention.
	set_host_record(&validators[0], Dave, dave.rpc_port, 1, 1 << 30, 1 << 20).await;
	wait_until("Dave's host drops mail past its retention", LIMIT, || async {
		mailbox(&dave, Bob, Dave).await.is_empty()
	})
	.await;
	assert!(
		!mailbox(&ferdie, Bob, Ferdie).await.is_empty(),
		"Ferdie's host keeps it for its longer retention"
	);

	// The owner has a host delete mail it does not want kept, by a signed request: nobody
	// else can, a replay is refused, and one request names at most 256 envelopes.
	let delete = |envelopes| MailboxAction::Delete { envelopes };
	let forged = mailbox_request(&ferdie, Bob, Ferdie, Charlie, delete(vec![h3])).await;
	assert_eq!(refusal(&ferdie, "quarks_deleteMail", rpc_params![forged]).await, 9041);
	let too_many = mailbox_request(&ferdie, Bob, Ferdie, Bob, delete(vec![h3; 257])).await;
	assert_eq!(refusal(&ferdie, "quarks_deleteMail", rpc_params![too_many]).await, 9001);
	let holds_h3 = || async { mailbox(&ferdie, Bob, Ferdie).await.iter().any(|e| e.hash == h3) };
	assert!(holds_h3().await, "refusals delete nothing");
	let request = mailbox_request(&ferdie, Bob, Ferdie, Bob, delete(vec![h3])).await;
	let deleted: u32 = ferdie
		.rpc
		.request("quarks_deleteMail", rpc_params![request.clone()])
		.await
		.expect("the owner deletes");
	assert_eq!(deleted, 1);
	assert!(!holds_h3().await);
	assert_eq!(refusal(&ferdie, "quarks_deleteMail", rpc_params![request]).await, 9042);

	// Issue 31: many envelopes in one call, each checked as one alone (a forged one is
	// refused, the others taken), those accepted journaled together and pushed at once;
	// one listed twice is taken once. More than 256 are refused before any is read.
	let batch: Vec<Vec<u8>> = (0..3).map(|n| envelope(Alice, to(Bob), 0, 500 + n)).collect();
	let mut listed = Vec::new();
	for mail in &batch {
		listed.push(submission(node, Alice, mail).await);
	}
	let forged = submission(node, Charlie, &envelope(Alice, to(Bob), 0, 599)).await;
	listed.insert(1, forged);
	listed.push(listed[0].clone());
	let pushed = || node.metric("quarks_relayed_envelopes_total", &[("path", "direct")]);
	let pushed_before = pushed();
	let answers: Vec<SubmitAnswer> = node
		.rpc
		.request("quarks_submitEnvelopes", rpc_params![Bytes(listed.encode())])
		.await
		.expect("answers");
	let accepted = |n: usize| SubmitAnswer::Accepted(hash_of(&batch[n]));
	assert_eq!(answers.len(), 5, "{answers:?}");
	assert_eq!(answers[0], accepted(0));
	assert!(matches!(answers[1], SubmitAnswer::Refused { code: 9041, retry: false, .. }));
	assert_eq!(answers[2..], [accepted(1), accepted(2), accepted(0)]);
	for mail in &batch {
		wait_in_mailbox(&ferdie, Bob, Ferdie, hash_of(mail), pending).await;
	}
	// Each pushed once to each of Bob's two hosts, the one listed twice too.
	wait_until("both hosts took the pushes", LIMIT, || async { pushed() >= pushed_before + 6.0 })
		.await;
	tokio::time::sleep(Duration::from_secs(1)).await;
	assert_eq!(pushed(), pushed_before + 6.0);
	let too_many = vec![listed[0].clone(); 257];
	let params = rpc_params![Bytes(too_many.encode())];
	assert_eq!(refusal(node, "quarks_submitEnvelopes", params).await, 9001);

	// A sender over its rate gets a typed error, and nothing changes.
	// 1000 at once, refilling at 100 a second: concurrent submissions outrun it.
	let mut serial = 1000;
	let refused = 'burst: loop {
		assert!(serial < 10_000, "the node never refused a sender far over its rate");
		let burst: Vec<Vec<u8>> =
			(serial..serial + 100).map(|n| envelope(Dave, to(Bob), 0, n)).collect();
		serial += 100;
		let submissions =
			futures::future::join_all(burst.iter().map(|e| submission(node, Dave, e))).await;
		let answers = futures::future::join_all(submissions.iter().map(|s| submit(node, s))).await;
		for (answer, envelope) in answers.into_iter().zip(burst) {
			if let Err(code) = answer {
				break 'burst (code, envelope);
			}
		}
	};
	assert_eq!(refused.0, 9060);
	assert!(
		node.metric("quarks_submissions_total", &[("result", "refused"), ("code", "9060")]) >= 1.0
	);
	let refused_hash = serde_json::to_value(hash_of(&refused.1)).expect("json");
	assert!(
		relay_status(node).await.iter().all(|queued| queued["hash"] != refused_hash),
		"the refused envelope was not queued"
	);
	assert!(
		!mailbox(&dave, Bob, Dave).await.iter().any(|e| e.envelope == refused.1),
		"nor delivered"
	);
}

type Feed =
	tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens a WebSocket to `host` and asks for a mailbox subscription; returns the socket and
/// the answer.
async fn subscribe(host: &Node, request: Bytes) -> (Feed, Value) {
	use futures::SinkExt;
	let url = format!("ws://127.0.0.1:{}", host.rpc_port);
	let (mut feed, _) = tokio_tungstenite::connect_async(url).await.expect("WebSocket to the host");
	let call = serde_json::json!({
		"jsonrpc": "2.0", "id": 1, "method": "quarks_subscribeMailbox", "params": [request]
	});
	feed.send(tokio_tungstenite::tungstenite::Message::Text(call.to_string().into()))
		.await
		.expect("request sent");
	let answer = next_json(&mut feed).await;
	(feed, answer)
}

async fn next_json(feed: &mut Feed) -> Value {
	use futures::StreamExt;
	loop {
		let message = tokio::time::timeout(LIMIT, feed.next())
			.await
			.expect("a message within the limit")
			.expect("the socket stays open")
			.expect("a WebSocket message");
		if let tokio_tungstenite::tungstenite::Message::Text(text) = message {
			return serde_json::from_str(&text).expect("JSON");
		}
	}
}

/// Issue 26, on real nodes: what an insider who learns an envelope's hash (a host
/// operator, a group member) can no longer do to accepted mail — move it to a batch root
/// that is never anchored, at the sending node or at any host (item 3), or pass a forged
/// copy off at a host that holds it (item 11) — and what one sender's request of 4096
/// membership items costs a host: one durable write, so a push behind it is stored
/// within the push's deadline (item 5).
#[tokio::test(flavor = "multi_thread")]
async fn insiders_cannot_misplace_or_stall_mail() {
	let _machine = exclusive();
	let dir = tempfile::tempdir().expect("temp dir");
	let (validators, dave, ferdie) = start_local_network(dir.path()).await;
	let node = &validators[0];
	let genesis = node.genesis_hash().await;
	let hosts = [(&dave, Dave), (&ferdie, Ferdie)];

	// Alice writes to Bob; both his hosts keep it pending its anchor. Bob is offline.
	let mail = envelope(Alice, to(Bob), 0, 1);
	let hash = hash_of(&mail);
	submit(node, &submission(node, Alice, &mail).await).await.expect("accepted");
	for (host, operator) in hosts {
		wait_in_mailbox(host, Bob, operator, hash, pending).await;
	}

	// Charlie knows the hash and names a batch of it and a leaf of his: a root nobody
	// will anchor. Unsigned, or signed by anyone but Alice, it is refused everywhere; so
	// is a root the leaf is not under, or a proof deeper than any batch.
	let leaf = Envelope::<AccountId>::decode_checked(&mail).expect("ok").leaf(hash).value();
	let leaves = vec![leaf, H256::repeat_byte(7)];
	let root = batch_root(&leaves);
	let proof = inclusion_proof(&leaves, 0).expect("in it");
	let vouched = |signer: Option<Sr25519Keyring>, root: H256, proof| SignedMembership {
		membership: BatchMembership { root, proof },
		signature: signer.map(|s| s.sign(&batch_payload(&genesis, &root)).0),
	};
	let mut deep = proof.clone();
	deep.siblings = vec![H256::repeat_byte(1); 33];
	let refused = [
		(vouched(Some(Charlie), root, proof.clone()), 9041),
		(vouched(None, root, proof.clone()), 9041),
		(vouched(Some(Alice), H256::repeat_byte(1), proof.clone()), 9021),
		(vouched(Some(Alice), root, deep), 9001),
	];
	for (membership, code) in &refused {
		let list = vec![(hash, membership.clone())];
		let params = rpc_params![Bytes(list.encode())];
		let code = i32::from(*code);
		assert_eq!(refusal(node, "quarks_submitMemberships", params).await, code, "{membership:?}");
	}
	for (host, _) in hosts {
		let items: Vec<HostItem> = refused
			.iter()
			.map(|(membership, _)| HostItem::Membership {
				envelope: hash,
				membership: membership.clone(),
			})
			.collect();
		let codes: Vec<u16> = refused.iter().map(|(_, code)| *code).collect();
		let answers = host_items(host, &items).await;
		let got: Vec<u16> = answers
			.iter()
			.map(|a| match a {
				HostAnswer::Refused { code, retry: false } => *code,
				other => panic!("{} took a forged membership: {other:?}", host.name),
			})
			.collect();
		assert_eq!(got, codes, "{}", host.name);
		// A copy of the envelope under a signature that is not Alice's is refused too,
		// though the host holds the envelope.
		let forged_copy = submission(node, Charlie, &mail).await;
		let item = HostItem::Envelope { submission: forged_copy, membership: None };
		assert_eq!(
			host_items(host, &[item]).await,
			vec![HostAnswer::Refused { code: 9041, retry: false }]
		);
	}

	// A signed mailbox request with a byte after it is not the request that was signed;
	// a request over the documented 4 MiB is refused before it is read.
	let mut request = mailbox_request(&dave, Bob, Dave, Bob, fetch()).await.0;
	request.push(0);
	assert_eq!(refusal(&dave, "quarks_fetchMailbox", rpc_params![Bytes(request)]).await, 9001);
	let big = envelope(Alice, to(Bob), 3, 99);
	let big =
		HostItem::Envelope { submission: submission(node, Alice, &big).await, membership: None };
	let oversized = vec![big; 65];
	assert!(oversized.encoded_size() > MAX_HOST_REQUEST_BYTES);
	let params = rpc_params![Bytes(oversized.encode())];
	assert_eq!(refusal(&dave, "quarks_hostEnvelopes", params).await, 9001);

	// Alice anchors it alone, as she meant to: it becomes final at both hosts, where
	// Bob finds it when he comes back.
	anchor_alone(node, Alice, &mail).await;
	for (host, operator) in hosts {
		wait_in_mailbox(host, Bob, operator, hash, is_final).await;
	}

	// Item 4: mail Bob deleted does not come back at Dave's host, whoever posts it again
	// (the submission is signed once, by Alice, and anyone who saw it holds it).
	let request =
		mailbox_request(&dave, Bob, Dave, Bob, MailboxAction::Delete { envelopes: vec![hash] })
			.await;
	let deleted: u32 =
		dave.rpc.request("quarks_deleteMail", rpc_params![request]).await.expect("deleted");
	assert_eq!(deleted, 1);
	let again =
		HostItem::Envelope { submission: submission(node, Alice, &mail).await, membership: None };
	assert_eq!(host_items(&dave, &[again]).await, vec![HostAnswer::Delivered]);
	assert!(mailbox(&dave, Bob, Dave).await.iter().all(|e| e.hash != hash), "not kept again");

	// Item 4: only a member of a group at an epoch sends to it. Alice starts a group of
	// herself and Bob (their genesis devices); Charlie's mail to it is refused at the node
	// and at the host.
	let mut roster: Vec<[u8; 32]> = quarks_runtime::genesis_config_presets::DEV_DEVICE_KEYS
		.iter()
		.filter(|(who, _)| [Alice, Bob].contains(who))
		.map(|(_, key)| *key)
		.collect();
	roster.sort();
	let start = RuntimeCall::Utility(pallet_utility::Call::batch_all {
		calls: vec![
			RuntimeCall::Groups(pallet_quarks_groups::Call::create_group {
				members: vec![account(Bob)],
			}),
			RuntimeCall::Groups(pallet_quarks_groups::Call::commit {
				group: 0,
				epoch: 1,
				commit: vec![1; 8].try_into().expect("fits"),
				roster,
				welcome: Some(H256::repeat_byte(1)),
				restart: true,
				authenticator: H256::repeat_byte(2),
			}),
		],
	});
	node.submit_next(Alice, start).await;
	let to_group = Destination::Group { group: 0, epoch: 1 };
	wait_until("the group's epoch 1 is ordered", LIMIT, || async {
		let members: Vec<AccountId> =
			node.runtime_call("HostingApi_recipients", to_group.clone()).await;
		members.len() == 2
	})
	.await;
	let intruder = envelope(Charlie, to_group.clone(), 0, 7);
	let intruder = submission(node, Charlie, &intruder).await;
	assert_eq!(submit(node, &intruder).await, Err(9026));
	let item = HostItem::Envelope { submission: intruder, membership: None };
	assert_eq!(
		host_items(&dave, &[item]).await,
		vec![HostAnswer::Refused { code: 9026, retry: false }]
	);
	let member = envelope(Alice, to_group, 0, 8);
	submit(node, &submission(node, Alice, &member).await).await.expect("a member sends");

	// Item 5: Alice's own second envelope, and one request naming its (true) batch 4096
	// times. Charlie's push to Bob right behind it is stored within the push deadline.
	let second = envelope(Alice, to(Bob), 0, 2);
	let second_hash = hash_of(&second);
	submit(node, &submission(node, Alice, &second).await).await.expect("accepted");
	wait_in_mailbox(&dave, Bob, Dave, second_hash, pending).await;
	let second_leaf =
		Envelope::<AccountId>::decode_checked(&second).expect("ok").leaf(second_hash).value();
	let batch = vec![second_leaf, H256::repeat_byte(8)];
	let own = vouched(Some(Alice), batch_root(&batch), inclusion_proof(&batch, 0).expect("in it"));
	let flood = vec![HostItem::Membership { envelope: second_hash, membership: own }; 4096];
	// 4096 items is the most a request may hold: one more is refused before any is read.
	let too_many = [&flood[..], &flood[..1]].concat();
	let params = rpc_params![Bytes(too_many.encode())];
	assert_eq!(refusal(&dave, "quarks_hostEnvelopes", params).await, 9001, "4097 items");
	let behind = envelope(Charlie, to(Bob), 0, 3);
	let behind_hash = hash_of(&behind);
	let behind = submission(&validators[1], Charlie, &behind).await;
	// Four such requests at once, and the push a moment after they began.
	let started = std::time::Instant::now();
	let (answers, stored_after) = tokio::join!(
		async {
			let floods = (0..4).map(|_| host_items(&dave, &flood));
			let answers: Vec<HostAnswer<BlockNumber>> =
				futures::future::join_all(floods).await.into_iter().flatten().collect();
			println!("4 x 4096 membership items answered in {:?}", started.elapsed());
			answers
		},
		async {
			tokio::time::sleep(Duration::from_millis(100)).await;
			let accepted = std::time::Instant::now();
			submit(&validators[1], &behind).await.expect("accepted");
			wait_in_mailbox(&dave, Bob, Dave, behind_hash, pending).await;
			accepted.elapsed()
		}
	);
	assert!(
		answers.iter().all(|a| *a == HostAnswer::Stored { anchored_at: None }),
		"{:?}",
		&answers[..3]
	);
	assert!(
		stored_after < Duration::from_secs(2),
		"a push behind 4096 membership items was stored after {stored_after:?}, past the push's deadline"
	);

	// Item 4: four funded accounts Bob never accepted (Eve and Ferdie bind a device first)
	// try to fill his mailbox at Dave's host (its quota made 1 MiB), each pushing 64
	// envelopes of 4 KiB straight to the host. Bob told the host he accepts Alice: together
	// the strangers keep at most a quarter of his quota, each at most a sixteenth, and
	// Alice's mail is still taken.
	let expires_at = node.best_number().await + 1000;
	for (sybil, seed) in [(Eve, 5u8), (Ferdie, 6)] {
		let device = sp_core::ed25519::Pair::from_seed(&[seed; 32]);
		let proof = device.sign(&quarks_primitives::device_proof_payload(&account(sybil)));
		let bind = pallet_quarks_keys::Call::add_device {
			device: device.public().0,
			proof: proof.0,
			key_package: vec![seed; 8].try_into().expect("fits"),
			expires_at,
		};
		node.submit_next(sybil, RuntimeCall::Keys(bind)).await;
	}
	let record: Option<HostInfo<BlockNumber>> =
		node.runtime_call("HostingApi_host", account(Dave)).await;
	let record = record.expect("admitted");
	let quota = 1 << 20;
	set_host_record(node, Dave, dave.rpc_port, record.retention, record.capacity, quota).await;
	// As Dave's host sees the chain: the new quota, both devices bound.
	wait_until("Dave's node has the quota and Eve's and Ferdie's devices", LIMIT, || async {
		let mut ready = dave
			.runtime_call::<Option<HostInfo<BlockNumber>>>("HostingApi_host", account(Dave))
			.await
			.is_some_and(|record| record.user_quota == quota);
		for sybil in [Eve, Ferdie] {
			ready &= dave.runtime_call::<bool>("HostingApi_has_device", account(sybil)).await;
		}
		ready
	})
	.await;
	let contacts = MailboxAction::Contacts { device: [2; 32], accounts: vec![account(Alice)] };
	let request = mailbox_request(&dave, Bob, Dave, Bob, contacts).await;
	let named: u32 =
		dave.rpc.request("quarks_setContacts", rpc_params![request]).await.expect("set");
	assert_eq!(named, 1);
	let mut fills = Vec::new();
	for (i, sybil) in [Charlie, Eve, Ferdie, Dave].into_iter().enumerate() {
		let mut items = Vec::new();
		let mut len = 0;
		for serial in 0..64 {
			let fill = envelope(sybil, to(Bob), 1, 1000 * (i as u32 + 10) + serial);
			len = fill.len() as u64;
			let submission = submission(node, sybil, &fill).await;
			items.push(HostItem::Envelope { submission, membership: None });
		}
		fills.push((sybil, len, host_items(&dave, &items).await));
	}
	// 16 KiB: more than the four Sybils' quarters would have left free before this fix.
	let from_alice = envelope(Alice, to(Bob), 2, 77);
	let item = HostItem::Envelope {
		submission: submission(node, Alice, &from_alice).await,
		membership: None,
	};
	let alice_answer = host_items(&dave, &[item]).await;
	println!("Alice's mail, after them: {alice_answer:?}");
	for (sybil, len, answers) in fills {
		let kept = answers.iter().filter(|a| matches!(a, HostAnswer::Stored { .. })).count();
		println!("{sybil}: {kept} of 64 envelopes of {len} bytes kept");
		assert!(
			answers[kept..]
				.iter()
				.all(|a| matches!(a, HostAnswer::Refused { code: 9033 | 9035, retry: true })),
			"{sybil} was refused otherwise: {:?}",
			&answers[kept..]
		);
		assert!(kept > 0 && kept as u64 * len <= quota / 16, "{sybil} kept {kept}");
	}
	assert_eq!(
		alice_answer,
		vec![HostAnswer::Stored { anchored_at: None }],
		"a contact's mail is taken while strangers fill their part"
	);

	// A host forgets whom a former user accepted, and only a former user's. Dave, who chose
	// both hosts, and Charlie, who chose Ferdie's and keeps no mail there, each name Alice
	// there; then Charlie chooses Dave's host alone.
	for (who, device) in [(Dave, [4; 32]), (Charlie, [3; 32])] {
		let contacts = MailboxAction::Contacts { device, accounts: vec![account(Alice)] };
		let request = mailbox_request(&ferdie, who, Ferdie, who, contacts).await;
		let named: u32 =
			ferdie.rpc.request("quarks_setContacts", rpc_params![request]).await.expect("set");
		assert_eq!(named, 1);
	}
	let listed = |status: Value| status["contacts"].as_array().cloned().unwrap_or_default();
	assert_eq!(listed(host_status(&ferdie).await).len(), 2, "Dave's and Charlie's lists");
	let choose = pallet_quarks_hosts::Call::choose_hosts { hosts: vec![account(Dave)] };
	node.submit_next(Charlie, RuntimeCall::Hosts(choose)).await;
	wait_until("Ferdie's host forgets a former user's contacts", LIMIT, || async {
		listed(host_status(&ferdie).await).len() < 2
	})
	.await;
	let left = listed(host_status(&ferdie).await);
	assert_eq!(left.len(), 1, "a user's list stays: {left:?}");
	let dave_ss58 = account(Dave).to_ss58check_with_version(Ss58AddressFormat::custom(7777));
	assert_eq!(left[0][0], serde_json::json!(dave_ss58), "Dave's: {left:?}");
}
