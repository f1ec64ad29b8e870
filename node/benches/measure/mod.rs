//! What the benches share: percentiles, and Bob's client reading live.

use quarks_client::{
	inbox::{ReadOptions, Update},
	messenger::Messenger,
};
use sp_core::H256;
use std::{
	collections::HashMap,
	sync::{Arc, Mutex},
	time::{Duration, Instant},
};

/// The `p`th percentile of `sorted`, nearest rank.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
	let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
	sorted[rank.min(sorted.len()) - 1]
}

/// Prints `samples` (seconds) as n, p50, p99, min and max in milliseconds.
pub fn describe(name: &str, mut samples: Vec<f64>) {
	if samples.is_empty() {
		println!("{name}: no samples");
		return;
	}
	samples.sort_by(|a, b| a.total_cmp(b));
	let ms = |s: f64| s * 1000.0;
	println!(
		"{name}: n={} p50={:.1} ms p99={:.1} ms min={:.1} ms max={:.1} ms",
		samples.len(),
		ms(percentile(&samples, 50.0)),
		ms(percentile(&samples, 99.0)),
		ms(samples[0]),
		ms(samples[samples.len() - 1])
	);
}

/// Bob's client reading live, sending receipts for what is final if it is to
/// `acknowledge`; records when each message is shown (opened, checked).
pub fn read_as(
	bob: Messenger,
	for_: Duration,
	acknowledge: bool,
) -> Arc<Mutex<HashMap<H256, Instant>>> {
	let shown: Arc<Mutex<HashMap<H256, Instant>>> = Arc::default();
	let record = shown.clone();
	tokio::spawn(async move {
		let options = ReadOptions {
			follow: true,
			count: None,
			timeout: Some(for_),
			acknowledge,
			sync_every: None,
			update_every: None,
		};
		let _ = bob
			.read_mail(options, &mut |update| {
				if let Update::Shown(r) = update {
					if r.letter().is_some() {
						record.lock().expect("shown").insert(r.hash, Instant::now());
					}
				}
			})
			.await;
	});
	shown
}
