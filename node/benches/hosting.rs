//! Figures for docs/performance.md: the host store alone, then relay throughput and
//! submission-to-host latency on a real local network. Nothing is asserted; run with
//!
//!     cargo bench --profile dev -p quarks-node --bench hosting

#[path = "../tests/common/mod.rs"]
mod common;
// The store's own unit tests come along; the bench harness ignores them.
#[path = "../src/hosting/store.rs"]
#[allow(dead_code, unused_imports)]
mod store;

use codec::Encode;
use common::*;
use jsonrpsee::{core::client::ClientT, rpc_params};
use pallet_quarks_messaging::Call as MessagingCall;
use quarks_primitives::{
	envelope::{hash_of, Envelope, ENVELOPE_VERSION},
	hosting::BatchMembership,
	merkle, Destination, SIZE_CLASSES,
};
use quarks_runtime::{AccountId, RuntimeCall};
use serde_json::Value;
use sp_core::{Bytes, H256};
use sp_keyring::Sr25519Keyring::{Alice, Dave};
use std::time::{Duration, Instant};
use store::{HostStore, Limits, StoredEnvelope};

fn envelope(class: u8, serial: u32) -> Vec<u8> {
	let mut body = vec![0u8; SIZE_CLASSES[class as usize] as usize];
	body[..4].copy_from_slice(&serial.to_le_bytes());
	Envelope {
		version: ENVELOPE_VERSION,
		sender: account(Alice),
		destination: Destination::Direct(account(Alice)),
		size_class: class,
		body,
	}
	.encode()
}

fn per_second(count: usize, took: Duration) -> f64 {
	count as f64 / took.as_secs_f64()
}

fn store_figures(class: u8, count: usize) {
	let users: Vec<AccountId> = (0..100u8).map(|i| AccountId::from([i; 32])).collect();
	let limits = Limits { capacity: u64::MAX, user_quota: u64::MAX };
	for persistent in [true, false] {
		let dir = tempfile::tempdir().expect("temp dir");
		let store = if persistent {
			HostStore::open(dir.path()).expect("opens")
		} else {
			HostStore::in_memory()
		};
		let envelopes: Vec<(H256, StoredEnvelope)> = (0..count as u32)
			.map(|i| {
				let bytes = envelope(class, i);
				let recipients = vec![users[i as usize % users.len()].clone()];
				(hash_of(&bytes), StoredEnvelope { envelope: bytes, recipients, anchored_at: 1 })
			})
			.collect();
		let len = envelopes[0].1.envelope.len();
		let start = Instant::now();
		for (hash, stored) in envelopes.iter().cloned() {
			store.insert(hash, stored, limits).expect("fits");
		}
		let stored = start.elapsed();
		let start = Instant::now();
		let mut fetched = 0;
		for user in &users {
			fetched += store.mailbox(user).len();
		}
		let fetches = start.elapsed();
		let start = Instant::now();
		for (hash, stored) in &envelopes {
			store.acknowledged(hash, &stored.recipients[0]).expect("deleted");
		}
		let deletes = start.elapsed();
		println!(
			"store {} {len} B x {count}: insert {:.0}/s ({:.1} MB/s), mailbox fetch {:.0}/s ({fetched} envelopes in {} fetches), delete {:.0}/s",
			if persistent { "paritydb" } else { "memory  " },
			per_second(count, stored),
			(count * len) as f64 / stored.as_secs_f64() / 1e6,
			per_second(users.len(), fetches),
			users.len(),
			per_second(count, deletes),
		);
	}
}

async fn stored_count(host: &Node) -> u64 {
	let status: Value = host.rpc.request("quarks_hostStatus", rpc_params![]).await.expect("status");
	status["envelopes"].as_u64().expect("count")
}

async fn wait_count(host: &Node, at_least: u64) -> Instant {
	loop {
		if stored_count(host).await >= at_least {
			return Instant::now();
		}
		tokio::time::sleep(Duration::from_millis(100)).await;
	}
}

/// `count` envelopes of `class` in one batch anchor, handed to `relay`, stored by `host`.
async fn relay_throughput(relay: &Node, host: &Node, class: u8, count: u32, serial: &mut u32) {
	let envelopes: Vec<Vec<u8>> = (0..count).map(|i| envelope(class, *serial + i)).collect();
	*serial += count;
	let hashes: Vec<H256> = envelopes.iter().map(|e| hash_of(e)).collect();
	let root = merkle::batch_root(&hashes);
	let before = stored_count(host).await;
	let start = Instant::now();
	for (i, bytes) in envelopes.iter().enumerate() {
		let proof = merkle::inclusion_proof(&hashes, i as u32).expect("in range");
		let batch = Bytes(BatchMembership { root, proof }.encode());
		let _: H256 = relay
			.rpc
			.request("quarks_submitEnvelope", rpc_params![Bytes(bytes.clone()), Some(batch)])
			.await
			.expect("accepted");
	}
	let submitted = start.elapsed();
	let anchored_at = Instant::now();
	relay
		.submit_next(
			Alice,
			RuntimeCall::Messaging(MessagingCall::anchor_batch {
				root,
				count,
				destination: Destination::Direct(account(Alice)),
				size_class: class,
			}),
		)
		.await;
	let first = wait_count(host, before + 1).await;
	let all = wait_count(host, before + u64::from(count)).await;
	let len = envelopes[0].len();
	println!(
		"relay {len} B x {count}: submit RPC {:.0}/s; anchor sent -> first stored {:.1} s, -> all stored {:.1} s; relayed {:.0} envelopes/s, {:.2} MB/s (first to last stored: {:.1} s)",
		per_second(count as usize, submitted),
		(first - anchored_at).as_secs_f64(),
		(all - anchored_at).as_secs_f64(),
		per_second(count as usize, all - anchored_at),
		(count as usize * len) as f64 / (all - anchored_at).as_secs_f64() / 1e6,
		(all - first).as_secs_f64(),
	);
}

/// Single messages, one after another: envelope and anchor sent together, until the host
/// has it.
async fn latency(relay: &Node, host: &Node, class: u8, rounds: u32, serial: &mut u32) {
	let mut samples = Vec::new();
	for _ in 0..rounds {
		let bytes = envelope(class, *serial);
		*serial += 1;
		let before = stored_count(host).await;
		let start = Instant::now();
		let _: H256 = relay
			.rpc
			.request(
				"quarks_submitEnvelope",
				rpc_params![Bytes(bytes.clone()), Option::<Bytes>::None],
			)
			.await
			.expect("accepted");
		relay
			.submit_next(
				Alice,
				RuntimeCall::Messaging(MessagingCall::anchor {
					envelope: hash_of(&bytes),
					destination: Destination::Direct(account(Alice)),
					size_class: class,
				}),
			)
			.await;
		samples.push(wait_count(host, before + 1).await - start);
	}
	samples.sort();
	let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize].as_secs_f64();
	println!(
		"latency {} B: submission -> stored at host over {rounds} messages: min {:.1} s, p50 {:.1} s, max {:.1} s",
		envelope(class, 0).len(),
		at(0.0),
		at(0.5),
		at(1.0)
	);
}

#[tokio::main]
async fn main() {
	store_figures(0, 20_000);
	store_figures(2, 2_000);

	let dir = tempfile::tempdir().expect("temp dir");
	let validators = start_validators(dir.path()).await;
	let boot = vec![validators[0].multiaddr().await];
	let dave = Node::start(
		dir.path(),
		NodeConfig {
			name: "dave",
			node_key: Some(4),
			bootnodes: boot,
			args: vec!["--host".into(), account(Dave).to_string()],
			..Default::default()
		},
	);
	wait_finalized(&[&validators[0], &validators[1], &validators[2], &dave], 1).await;
	set_host_record(&validators[0], Dave, &dave, 1000, 1 << 32, 1 << 32).await;
	let relay = &validators[2];
	let mut serial = 0;
	for (class, count) in [(0u8, 1024u32), (2, 256)] {
		relay_throughput(relay, &dave, class, count, &mut serial).await;
	}
	for class in [0u8, 2] {
		latency(relay, &dave, class, 10, &mut serial).await;
	}
}
