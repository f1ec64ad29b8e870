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

#[path = "../tests/common/mod.rs"]
mod common;

use common::*;
use quarks_client::chain::{Chain, Progress, Wait};
use std::{
	sync::{Arc, Mutex},
	time::{Duration, Instant},
};

fn percentile(sorted: &[f64], p: f64) -> f64 {
	let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
	sorted[rank.min(sorted.len()) - 1]
}

fn describe(name: &str, mut samples: Vec<f64>) {
	samples.sort_by(|a, b| a.total_cmp(b));
	println!(
		"{name}: n={} p50={:.2}s p99={:.2}s min={:.2}s max={:.2}s",
		samples.len(),
		percentile(&samples, 50.0),
		percentile(&samples, 99.0),
		samples[0],
		samples[samples.len() - 1]
	);
}

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
}
