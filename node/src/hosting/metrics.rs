//! Quarks' own Prometheus metrics, served with Substrate's on `--prometheus-port`
//! (docs/operations.md, "Metrics").

use substrate_prometheus_endpoint::{
	exponential_buckets, register, Counter, CounterVec, Gauge, GaugeVec, Histogram, HistogramOpts,
	Opts, PrometheusError, Registry, U64,
};

/// Every Quarks metric of one node.
pub struct Metrics {
	/// Submissions accepted and refused, by result and error code.
	pub submissions: CounterVec<U64>,
	/// Envelopes in the relay queue: accepted, not yet delivered to every host.
	pub relay_queue_length: Gauge<U64>,
	/// Blocks since the oldest envelope in the relay queue was accepted.
	pub relay_oldest_age: Gauge<U64>,
	/// Envelopes hosts took, by host and path (`direct` push, or the `worker`).
	pub relayed: CounterVec<U64>,
	/// Envelopes hosts refused or never took, by host and path.
	pub relay_failed: CounterVec<U64>,
	/// Seconds from a submission's acceptance to a host's answer that it stored it.
	pub submission_to_stored: Histogram,
	/// Envelopes a host keeps, by state (`pending`, `anchored`, `final`).
	pub host_envelopes: GaugeVec<U64>,
	/// Their bytes, by state.
	pub host_bytes: GaugeVec<U64>,
	/// Items a host answered, by result (`stored`, `refused`) and error code.
	pub host_items: CounterVec<U64>,
	/// Open mailbox subscriptions.
	pub subscriptions: Gauge<U64>,
	/// Mailbox pages served.
	pub fetches: Counter<U64>,
	/// Recipients' copies deleted once every device of theirs that counts had them.
	pub deleted_delivered: Counter<U64>,
	/// Pending envelopes dropped because no anchor came in time.
	pub dropped_unanchored: Counter<U64>,
}

impl Metrics {
	/// Registers every metric in `registry`.
	pub fn register(registry: &Registry) -> Result<Self, PrometheusError> {
		let counter_vec = |name: &str, help: &str, labels: &[&str]| {
			register(CounterVec::new(Opts::new(name, help), labels)?, registry)
		};
		let gauge_vec = |name: &str, help: &str, labels: &[&str]| {
			register(GaugeVec::new(Opts::new(name, help), labels)?, registry)
		};
		Ok(Metrics {
			submissions: counter_vec(
				"quarks_submissions_total",
				"Envelopes clients submitted to this node, by result and error code",
				&["result", "code"],
			)?,
			relay_queue_length: register(
				Gauge::new("quarks_relay_queue_length", "Envelopes in the relay queue")?,
				registry,
			)?,
			relay_oldest_age: register(
				Gauge::new(
					"quarks_relay_oldest_age_blocks",
					"Blocks since the oldest envelope in the relay queue was accepted",
				)?,
				registry,
			)?,
			relayed: counter_vec(
				"quarks_relayed_envelopes_total",
				"Envelopes hosts took from this node, by host and path",
				&["host", "path"],
			)?,
			relay_failed: counter_vec(
				"quarks_relay_failed_envelopes_total",
				"Envelopes hosts refused or never took from this node, by host and path",
				&["host", "path"],
			)?,
			submission_to_stored: register(
				Histogram::with_opts(
					HistogramOpts::new(
						"quarks_submission_to_stored_seconds",
						"Seconds from accepting a submission to a host storing it (direct push)",
					)
					.buckets(exponential_buckets(0.0005, 2.0, 16)?),
				)?,
				registry,
			)?,
			host_envelopes: gauge_vec(
				"quarks_host_envelopes",
				"Envelopes this host keeps, by notarization state",
				&["state"],
			)?,
			host_bytes: gauge_vec(
				"quarks_host_bytes",
				"Bytes this host keeps, by notarization state",
				&["state"],
			)?,
			host_items: counter_vec(
				"quarks_host_items_total",
				"Envelopes and memberships this host answered, by result and error code",
				&["result", "code"],
			)?,
			subscriptions: register(
				Gauge::new("quarks_mailbox_subscriptions", "Open mailbox subscriptions")?,
				registry,
			)?,
			fetches: register(
				Counter::new("quarks_mailbox_fetches_total", "Mailbox pages served")?,
				registry,
			)?,
			deleted_delivered: register(
				Counter::new(
					"quarks_deleted_delivered_total",
					"Recipients' copies deleted once each of their devices that counts had them",
				)?,
				registry,
			)?,
			dropped_unanchored: register(
				Counter::new(
					"quarks_dropped_unanchored_total",
					"Pending envelopes dropped because no anchor came in time",
				)?,
				registry,
			)?,
		})
	}

	/// Counts a submission: accepted (`code` 0) or refused with `code`.
	pub fn submission(&self, code: u16) {
		let result = if code == 0 { "accepted" } else { "refused" };
		self.submissions.with_label_values(&[result, &code.to_string()]).inc();
	}

	/// Counts a host's answer to an item: stored (`code` 0) or refused with `code`.
	pub fn host_item(&self, code: u16) {
		let result = if code == 0 { "stored" } else { "refused" };
		self.host_items.with_label_values(&[result, &code.to_string()]).inc();
	}
}
