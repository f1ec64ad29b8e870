//! Figures for docs/performance.md: end-to-end latency of the chat client on a real local
//! network (three validators, Dave's and Ferdie's hosts), from the moment Alice's client
//! starts sending until Bob's client has the message decrypted and verified against a
//! finalized anchor, at a steady rate of one message per block. Nothing is asserted; run
//!
//!     cargo bench --profile dev -p quarks-node --bench chat

#[path = "../tests/common/mod.rs"]
mod common;

use common::*;
use quarks_client::chain::Wait;
use sp_core::H256;
use std::{
	collections::HashMap,
	sync::{Arc, Mutex},
	time::{Duration, Instant},
};

const MESSAGES: usize = 60;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
	let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
	sorted[rank.clamp(1, sorted.len()) - 1]
}

#[tokio::main]
async fn main() {
	let dir = tempfile::tempdir().expect("temp dir");
	let (validators, _dave, _ferdie) = start_local_network(dir.path()).await;

	let alice = client_session(dir.path(), &validators[0], "Alice").await;
	let mut bob = client_session(dir.path(), &validators[1], "Bob").await;
	let bob_id = bob.account().clone();

	// Bob follows his hosts' push subscriptions, as `quarks watch` does.
	let mut rx = bob.follow().await.expect("mailboxes");
	let decrypted: Arc<Mutex<HashMap<H256, Instant>>> = Arc::default();
	let reader = {
		let decrypted = decrypted.clone();
		tokio::spawn(async move {
			let mut pending = Vec::new();
			loop {
				tokio::select! {
					Some(entry) = rx.recv() => pending.push(entry),
					_ = tokio::time::sleep(Duration::from_millis(100)) => {},
				}
				let mut waiting = Vec::new();
				for entry in std::mem::take(&mut pending) {
					if decrypted.lock().expect("lock").contains_key(&entry.hash) {
						continue;
					}
					match bob.read(&entry.envelope).await {
						Ok(received) => {
							decrypted.lock().expect("lock").insert(received.hash, Instant::now());
						}
						Err(e) if e.may_resolve() => waiting.push(entry),
						Err(e) => panic!("rejected: {e}"),
					}
				}
				pending = waiting;
				if decrypted.lock().expect("lock").len() >= MESSAGES {
					return;
				}
			}
		})
	};

	let mut started = HashMap::new();
	let run = Instant::now();
	for i in 0..MESSAGES {
		let start = Instant::now();
		let text = format!("message {i}: {}", "x".repeat(200));
		let sent =
			alice.send_direct(&bob_id, &text, Wait::InBlock, &mut |_| {}).await.expect("sent");
		started.insert(sent.hash, start);
	}
	let sending = run.elapsed();
	tokio::time::timeout(Duration::from_secs(300), reader)
		.await
		.expect("all read")
		.expect("reader");

	let decrypted = decrypted.lock().expect("lock");
	let mut latencies: Vec<Duration> =
		started.iter().map(|(hash, start)| decrypted[hash].duration_since(*start)).collect();
	latencies.sort();
	println!(
		"{MESSAGES} messages of 1 KiB, Alice → Bob, one per block ({:.1} s of sending): \
		 send → decrypted and verified p50 {:.2} s, p99 {:.2} s, min {:.2} s, max {:.2} s",
		sending.as_secs_f64(),
		percentile(&latencies, 50.0).as_secs_f64(),
		percentile(&latencies, 99.0).as_secs_f64(),
		latencies[0].as_secs_f64(),
		latencies[latencies.len() - 1].as_secs_f64(),
	);
}
