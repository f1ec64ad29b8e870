//! The direct push: a submission goes from this node to every host of every recipient at
//! once, without waiting for a block, so a message reaches its recipients in milliseconds.
//!
//! Each host has a lane: a queue bounded in items and bytes and a task that sends whatever is waiting in one
//! `quarks_hostEnvelopes` request (so pushes batch themselves under load and go alone
//! when the network is quiet), with a deadline per request. A host that took an envelope
//! is recorded in the relay queue, so the relay worker later sends it the membership only.
//! The push is best effort: a full lane, a slow or refusing host is left to the worker,
//! which guarantees delivery. Nothing is pushed to an endpoint the node has not found
//! public ([`super::endpoints`]).

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
	sync::{
		atomic::{AtomicUsize, Ordering},
		Arc,
	},
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
/// Bytes waiting per host; beyond it the worker takes over. A host that stops answering
/// holds at most this much of the node's memory.
const LANE_BYTES: usize = 64 << 20;

/// One envelope (or membership) on its way to a host.
struct Push {
	hash: H256,
	item: HostItem,
	accepted: Instant,
	size: usize,
}

/// The sending side of one host's lane.
struct LaneHandle {
	endpoint: Vec<u8>,
	tx: mpsc::Sender<Push>,
	/// Bytes of pushes waiting in it.
	queued: Arc<AtomicUsize>,
}

/// The direct push of one node.
pub struct DirectPush<S> {
	queue: Arc<RelayQueue<S>>,
	metrics: Option<Arc<Metrics>>,
	spawner: SpawnTaskHandle,
	/// One lane per host operator, to its current endpoint.
	lanes: Mutex<HashMap<AccountId, LaneHandle>>,
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
		let size = item.encoded_size();
		for (operator, info) in hosts {
			let Some((lane, queued)) = self.lane(operator, &info.endpoint) else { continue };
			let full = queued.load(Ordering::Relaxed).saturating_add(size) > LANE_BYTES;
			let push = Push { hash, item: item.clone(), accepted, size };
			if full || lane.try_send(push).is_err() {
				log::debug!(target: "quarks-push", "lane to {operator} is full; the relay worker delivers {hash:?}");
				continue;
			}
			queued.fetch_add(size, Ordering::Relaxed);
		}
	}

	/// The lane to `operator`'s host at `endpoint`, started on first use. A lane to an
	/// endpoint the host no longer has is dropped: it ends once its queue is sent.
	fn lane(
		&self,
		operator: &AccountId,
		endpoint: &[u8],
	) -> Option<(mpsc::Sender<Push>, Arc<AtomicUsize>)> {
		let mut lanes = self.lanes.lock();
		if let Some(lane) =
			lanes.get(operator).filter(|lane| lane.endpoint == endpoint && !lane.tx.is_closed())
		{
			return Some((lane.tx.clone(), lane.queued.clone()));
		}
		let url = http_url(endpoint)?;
		let client = HttpClientBuilder::default()
			.request_timeout(REQUEST_TIMEOUT)
			.max_request_size(2 * MAX_HOST_REQUEST_BYTES as u32 + 1024)
			.build(&url)
			.map_err(|e| log::warn!(target: "quarks-push", "host {operator} at {url}: {e}"))
			.ok()?;
		let (tx, rx) = mpsc::channel(LANE_DEPTH);
		let queued = Arc::new(AtomicUsize::new(0));
		let lane = Lane {
			host: operator.clone(),
			endpoint: endpoint.to_vec(),
			client,
			queue: self.queue.clone(),
			metrics: self.metrics.clone(),
			queued: queued.clone(),
		};
		self.spawner.spawn("quarks-push-lane", Some("quarks"), lane.run(rx));
		let handle =
			LaneHandle { endpoint: endpoint.to_vec(), tx: tx.clone(), queued: queued.clone() };
		lanes.insert(operator.clone(), handle);
		Some((tx, queued))
	}
}

/// The task that sends pushes to one host.
struct Lane<S> {
	host: AccountId,
	endpoint: Vec<u8>,
	client: HttpClient,
	queue: Arc<RelayQueue<S>>,
	metrics: Option<Arc<Metrics>>,
	queued: Arc<AtomicUsize>,
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
			let sent: usize = batch.iter().map(|push| push.size).sum();
			self.send(batch).await;
			self.queued.fetch_sub(sent, Ordering::Relaxed);
		}
	}

	async fn send(&self, batch: Vec<Push>) {
		if !self.queue.may_connect(&self.endpoint) {
			log::debug!(target: "quarks-push", "host {} is at an endpoint not checked as public; the relay worker decides", self.host);
			self.count(false, batch.len() as u64);
			return;
		}
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

#[cfg(test)]
mod tests {
	use super::*;
	use crate::hosting::endpoints::unix_millis;
	use quarks_primitives::{hosting::Submission, relay_queue::EndpointCheck};
	use sp_core::offchain::storage::InMemOffchainStorage;
	use std::{io::Read, net::TcpListener, sync::mpsc as std_mpsc};

	/// A host that takes every connection, reads the request and never answers; reports
	/// when each request reached it (hyper sends one request per connection at a time).
	fn silent_host() -> (String, std_mpsc::Receiver<Instant>) {
		let listener = TcpListener::bind("127.0.0.1:0").expect("binds");
		let endpoint = format!("ws://{}", listener.local_addr().expect("bound"));
		let (arrived, arrivals) = std_mpsc::channel();
		std::thread::spawn(move || {
			for mut connection in listener.incoming().flatten() {
				let arrived = arrived.clone();
				std::thread::spawn(move || {
					let mut buffer = [0; 4096];
					if connection.read(&mut buffer).map_or(false, |n| n > 0) {
						let _ = arrived.send(Instant::now());
					}
					while connection.read(&mut buffer).map_or(false, |n| n > 0) {}
				});
			}
		});
		(endpoint, arrivals)
	}

	fn push_one(push: &DirectPush<InMemOffchainStorage>, endpoint: &str, seed: u8) {
		let submission = Submission { envelope: vec![seed; 64], signature: [seed; 64] };
		let item = HostItem::Envelope { submission, membership: None };
		let info =
			HostInfo { endpoint: endpoint.into(), retention: 100, capacity: 1, user_quota: 1 };
		let host = AccountId::from([1; 32]);
		push.push(H256::repeat_byte(seed), &item, &[(host, info)], Instant::now());
	}

	/// A host that never answers holds its lane for the 2 s deadline of each request, no
	/// longer: the push queued behind the first goes out when the first is cut.
	#[tokio::test(flavor = "multi_thread")]
	async fn a_silent_host_holds_its_lane_for_the_request_deadline_only() {
		let (endpoint, arrivals) = silent_host();
		let dir = tempfile::tempdir().expect("temp dir");
		let queue =
			RelayQueue::open(InMemOffchainStorage::default(), dir.path(), 1).expect("opens");
		let check = EndpointCheck { allowed: true, checked_at: unix_millis() };
		queue.record_endpoint_check(endpoint.as_bytes(), check);
		let tasks =
			sc_service::TaskManager::new(tokio::runtime::Handle::current(), None).expect("tasks");
		let push = DirectPush::new(Arc::new(queue), None, tasks.spawn_handle());

		push_one(&push, &endpoint, 1);
		let wait = || arrivals.recv_timeout(Duration::from_secs(10)).expect("a request came");
		let first = tokio::task::block_in_place(wait);
		push_one(&push, &endpoint, 2);
		let second = tokio::task::block_in_place(wait);
		let held = second.duration_since(first);
		assert!(
			held >= Duration::from_millis(1_500) && held < Duration::from_millis(3_500),
			"the lane was held {held:?}, not the 2 s deadline"
		);
	}
}
