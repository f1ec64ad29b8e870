//! Figures for docs/performance.md, "Finality": how long a transaction takes to be in a
//! block and to be final, and how many slots were missed and forks seen, on the local
//! network (three validators and the two mail hosts) on 127.0.0.1. Nothing is asserted.
//!
//!     cargo bench -p quarks-node --bench finality              (release binaries)
//!     TRANSACTIONS=60 cargo bench -p quarks-node --bench finality
//!
//! A client submits a remark at a random moment of the slot, one at a time, and records
//! when its node reports it in a best block and in a finalized block. Missed slots are
//! read from the Aura slot of every block of the canonical chain; forks from the blocks
//! each node logged as imported, by height.
//!
//! Then what trusting no node costs (docs/security.md, "The node a client reads from"): for
//! each of the last blocks, a fresh connection proves the block final and one value read
//! there (an account, as an anchor is read), against the same read believed; with the bytes
//! of the two proofs.

#[path = "../tests/common/mod.rs"]
mod common;
#[allow(dead_code)]
mod measure;

use common::*;
use measure::{describe, percentile};
use quarks_client::chain::{
	proven::storage_key,
	vocabulary::{Hasher, Keyed, Storage},
	Chain, Progress, Wait,
};
use sp_core::{Bytes, H256};
use std::{
	sync::{Arc, Mutex},
	time::{Duration, Instant},
};

#[tokio::main]
async fn main() {
	let transactions: usize =
		std::env::var("TRANSACTIONS").ok().and_then(|n| n.parse().ok()).unwrap_or(60);
	let profile = if cfg!(debug_assertions) { "debug" } else { "release" };
	println!("profile: {profile}; binary {}", env!("CARGO_BIN_EXE_quarks-node"));
	let dir = tempfile::tempdir().expect("temp dir");
	let (validators, dave, ferdie) = start_local_network(dir.path()).await;
	let chain = Chain::connect(&format!("ws://127.0.0.1:{}", validators[0].rpc_port))
		.await
		.expect("connects");
	let signer = sp_keyring::Sr25519Keyring::Alice.pair();
	let slot_ms = 3000f64; // Read below from the chain's blocks.
	let start_block = validators[0].best_number().await;

	let mut inclusion = Vec::new();
	let mut finality = Vec::new();
	for i in 0..transactions {
		// A random phase of the slot, so the wait for the next block is sampled evenly.
		let jitter = Duration::from_millis((i as u64 * 7919) % slot_ms as u64);
		tokio::time::sleep(jitter).await;
		let started = Instant::now();
		let marks: Arc<Mutex<(Option<f64>, Option<f64>)>> = Arc::default();
		let seen = marks.clone();
		let remark = subxt::dynamic::Value::from_bytes(format!("finality {i}").into_bytes());
		chain
			.submit(
				&signer,
				quarks_client::chain::vocabulary::Call("System", "remark"),
				vec![remark],
				Wait::Finalized,
				&mut move |progress| {
					let mut marks = seen.lock().expect("marks");
					match progress {
						Progress::InBlock(_) if marks.0.is_none() => {
							marks.0 = Some(started.elapsed().as_secs_f64())
						}
						Progress::Finalized(_) => marks.1 = Some(started.elapsed().as_secs_f64()),
						_ => {}
					}
				},
			)
			.await
			.expect("the remark is finalized");
		let (in_block, finalized) = *marks.lock().expect("marks");
		inclusion.push(in_block.expect("reported in a block"));
		finality.push(finalized.expect("reported final"));
	}

	let end_block = validators[0].finalized_number().await;
	let nodes: Vec<&Node> = validators.iter().chain([&dave, &ferdie]).collect();
	let health = chain_health(&nodes, start_block.max(1), end_block).await;
	println!("transactions: {transactions}, one at a time, at a random phase of the slot");
	describe("submitted → in a best block", inclusion);
	describe("submitted → finalized", finality);
	println!("{health}");
	proving(&validators[0], end_block, transactions.min(30) as u32).await;
}

/// Proves `count` blocks up to `last` final, and one read at each, on fresh connections.
async fn proving(node: &Node, last: u32, count: u32) {
	use jsonrpsee::core::client::ClientT;
	let url = format!("ws://127.0.0.1:{}", node.rpc_port);
	let account = Keyed(Storage("System", "Account"), &[Hasher::Blake2_128Concat]);
	let key = storage_key(&account, &[sp_keyring::Sr25519Keyring::Alice.to_account_id().as_ref()]);
	let (mut proven, mut believed, mut finality_bytes, mut read_bytes) =
		(Vec::new(), Vec::new(), Vec::new(), Vec::new());
	for number in last.saturating_sub(count) + 1..=last {
		let fresh = Chain::connect(&url).await.expect("connects");
		fresh.proven_latest().await.expect("pinned on first use");
		let started = Instant::now();
		let block = fresh.proven_final(number).await.expect("proven").expect("final");
		let value = fresh.proven_read(&block, &[key.clone()]).await.expect("proven");
		proven.push(started.elapsed().as_secs_f64() * 1000.0);
		assert!(value[0].is_some(), "Alice has an account");

		let started = Instant::now();
		let hash: H256 = node
			.rpc
			.request("chain_getBlockHash", jsonrpsee::rpc_params![number])
			.await
			.expect("hash");
		let _: Option<Bytes> = node
			.rpc
			.request("state_getStorage", jsonrpsee::rpc_params![Bytes(key.clone()), hash])
			.await
			.expect("read");
		believed.push(started.elapsed().as_secs_f64() * 1000.0);

		let proof: Bytes = node
			.rpc
			.request("quarks_finalityProof", jsonrpsee::rpc_params![number])
			.await
			.expect("proof");
		finality_bytes.push(proof.len() as f64);
		let read: serde_json::Value = node
			.rpc
			.request("state_getReadProof", jsonrpsee::rpc_params![vec![Bytes(key.clone())], hash])
			.await
			.expect("read proof");
		let nodes = read["proof"].as_array().expect("nodes");
		read_bytes
			.push(nodes.iter().map(|n| n.as_str().map_or(0, |h| h.len() / 2 - 1)).sum::<usize>()
				as f64);
	}
	let in_ms = |name: &str, mut samples: Vec<f64>| {
		samples.sort_by(|a, b| a.total_cmp(b));
		println!(
			"{name}: n={} p50={:.2}ms p99={:.2}ms",
			samples.len(),
			percentile(&samples, 50.0),
			percentile(&samples, 99.0)
		);
	};
	in_ms("a block proven final and one read proven there (fresh connection)", proven);
	in_ms("the same read believed", believed);
	let in_bytes = |name: &str, mut samples: Vec<f64>| {
		samples.sort_by(|a, b| a.total_cmp(b));
		let p50 = percentile(&samples, 50.0);
		let max = samples[samples.len() - 1];
		println!("{name}: p50={p50:.0} B max={max:.0} B");
	};
	in_bytes("finality proof", finality_bytes);
	in_bytes("read proof", read_bytes);
}
