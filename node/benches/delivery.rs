//! Figures for docs/performance.md, "Delivery and notarization", with release binaries on
//! the local network on 127.0.0.1 (three validators, the mail hosts of Dave and Ferdie).
//! Nothing is asserted.
//!
//!     cargo bench -p quarks-node --bench delivery                 every scenario
//!     cargo bench -p quarks-node --bench delivery -- latency      one of: store, latency,
//!                                                                 load, anchoring, relay
//!
//! - store: the host store alone (insert, page, delete), ParityDB and memory.
//! - latency: Alice → Bob, one message a second: send → shown at Bob (his client has
//!   opened it and checked its signatures), send → anchored (the sender's anchor in a
//!   block), send → final (that block finalized).
//! - load: the same with 50 senders at 2 messages a second each (100 messages/s).
//! - anchoring: 100 senders anchoring full batches every block: what the chain notarizes.
//! - relay: one node pushing 1 KiB and 16 KiB envelopes from 100 senders to a host (the
//!   direct path), submitted one per call and then many per `quarks_submitEnvelopes`
//!   call.

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../src/hosting/host_store.rs"]
#[allow(dead_code, unused_imports)]
mod host_store;
mod measure;

use codec::{Decode, Encode};
use common::*;
use host_store::{HostStore, Limits, Meta, State};
use jsonrpsee::{core::client::ClientT, rpc_params};
use measure::describe;
use quarks_client::{
	chain::{account_value, hash_value, Wait},
	keystore::Identity,
	messenger::Messenger,
	send::{Notary, Sent},
};
use quarks_primitives::{
	envelope::{hash_of, Envelope, ENVELOPE_VERSION},
	hosting::{submission_payload, Submission, SubmitAnswer},
	AnchorRecord, Destination, SIZE_CLASSES,
};
use quarks_runtime::{AccountId, BlockNumber};
use serde_json::Value;
use sp_core::{crypto::Pair as _, sr25519, Bytes, H256};
use sp_keyring::Sr25519Keyring::{Alice, Dave, Ferdie};
use std::{
	collections::HashMap,
	path::Path,
	sync::{Arc, Mutex},
	time::{Duration, Instant},
};
use subxt::dynamic::Value as Dynamic;

fn wants(scenario: &str) -> bool {
	let only: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
	only.is_empty() || only.iter().any(|o| o == scenario)
}

fn per_second(count: usize, took: Duration) -> f64 {
	count as f64 / took.as_secs_f64()
}

/// A sealed-looking envelope for the store and relay figures (nobody opens it).
fn envelope(sender: &AccountId, to: &AccountId, class: u8, serial: u32) -> Vec<u8> {
	let mut body = vec![0u8; SIZE_CLASSES[class as usize] as usize];
	body[..4].copy_from_slice(&serial.to_le_bytes());
	Envelope {
		version: ENVELOPE_VERSION,
		sender: sender.clone(),
		destination: Destination::Direct(to.clone()),
		size_class: class,
		body,
	}
	.encode()
}

/// Envelopes per store commit in the store figures.
const STORE_BATCH: usize = 64;

fn store_figures(class: u8, count: usize) {
	let users: Vec<AccountId> = (0..100u8).map(|i| AccountId::from([i; 32])).collect();
	let limits = Limits {
		capacity: u64::MAX,
		user_quota: u64::MAX,
		sender_share: u64::MAX,
		stranger_share: u64::MAX,
		strangers: u64::MAX,
		sender_pending: u64::MAX,
		sender_capacity: u64::MAX,
	};
	for persistent in [true, false] {
		let dir = tempfile::tempdir().expect("temp dir");
		let store = if persistent {
			HostStore::open(dir.path()).expect("opens")
		} else {
			HostStore::in_memory().expect("opens")
		};
		let items: Vec<(H256, Submission, AccountId)> = (0..count as u32)
			.map(|i| {
				let bytes = envelope(&users[0], &users[1], class, i);
				let to = users[i as usize % users.len()].clone();
				(hash_of(&bytes), Submission { envelope: bytes, signature: [0; 64] }, to)
			})
			.collect();
		let len = items[0].1.envelope.len();
		let start = Instant::now();
		// As a host takes them: one durable commit per request of STORE_BATCH envelopes.
		for request in items.chunks(STORE_BATCH) {
			let mut batch = store.batch();
			for (hash, submission, to) in request {
				let meta = Meta {
					sender: users[0].clone(),
					leaf: *hash,
					len: len as u32,
					recipients: vec![to.clone()],
					position: 0,
					state: State::Pending { received_at: 1, membership: None },
				};
				batch.insert(*hash, submission, meta, limits).expect("fits");
			}
			batch.commit().expect("committed");
		}
		let inserted = start.elapsed();
		let start = Instant::now();
		let mut fetched = 0;
		let mut pages = 0;
		for user in &users {
			let mut after = None;
			loop {
				let (entries, next) = store.mailbox(user, after, 256, 4 << 20, None).expect("reads");
				fetched += entries.len();
				pages += 1;
				match next {
					Some(n) => after = Some(n),
					None => break,
				}
			}
		}
		let fetches = start.elapsed();
		let start = Instant::now();
		for (hash, _, to) in &items {
			store.stop_keeping([(*hash, to.clone())], u32::MAX).expect("deleted");
		}
		let deletes = start.elapsed();
		println!(
			"store {} {len} B x {count}: insert {:.0}/s ({:.1} MB/s, {STORE_BATCH} a commit), read {:.0} envelopes/s ({pages} pages), delete {:.0}/s (one a commit)",
			if persistent { "disk  " } else { "memory" },
			per_second(count, inserted),
			(count * len) as f64 / inserted.as_secs_f64() / 1e6,
			per_second(fetched, fetches),
			per_second(count, deletes),
		);
	}
}

/// `count` senders, funded by Alice and each with a registered device, on `nodes` in turn.
async fn senders(dir: &Path, nodes: &[Node], count: usize) -> Vec<Arc<Messenger>> {
	let identities: Vec<(String, AccountId)> = (0..count)
		.map(|i| {
			let suri = format!("//quarks-bench/{i}");
			let pair = sr25519::Pair::from_string(&suri, None).expect("valid suri");
			(suri, pair.public().into())
		})
		.collect();
	let alice = client_session(dir, &nodes[0], "Alice").await;
	let transfers: Vec<Dynamic> = identities
		.iter()
		.map(|(_, account)| {
			quarks_client::chain::vocabulary::TRANSFER.value(vec![
				("dest", Dynamic::unnamed_variant("Id", [account_value(account)])),
				("value", Dynamic::u128(1_000 * quarks_runtime::UNIT)),
			])
		})
		.collect();
	alice
		.chain
		.submit(
			alice.pair(),
			quarks_client::chain::vocabulary::BATCH_ALL,
			vec![Dynamic::unnamed_composite(transfers)],
			Wait::Finalized,
			&mut |_| {},
		)
		.await
		.expect("senders funded");
	let mut out = Vec::new();
	for (i, (suri, _)) in identities.iter().enumerate() {
		let node = &nodes[i % nodes.len()];
		let identity = Identity::from_suri(suri).expect("identity");
		out.push(session(dir, node, &format!("sender-{i}"), identity).await);
	}
	let registered = futures::future::join_all(
		out.iter()
			.map(|m| async move { m.register_device(28_800, Wait::InBlock, &mut |_| {}).await }),
	)
	.await;
	for result in registered {
		result.expect("device registered");
	}
	let finalized = nodes[0].best_number().await;
	wait_finalized(&nodes.iter().collect::<Vec<_>>(), finalized).await;
	out.into_iter().map(Arc::new).collect()
}

/// Bob publishes his key package and every sender starts its conversation with him, so
/// what is measured is sending in a conversation, not starting one.
async fn conversations_with_bob(senders: &[Arc<Messenger>], bob: &Messenger) {
	bob.register_device(28_800, Wait::Finalized, &mut |_| {}).await.expect("Bob's key package");
	let started = futures::future::join_all(
		senders
			.iter()
			.map(|s| async move { s.conversation_with(bob.account(), &mut |_| {}).await }),
	)
	.await;
	for outcome in started {
		outcome.expect("conversation started");
	}
}

/// When each block number became final at `node`, polled every 20 ms.
fn watch_finality(node_url: String, for_: Duration) -> Arc<Mutex<Vec<(BlockNumber, Instant)>>> {
	let finals: Arc<Mutex<Vec<(BlockNumber, Instant)>>> = Arc::default();
	let out = finals.clone();
	tokio::spawn(async move {
		let rpc =
			jsonrpsee::http_client::HttpClientBuilder::default().build(node_url).expect("client");
		let end = Instant::now() + for_;
		let mut last = 0;
		while Instant::now() < end {
			let head: Option<H256> =
				rpc.request("chain_getFinalizedHead", rpc_params![]).await.ok();
			if let Some(head) = head {
				let header: Value =
					rpc.request("chain_getHeader", rpc_params![head]).await.unwrap_or_default();
				if let Some(n) = header["number"]
					.as_str()
					.and_then(|n| u32::from_str_radix(n.trim_start_matches("0x"), 16).ok())
				{
					if n > last {
						last = n;
						out.lock().expect("finals").push((n, Instant::now()));
					}
				}
			}
			tokio::time::sleep(Duration::from_millis(20)).await;
		}
	});
	finals
}

/// `senders` each send to Bob every `interval` for `duration`; reports send → shown,
/// → anchored and → final.
async fn latency(
	name: &str,
	senders: &[Arc<Messenger>],
	bob: Messenger,
	nodes: &[&Node],
	interval: Duration,
	duration: Duration,
) {
	let node_url = format!("http://127.0.0.1:{}", nodes[0].rpc_port);
	let first_block = nodes[0].best_number().await;
	let drain = Duration::from_secs(20);
	let reader = read_as(bob, duration + drain, false);
	let finals = watch_finality(node_url, duration + drain);
	tokio::time::sleep(Duration::from_secs(2)).await; // Bob's subscriptions open.
	let sent_at: Arc<Mutex<HashMap<H256, Instant>>> = Arc::default();
	let anchored: Arc<Mutex<HashMap<H256, (Instant, BlockNumber)>>> = Arc::default();
	let bob_id = AccountId::from(sp_keyring::Sr25519Keyring::Bob.public());
	let tasks: Vec<_> = senders
		.iter()
		.enumerate()
		.map(|(i, sender)| {
			let (sender, sent_at, anchored, bob_id) =
				(sender.clone(), sent_at.clone(), anchored.clone(), bob_id.clone());
			let phase = interval.mul_f64(i as f64 / senders.len() as f64);
			tokio::spawn(async move {
				let notary = Notary::start(sender.clone());
				tokio::time::sleep(phase).await;
				let end = Instant::now() + duration;
				let mut next = Instant::now();
				let mut waits = Vec::new();
				while Instant::now() < end {
					tokio::time::sleep_until(next.into()).await;
					next += interval;
					let t0 = Instant::now();
					let Ok(sent): Result<Sent, _> = sender
						.send_direct(&bob_id, "a benchmark message of a few dozen bytes")
						.await
					else {
						continue;
					};
					sent_at.lock().expect("sent").insert(sent.hash, t0);
					let reply = notary.notarize(sent.clone());
					let anchored = anchored.clone();
					waits.push(tokio::spawn(async move {
						if let Ok(Ok(block)) = reply.await {
							anchored
								.lock()
								.expect("anchored")
								.insert(sent.hash, (Instant::now(), block));
						}
					}));
				}
				futures::future::join_all(waits).await;
			})
		})
		.collect();
	futures::future::join_all(tasks).await;
	tokio::time::sleep(drain).await;

	let sent_at = sent_at.lock().expect("sent").clone();
	let shown = reader.lock().expect("shown").clone();
	let anchored = anchored.lock().expect("anchored").clone();
	let finals = finals.lock().expect("finals").clone();
	let since =
		|hash: &H256, at: Instant| sent_at.get(hash).map(|t0| at.duration_since(*t0).as_secs_f64());
	println!("{name}: {} sent, {} shown, {} anchored", sent_at.len(), shown.len(), anchored.len());
	describe("  send → shown", shown.iter().filter_map(|(h, at)| since(h, *at)).collect());
	describe(
		"  send → anchored (in a block)",
		anchored.iter().filter_map(|(h, (at, _))| since(h, *at)).collect(),
	);
	let final_samples = anchored
		.iter()
		.filter_map(|(h, (_, block))| {
			finals.iter().find(|(n, _)| n >= block).and_then(|(_, at)| since(h, *at))
		})
		.collect();
	describe("  send → final", final_samples);
	let last_block = nodes[0].finalized_number().await;
	println!("  {}", chain_health(nodes, first_block, last_block).await);
}

/// 100 senders each anchor a full batch every block for `duration`: the chain's capacity.
async fn anchoring(senders: &[Arc<Messenger>], node: &Node, duration: Duration) {
	let start_block = node.best_number().await;
	let end = Instant::now() + duration;
	let max_batch: u32 = 4096;
	let tasks: Vec<_> = senders
		.iter()
		.enumerate()
		.map(|(i, sender)| {
			let sender = sender.clone();
			tokio::spawn(async move {
				let mut n = 0u64;
				while Instant::now() < end {
					let root = H256::from_low_u64_be((i as u64) << 32 | n);
					n += 1;
					let fields = vec![hash_value(&root), Dynamic::u128(max_batch.into())];
					let _ = sender
						.chain
						.submit(
							sender.pair(),
							quarks_client::chain::vocabulary::ANCHOR,
							fields,
							Wait::InBlock,
							&mut |_| {},
						)
						.await;
				}
			})
		})
		.collect();
	futures::future::join_all(tasks).await;
	tokio::time::sleep(Duration::from_secs(5)).await;
	let end_block = node.finalized_number().await;
	let (mut anchors, mut leaves) = (0u64, 0u64);
	for block in start_block + 1..=end_block {
		let records: Vec<(AccountId, H256, AnchorRecord<BlockNumber>)> =
			node.runtime_call("HostingApi_anchors_in", block).await;
		anchors += records.len() as u64;
		leaves += records.iter().map(|(_, _, r)| u64::from(r.count)).sum::<u64>();
	}
	let blocks = (end_block - start_block).max(1);
	let seconds = blocks as f64 * quarks_runtime::MILLI_SECS_PER_BLOCK as f64 / 1000.0;
	println!(
		"anchoring: {} senders, blocks {}..={end_block}: {anchors} anchors ({:.1} per block), {leaves} leaves = {:.0} anchored messages/s",
		senders.len(),
		start_block + 1,
		anchors as f64 / blocks as f64,
		leaves as f64 / seconds
	);
}

/// Envelopes the host has stored since it started: unlike its count of envelopes kept, it
/// does not fall when unanchored ones are dropped.
fn stored(host: &Node) -> u64 {
	host.metric("quarks_host_items_total", &[("result", "stored")]) as u64
}

/// `count` envelopes of `class` from `senders` to Alice, submitted to `relay` one per call
/// (64 calls in flight) or, with `per_call` above 1, that many per `quarks_submitEnvelopes`
/// call (4 in flight): how fast Dave's host holds them all.
async fn relay(
	senders: &[Arc<Messenger>],
	relay: &Node,
	dave: &Node,
	(class, count, serial): (u8, u32, u32),
	per_call: usize,
) {
	let genesis = relay.genesis_hash().await;
	let before = stored(dave);
	let alice = AccountId::from(Alice.public());
	let submissions: Vec<Vec<u8>> = (0..count)
		.map(|i| {
			let sender = &senders[i as usize % senders.len()];
			let bytes = envelope(sender.account(), &alice, class, serial + i);
			let signature = sender.pair().sign(&submission_payload(&genesis, &hash_of(&bytes))).0;
			Submission { envelope: bytes, signature }.encode()
		})
		.collect();
	let len = submissions[0].len();
	let start = Instant::now();
	let mut refused = 0;
	let in_flight = if per_call > 1 { 4 } else { 64 };
	if per_call > 1 {
		let calls: Vec<Vec<u8>> = submissions
			.chunks(per_call)
			.map(|call| {
				let list: Vec<Submission> =
					call.iter().map(|s| Submission::decode(&mut &s[..]).expect("ours")).collect();
				list.encode()
			})
			.collect();
		for chunk in calls.chunks(in_flight) {
			let answers = futures::future::join_all(chunk.iter().map(|call| {
				relay.rpc.request::<Vec<SubmitAnswer>, _>(
					"quarks_submitEnvelopes",
					rpc_params![Bytes(call.clone())],
				)
			}))
			.await;
			for answer in answers {
				refused += match answer {
					Ok(answers) => {
						answers.iter().filter(|a| matches!(a, SubmitAnswer::Refused { .. })).count()
					}
					Err(_) => per_call,
				};
			}
		}
	} else {
		for chunk in submissions.chunks(in_flight) {
			let answers = futures::future::join_all(chunk.iter().map(|s| {
				relay.rpc.request::<H256, _>("quarks_submitEnvelope", rpc_params![Bytes(s.clone())])
			}))
			.await;
			refused += answers.iter().filter(|a| a.is_err()).count();
		}
	}
	let submitted = start.elapsed();
	while stored(dave) < before + u64::from(count) - refused as u64 {
		tokio::time::sleep(Duration::from_millis(20)).await;
	}
	let took = start.elapsed();
	println!(
		"relay {len} B x {count} (direct push, {per_call} per call, {in_flight} calls in flight, {refused} refused): submitted at {:.0}/s, stored at the host at {:.0} envelopes/s ({:.1} MB/s)",
		per_second(count as usize, submitted),
		per_second(count as usize - refused, took),
		((count as usize - refused) * len) as f64 / took.as_secs_f64() / 1e6,
	);
}

#[tokio::main]
async fn main() {
	println!("profile: {}", if cfg!(debug_assertions) { "debug" } else { "release" });
	if wants("store") {
		store_figures(0, 20_000);
		store_figures(2, 2_000);
	}
	if !["latency", "load", "anchoring", "relay"].iter().any(|s| wants(s)) {
		return;
	}
	let dir = tempfile::tempdir().expect("temp dir");
	let (validators, dave, ferdie) = start_local_network(dir.path()).await;
	// Room for every scenario's mail at both hosts.
	set_host_record(&validators[0], Dave, dave.rpc_port, 28_800, 8 << 30, 4 << 30).await;
	set_host_record(&validators[0], Ferdie, ferdie.rpc_port, 28_800, 8 << 30, 4 << 30).await;
	let nodes: Vec<&Node> = validators.iter().chain([&dave, &ferdie]).collect();
	let needs_senders = ["load", "anchoring", "relay"].iter().any(|s| wants(s));
	let senders =
		if needs_senders { senders(dir.path(), &validators, 100).await } else { Vec::new() };

	if wants("latency") {
		let alice = Arc::new(
			session(dir.path(), &validators[0], "Alice-latency", Identity::development("Alice"))
				.await,
		);
		let bob =
			session(dir.path(), &validators[1], "Bob-latency", Identity::development("Bob")).await;
		alice.register_device(28_800, Wait::Finalized, &mut |_| {}).await.expect("registered");
		conversations_with_bob(std::slice::from_ref(&alice), &bob).await;
		latency(
			"1 message/s, Alice → Bob",
			&[alice],
			bob,
			&nodes,
			Duration::from_secs(1),
			Duration::from_secs(60),
		)
		.await;
	}
	if wants("load") {
		let bob =
			session(dir.path(), &validators[1], "Bob-load", Identity::development("Bob")).await;
		conversations_with_bob(&senders[..50], &bob).await;
		latency(
			"100 messages/s from 50 senders → Bob",
			&senders[..50],
			bob,
			&nodes,
			Duration::from_millis(500),
			Duration::from_secs(60),
		)
		.await;
	}
	if wants("anchoring") {
		anchoring(&senders, &validators[0], Duration::from_secs(30)).await;
	}
	if wants("relay") {
		relay(&senders, &validators[2], &dave, (0, 20_000, 0), 1).await;
		relay(&senders, &validators[2], &dave, (0, 20_000, 100_000), 256).await;
		relay(&senders, &validators[2], &dave, (2, 3_000, 1_000_000), 1).await;
		relay(&senders, &validators[2], &dave, (2, 3_000, 1_100_000), 200).await;
	}
}
