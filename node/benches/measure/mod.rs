//! What the benches share: percentiles and their description.

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
