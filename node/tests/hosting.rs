//! Relay and hosting on a real network on 127.0.0.1: three validators and the two mail
//! hosts of the `local` preset (Dave's, chosen by Alice and Bob; Ferdie's, chosen by Bob
//! and Charlie).

mod common;

use codec::Encode;
use common::*;
use jsonrpsee::{core::client::ClientT, rpc_params};
use pallet_quarks_groups::{Call as GroupsCall, WrappedKey};
use pallet_quarks_messaging::Call as MessagingCall;
use quarks_primitives::{
	envelope::{Envelope, ENVELOPE_VERSION},
	hosting::{MailboxRequest, SignedMailboxRequest},
	AnchorRecord, Destination, SIZE_CLASSES,
};
use quarks_runtime::{AccountId, BlockNumber, RuntimeCall};
use serde_json::Value;
use sp_core::{Bytes, H256};
use sp_keyring::Sr25519Keyring::{self, Alice, Bob, Charlie, Dave, Ferdie};
use std::{path::Path, time::Duration};

const LIMIT: Duration = Duration::from_secs(180);

/// A sealed-looking envelope: the node and hosts never look inside the body.
fn envelope(sender: Sr25519Keyring, to: Destination<AccountId>, class: u8, fill: u8) -> Vec<u8> {
	Envelope {
		version: ENVELOPE_VERSION,
		sender: account(sender),
		destination: to,
		size_class: class,
		body: vec![fill; SIZE_CLASSES[class as usize] as usize],
	}
	.encode()
}

fn hash(envelope: &[u8]) -> H256 {
	quarks_primitives::envelope::hash_of(envelope)
}

fn to(who: Sr25519Keyring) -> Destination<AccountId> {
	Destination::Direct(account(who))
}

/// The JSON-RPC error code of a refused call.
async fn refusal(node: &Node, method: &str, params: jsonrpsee::core::params::ArrayParams) -> i32 {
	match node.rpc.request::<Value, _>(method, params).await {
		Err(jsonrpsee::core::ClientError::Call(error)) => error.code(),
		other => panic!("{method} on {} should be refused, got {other:?}", node.name),
	}
}

async fn host_status(host: &Node) -> Value {
	host.rpc.request("quarks_hostStatus", rpc_params![]).await.expect("host status")
}

async fn stored(host: &Node) -> u64 {
	host_status(host).await["envelopes"].as_u64().expect("a count")
}

/// A mailbox request for `owner`'s mail on `operator`'s host, signed by `signer`.
async fn mailbox_request(
	node: &Node,
	owner: Sr25519Keyring,
	operator: Sr25519Keyring,
	signer: Sr25519Keyring,
	nonce: u64,
) -> Bytes {
	let request = MailboxRequest { account: account(owner), host: account(operator), nonce };
	let signature = signer.sign(&request.signing_payload(&node.genesis_hash().await));
	Bytes(SignedMailboxRequest { request, signature: signature.0 }.encode())
}

/// Nonces for mailbox requests: increasing, as a client's clock would give.
static NONCE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

fn next_nonce() -> u64 {
	NONCE.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
}

/// The hashes in `owner`'s mailbox on `operator`'s host, by a fresh signed request.
async fn mailbox(
	host: &Node,
	owner: Sr25519Keyring,
	operator: Sr25519Keyring,
) -> Vec<(H256, Bytes)> {
	let request = mailbox_request(host, owner, operator, owner, next_nonce()).await;
	let mail: Vec<Value> =
		host.rpc.request("quarks_fetchMailbox", rpc_params![request]).await.expect("own mailbox");
	mail.into_iter()
		.map(|m| {
			(
				serde_json::from_value(m["hash"].clone()).expect("a hash"),
				serde_json::from_value(m["envelope"].clone()).expect("bytes"),
			)
		})
		.collect()
}

async fn wait_in_mailbox(
	host: &Node,
	owner: Sr25519Keyring,
	operator: Sr25519Keyring,
	envelope: H256,
) {
	wait_until(&format!("{} keeps {envelope:?} for {owner}", host.name), LIMIT, || async {
		mailbox(host, owner, operator).await.iter().any(|(h, _)| *h == envelope)
	})
	.await;
}

async fn anchor(
	node: &Node,
	sender: Sr25519Keyring,
	envelope: &[u8],
	to: Destination<AccountId>,
	class: u8,
) {
	node.submit(
		sender,
		RuntimeCall::Messaging(MessagingCall::anchor {
			envelope: hash(envelope),
			destination: to,
			size_class: class,
		}),
	)
	.await;
	wait_until_anchored(node, hash(envelope)).await;
}

async fn wait_until_anchored(node: &Node, envelope: H256) -> AnchorRecord<AccountId, BlockNumber> {
	wait_for("the anchor is finalized", LIMIT, || async {
		node.runtime_call::<Option<AnchorRecord<AccountId, BlockNumber>>>(
			"HostingApi_anchor",
			envelope,
		)
		.await
	})
	.await
}

/// Points `operator`'s on-chain record at `host`'s RPC port, with these limits.
async fn submit_envelope(node: &Node, envelope: &[u8]) -> H256 {
	node.rpc
		.request(
			"quarks_submitEnvelope",
			rpc_params![Bytes(envelope.to_vec()), Option::<Bytes>::None],
		)
		.await
		.expect("the node accepts a well-formed envelope")
}

#[tokio::test(flavor = "multi_thread")]
async fn envelopes_reach_every_chosen_host_and_only_the_recipient_reads_them() {
	let _machine = exclusive();
	let dir = tempfile::tempdir().expect("temp dir");
	run(dir.path()).await;
}

async fn run(dir: &Path) {
	let mut validators = start_validators(dir).await;
	let boot = vec![validators[0].multiaddr().await];
	let mut dave = Node::start(dir, host_config("dave", 4, Dave, &boot, None));
	let mut ferdie = Node::start(dir, host_config("ferdie", 5, Ferdie, &boot, None));
	wait_finalized(&[&validators[0], &validators[1], &validators[2], &dave, &ferdie], 1).await;
	// The preset's endpoints name fixed ports; point the records at this test's.
	set_host_record(&validators[0], Dave, &dave, 1000, 1 << 30, 1 << 20).await;
	set_host_record(&validators[0], Ferdie, &ferdie, 1000, 1 << 30, 1 << 20).await;

	// 1:1. Ferdie's host is down before the relay starts; Charlie's node relays.
	let ferdie_port = ferdie.rpc_port;
	ferdie.stop();
	let to_bob = envelope(Alice, to(Bob), 0, 1);
	let h1 = hash(&to_bob);
	let submit = |bytes: Vec<u8>| rpc_params![Bytes(bytes), Option::<Bytes>::None];
	let oversize = vec![0u8; quarks_primitives::envelope::MAX_ENVELOPE_LEN + 1];
	let unpadded = [&to_bob[..to_bob.len() - 1], &[]].concat();
	for malformed in [oversize, unpadded, b"junk".to_vec()] {
		assert_eq!(refusal(&validators[2], "quarks_submitEnvelope", submit(malformed)).await, 9000);
	}
	assert_eq!(submit_envelope(&validators[2], &to_bob).await, h1, "submission returns the hash");
	anchor(&validators[0], Alice, &to_bob, to(Bob), 0).await;
	wait_in_mailbox(&dave, Bob, Dave, h1).await;

	// Restart the sending node mid-relay: the envelope is still queued for Ferdie's host.
	validators[2].stop();
	validators[2] = Node::start(dir, validator_config("charlie", 3, boot.clone()));
	let queued: Vec<Value> =
		validators[2].rpc.request("quarks_relayStatus", rpc_params![]).await.expect("relay status");
	assert_eq!(queued.len(), 1, "the restarted node still relays: {queued:?}");
	assert_eq!(queued[0]["hash"], serde_json::to_value(h1).expect("json"));

	ferdie = Node::start(dir, host_config("ferdie", 5, Ferdie, &boot, Some(ferdie_port)));
	wait_in_mailbox(&ferdie, Bob, Ferdie, h1).await;
	wait_until("the relay queue empties once both hosts confirmed", LIMIT, || async {
		let queued: Vec<Value> =
			validators[2].rpc.request("quarks_relayStatus", rpc_params![]).await.expect("status");
		queued.is_empty()
	})
	.await;
	for (host, operator) in [(&dave, Dave), (&ferdie, Ferdie)] {
		assert_eq!(mailbox(host, Bob, operator).await, vec![(h1, Bytes(to_bob.clone()))]);
		assert!(mailbox(host, Alice, operator).await.is_empty(), "the sender has no copy");
	}

	// Only Bob reads Bob's mail, each request is good once and on one host.
	let forged = mailbox_request(&dave, Bob, Dave, Alice, next_nonce()).await;
	assert_eq!(refusal(&dave, "quarks_fetchMailbox", rpc_params![forged]).await, 9041);
	let once = mailbox_request(&dave, Bob, Dave, Bob, next_nonce()).await;
	let _: Value = dave
		.rpc
		.request("quarks_fetchMailbox", rpc_params![once.clone()])
		.await
		.expect("first use");
	assert_eq!(refusal(&dave, "quarks_fetchMailbox", rpc_params![once]).await, 9042);
	let for_dave = mailbox_request(&ferdie, Bob, Dave, Bob, next_nonce()).await;
	assert_eq!(refusal(&ferdie, "quarks_fetchMailbox", rpc_params![for_dave]).await, 9040);

	// Bob's finalized receipt makes both hosts delete.
	validators[1]
		.submit(
			Bob,
			RuntimeCall::Messaging(MessagingCall::acknowledge {
				anchor: h1,
				envelope: h1,
				proof: None,
			}),
		)
		.await;
	for host in [&dave, &ferdie] {
		wait_until(&format!("{} deletes the delivered envelope", host.name), LIMIT, || async {
			stored(host).await == 0
		})
		.await;
	}

	// A group of Alice, Bob and Charlie: Dave's host keeps it for Alice and Bob, Ferdie's
	// for Bob and Charlie.
	validators[0]
		.submit(
			Alice,
			RuntimeCall::Groups(GroupsCall::create_group {
				members: vec![account(Bob), account(Charlie)],
			}),
		)
		.await;
	let group = Destination::Group { group: 0, epoch: 1 };
	wait_until("the group exists", LIMIT, || async {
		let info: Option<pallet_quarks_groups::GroupInfo> =
			validators[0].finalized_storage(groups_key(0)).await;
		info.is_some()
	})
	.await;
	let wrapped = [Alice, Bob, Charlie]
		.map(|who| WrappedKey {
			member: account(who),
			key_version: 1,
			commitment: H256::repeat_byte(7),
		})
		.to_vec();
	validators[0]
		.submit(Alice, RuntimeCall::Groups(GroupsCall::rotate_key { group: 0, epoch: 1, wrapped }))
		.await;
	wait_until("the epoch is rotated", LIMIT, || async {
		let members: Vec<AccountId> =
			validators[0].runtime_call("HostingApi_recipients", &group).await;
		members.len() == 3
	})
	.await;
	let to_group = envelope(Alice, group.clone(), 0, 2);
	let forged = mailbox_request(&ferdie, Charlie, Ferdie, Alice, next_nonce()).await;
	let (_, refused) = subscribe(&ferdie, forged).await;
	assert_eq!(refused["error"]["code"], 9041, "only the owner subscribes: {refused}");
	let request = mailbox_request(&ferdie, Charlie, Ferdie, Charlie, next_nonce()).await;
	let (mut charlie_feed, accepted) = subscribe(&ferdie, request).await;
	assert!(accepted["result"].is_string(), "a subscription id: {accepted}");
	let h2 = submit_envelope(&validators[0], &to_group).await;
	anchor(&validators[0], Alice, &to_group, group.clone(), 0).await;
	for who in [Alice, Bob] {
		wait_in_mailbox(&dave, who, Dave, h2).await;
	}
	for who in [Bob, Charlie] {
		wait_in_mailbox(&ferdie, who, Ferdie, h2).await;
	}
	assert!(mailbox(&dave, Charlie, Dave).await.is_empty(), "Charlie did not choose Dave");
	let pushed = next_json(&mut charlie_feed).await;
	assert_eq!(pushed["method"], "quarks_mailbox");
	assert_eq!(pushed["params"]["result"]["hash"], serde_json::to_value(h2).expect("json"));
	assert_eq!(
		pushed["params"]["result"]["envelope"],
		serde_json::to_value(Bytes(to_group.clone())).expect("json")
	);

	// A persistent host keeps its mail across a restart.
	let dave_port = dave.rpc_port;
	dave.stop();
	dave = Node::start(dir, host_config("dave", 4, Dave, &boot, Some(dave_port)));
	assert_eq!(mailbox(&dave, Alice, Dave).await, vec![(h2, Bytes(to_group.clone()))]);

	// Refusals leave the store as it was.
	let before = host_status(&dave).await;
	let host_envelope = |bytes: Vec<u8>| rpc_params![Bytes(bytes), Option::<Bytes>::None];
	assert_eq!(refusal(&dave, "quarks_hostEnvelope", host_envelope(vec![1, 2, 3])).await, 9000);
	let unanchored = envelope(Alice, to(Bob), 0, 3);
	assert_eq!(refusal(&dave, "quarks_hostEnvelope", host_envelope(unanchored)).await, 9020);
	let for_charlie = envelope(Alice, to(Charlie), 0, 4);
	anchor(&validators[0], Alice, &for_charlie, to(Charlie), 0).await;
	assert_eq!(refusal(&dave, "quarks_hostEnvelope", host_envelope(for_charlie)).await, 9023);
	let claims_bob_sent = envelope(Bob, to(Alice), 0, 5);
	anchor(&validators[0], Alice, &claims_bob_sent, to(Alice), 0).await;
	assert_eq!(refusal(&dave, "quarks_hostEnvelope", host_envelope(claims_bob_sent)).await, 9021);
	set_host_record(&validators[0], Dave, &dave, 1000, 1 << 30, 4096).await;
	let too_big = envelope(Alice, to(Bob), 1, 6);
	anchor(&validators[0], Alice, &too_big, to(Bob), 1).await;
	assert_eq!(refusal(&dave, "quarks_hostEnvelope", host_envelope(too_big)).await, 9030);
	assert_eq!(host_status(&dave).await, before);

	// Undelivered mail disappears past the host's retention.
	set_host_record(&validators[0], Dave, &dave, 1, 1 << 30, 4096).await;
	wait_until("Dave's host drops mail past its retention", LIMIT, || async {
		stored(&dave).await == 0
	})
	.await;
	assert_eq!(stored(&ferdie).await, 1, "Ferdie's host keeps it for its longer retention");
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

fn groups_key(group: u64) -> Vec<u8> {
	use sp_io::hashing::{twox_128, twox_64};
	let encoded = group.encode();
	[twox_128(b"Groups").as_slice(), &twox_128(b"Groups"), &twox_64(&encoded), &encoded].concat()
}
