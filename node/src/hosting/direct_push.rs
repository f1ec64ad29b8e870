//! The direct push: a submission goes from this node to every host of every recipient at
//! once, without waiting for a block, so a message reaches its recipients in milliseconds.
//!
//! Each host has a lane: a bounded queue and a task that sends whatever is waiting in one
//! `quarks_hostEnvelopes` request (so pushes batch themselves under load and go alone
//! when the network is quiet), with a deadline per request. A host that took an envelope
//! is recorded in the relay queue, so the relay worker later sends it the membership only.
//! The push is best effort: a full lane, a slow or refusing host is left to the worker,
//! which guarantees delivery.

use super::{metrics::Metrics, relay_queue::RelayQueue};
use codec::{Decode, Encode};
use jsonrpsee::{
	core::client::ClientT,
	http_client::{HttpClient, HttpClientBuilder},
	rpc_params,
};
use parking_lot::Mutex;
use quarks_primitives::hosting::{
	http_url, HostAnswer, HostInfo, HostItem, MAX_HOST_ITEMS, MAX_HOST_REQUEST_BYTES,
};
use quarks_runtime::{AccountId, BlockNumber};
use sc_service::SpawnTaskHandle;
use sp_core::{offchain::OffchainStorage, Bytes, H256};
use std::{
	collections::HashMap,
	sync::Arc,
	time::{Duration, Instant},
};
use tokio::sync::mpsc;

/// How long a host has to answer one request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
/// Bytes in one push request: small enough that a loaded host answers well within the
/// deadline (4 MiB batches of 16 KiB envelopes timed out on 2 busy cores, and what times
/// out waits for the relay worker).
const PUSH_BATCH_BYTES: usize = 1 << 20;
/// Pushes waiting per host; beyond it the worker takes over.
const LANE_DEPTH: usize = 16_384;

/// One envelope (or membership) on its way to a host.
struct Push {
	hash: H256,
	item: HostItem,
	accepted: Instant,
}

/// The direct push of one node.
pub struct DirectPush<S> {
	queue: Arc<RelayQueue<S>>,
	metrics: Option<Arc<Metrics>>,
	spawner: SpawnTaskHandle,
	lanes: Mutex<HashMap<(AccountId, Vec<u8>), mpsc::Sender<Push>>>,
}

impl<S: OffchainStorage + 'static> DirectPush<S> {
	/// Pushes through lanes spawned on `spawner`, recording in `queue`.
	pub fn new(
		queue: Arc<RelayQueue<S>>,
		metrics: Option<Arc<Metrics>>,
		spawner: SpawnTaskHandle,
	) -> Self {
		DirectPush { queue, metrics, spawner, lanes: Mutex::default() }
	}

	/// Hands `item` (about envelope `hash`, accepted at `accepted`) to each of `hosts`.
	pub fn push(
		&self,
		hash: H256,
		item: &HostItem,
		hosts: &[(AccountId, HostInfo<BlockNumber>)],
		accepted: Instant,
	) {
		for (operator, info) in hosts {
			let Some(lane) = self.lane(operator, &info.endpoint) else { continue };
			let push = Push { hash, item: item.clone(), accepted };
			if lane.try_send(push).is_err() {
				log::debug!(target: "quarks-push", "lane to {operator} is full; the relay worker delivers {hash:?}");
			}
		}
	}

	/// The lane to `operator`'s host at `endpoint`, started on first use.
	fn lane(&self, operator: &AccountId, endpoint: &[u8]) -> Option<mpsc::Sender<Push>> {
		let key = (operator.clone(), endpoint.to_vec());
		let mut lanes = self.lanes.lock();
		if let Some(lane) = lanes.get(&key).filter(|lane| !lane.is_closed()) {
			return Some(lane.clone());
		}
		let url = http_url(endpoint)?;
		let client = HttpClientBuilder::default()
			.request_timeout(REQUEST_TIMEOUT)
			.max_request_size(2 * MAX_HOST_REQUEST_BYTES as u32 + 1024)
			.build(&url)
			.map_err(|e| log::warn!(target: "quarks-push", "host {operator} at {url}: {e}"))
			.ok()?;
		let (tx, rx) = mpsc::channel(LANE_DEPTH);
		let lane = Lane {
			host: operator.clone(),
			client,
			queue: self.queue.clone(),
			metrics: self.metrics.clone(),
		};
		self.spawner.spawn("quarks-push-lane", Some("quarks"), lane.run(rx));
		lanes.insert(key, tx.clone());
		Some(tx)
	}
}

/// The task that sends pushes to one host.
struct Lane<S> {
	host: AccountId,
	client: HttpClient,
	queue: Arc<RelayQueue<S>>,
	metrics: Option<Arc<Metrics>>,
}

impl<S: OffchainStorage> Lane<S> {
	async fn run(self, mut rx: mpsc::Receiver<Push>) {
		while let Some(first) = rx.recv().await {
			let mut bytes = first.item.encoded_size();
			let mut batch = vec![first];
			while batch.len() < MAX_HOST_ITEMS && bytes < PUSH_BATCH_BYTES {
				let Ok(next) = rx.try_recv() else { break };
				bytes = bytes.saturating_add(next.item.encoded_size());
				batch.push(next);
			}
			self.send(batch).await;
		}
	}

	async fn send(&self, batch: Vec<Push>) {
		let items: Vec<&HostItem> = batch.iter().map(|p| &p.item).collect();
		let answer: Result<Bytes, _> =
			self.client.request("quarks_hostEnvelopes", rpc_params![Bytes(items.encode())]).await;
		let answers = match answer
			.map(|bytes| Vec::<HostAnswer<BlockNumber>>::decode(&mut &bytes[..]))
		{
			Ok(Ok(answers)) if answers.len() == batch.len() => answers,
			outcome => {
				log::debug!(target: "quarks-push", "host {} did not take {} item(s): {outcome:?}", self.host, batch.len());
				self.count(false, batch.len() as u64);
				return;
			}
		};
		let host = self.host.to_string();
		for (push, answer) in batch.iter().zip(answers) {
			match answer {
				HostAnswer::Stored { .. } => {
					if matches!(push.item, HostItem::Envelope { .. }) {
						self.queue.record_pushed(&push.hash, &self.host);
						if let Some(metrics) = &self.metrics {
							metrics
								.submission_to_stored
								.observe(push.accepted.elapsed().as_secs_f64());
						}
					}
					self.count(true, 1);
				}
				// A membership for an envelope the host lacks: the worker sends it whole.
				HostAnswer::Missing => {}
				HostAnswer::Delivered => self.count(true, 1),
				HostAnswer::Refused { code, .. } => {
					log::debug!(target: "quarks-push", "host {host} refused {:?}: {code}", push.hash);
					self.count(false, 1);
				}
			}
		}
	}

	fn count(&self, stored: bool, n: u64) {
		if let Some(metrics) = &self.metrics {
			let metric = if stored { &metrics.relayed } else { &metrics.relay_failed };
			metric.with_label_values(&[&self.host.to_string(), "direct"]).inc_by(n);
		}
	}
}
