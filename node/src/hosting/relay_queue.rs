//! The node's side of the relay queue ([`quarks_primitives::relay_queue`]): it keeps each
//! accepted submission in the node's persistent offchain storage and appends it to the
//! inbox the messaging pallet's relay worker reads (pallets/messaging/src/relay_worker.rs),
//! records batch memberships and the hosts that took the direct push, and reads the queue
//! back for `quarks_relayStatus` and the relay metrics.

use super::metrics::Metrics;
use codec::{Decode, Encode};
use parking_lot::Mutex;
use quarks_primitives::{
	hosting::{BatchMembership, Submission},
	relay_queue::{
		keys, Delivery, DeliveryState, InboxHead, QueueEntry, RelayItem, RelayStats, INBOX_SEGMENT,
	},
};
use quarks_runtime::{AccountId, BlockNumber};
use sp_core::{offchain::OffchainStorage, H256};
use sp_runtime::traits::Header as _;
use std::{
	collections::{BTreeMap, HashSet},
	sync::Arc,
};

/// Due lists ahead of the worker's cursor that may hold entries: the worker schedules at
/// most its longest backoff ahead.
const DUE_HORIZON: u32 = 128;

/// An envelope in the queue and how far its delivery got.
#[derive(serde::Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct QueuedEnvelope {
	/// The envelope hash.
	pub hash: H256,
	/// The node's best block when it accepted it.
	pub accepted_at: BlockNumber,
	/// Hosts that confirmed keeping it as anchored.
	pub confirmed: Vec<AccountId>,
	/// Hosts still to confirm, with failed attempts so far (none listed before its
	/// anchor is seen).
	pub unconfirmed: Vec<(AccountId, u32)>,
	/// Hosts that refused it for good, with the error code (0: stopped answering).
	pub failed: Vec<(AccountId, u16)>,
}

/// The relay queue in a node's offchain storage.
pub struct RelayQueue<S> {
	storage: Mutex<S>,
}

impl<S: OffchainStorage> RelayQueue<S> {
	/// The queue kept in `storage`.
	pub fn new(storage: S) -> Self {
		RelayQueue { storage: Mutex::new(storage) }
	}

	fn get<T: Decode>(storage: &S, key: &[u8]) -> Option<T> {
		storage
			.get(sp_offchain::STORAGE_PREFIX, key)
			.and_then(|bytes| T::decode(&mut &bytes[..]).ok())
	}

	fn set(storage: &mut S, key: &[u8], value: &impl Encode) {
		storage.set(sp_offchain::STORAGE_PREFIX, key, &value.encode());
	}

	/// Keeps `submission` for the relay worker — its item first, then its inbox entry — and
	/// returns whether it is new. Submitting an envelope again appends its entry again, so
	/// one whose entry a crash lost between the two writes is queued once more; the worker
	/// reads each envelope once however often it is listed.
	pub fn accept(&self, hash: H256, submission: &Submission, best: BlockNumber) -> bool {
		let mut storage = self.storage.lock();
		let key = keys::item(&hash);
		let new = storage.get(sp_offchain::STORAGE_PREFIX, &key).is_none();
		if new {
			Self::set(
				&mut storage,
				&key,
				&RelayItem { submission: submission.clone(), accepted_at: best },
			);
		}
		let tail: u64 = Self::get(&storage, keys::INBOX_TAIL).unwrap_or(0);
		let mut segment: Vec<QueueEntry> =
			Self::get(&storage, &keys::inbox_segment(tail)).unwrap_or_default();
		let entry = QueueEntry { envelope: hash, accepted_at: best };
		if segment.len() as u32 >= INBOX_SEGMENT {
			// The new segment is written before the tail moves to it.
			Self::set(&mut storage, &keys::inbox_segment(tail.saturating_add(1)), &vec![entry]);
			Self::set(&mut storage, keys::INBOX_TAIL, &tail.saturating_add(1));
		} else {
			segment.push(entry);
			Self::set(&mut storage, &keys::inbox_segment(tail), &segment);
		}
		new
	}

	/// Whether the queue holds `hash`.
	pub fn contains(&self, hash: &H256) -> bool {
		self.storage.lock().get(sp_offchain::STORAGE_PREFIX, &keys::item(hash)).is_some()
	}

	/// Records where `hash` is anchored, for the worker.
	pub fn record_membership(&self, hash: &H256, membership: &BatchMembership) {
		Self::set(&mut self.storage.lock(), &keys::membership(hash), membership);
	}

	/// Records that `host` took the direct push of `hash`: the worker then sends it the
	/// membership only.
	pub fn record_pushed(&self, hash: &H256, host: &AccountId) {
		let mut storage = self.storage.lock();
		if storage.get(sp_offchain::STORAGE_PREFIX, &keys::item(hash)).is_none() {
			return; // Finished meanwhile.
		}
		let key = keys::pushed(hash);
		let mut hosts: Vec<AccountId> = Self::get(&storage, &key).unwrap_or_default();
		if !hosts.contains(host) {
			hosts.push(host.clone());
			Self::set(&mut storage, &key, &hosts);
		}
	}

	/// The hosts that took the direct push of `hash`.
	pub fn pushed(&self, hash: &H256) -> Vec<AccountId> {
		Self::get(&self.storage.lock(), &keys::pushed(hash)).unwrap_or_default()
	}

	/// Every entry still queued, read from the unread inbox and the worker's due lists.
	fn entries(storage: &S, best: BlockNumber) -> Vec<QueueEntry> {
		let mut seen = HashSet::new();
		let mut out = Vec::new();
		let head: InboxHead = Self::get(storage, keys::INBOX_HEAD).unwrap_or_default();
		let tail: u64 = Self::get(storage, keys::INBOX_TAIL).unwrap_or(0);
		for segment in head.segment..=tail {
			let entries: Vec<QueueEntry> =
				Self::get(storage, &keys::inbox_segment(segment)).unwrap_or_default();
			let skip = if segment == head.segment { head.offset as usize } else { 0 };
			out.extend(entries.into_iter().skip(skip).filter(|e| seen.insert(e.envelope)));
		}
		let cursor: u32 = Self::get(storage, keys::DUE_CURSOR).unwrap_or(best);
		for block in cursor..=cursor.max(best).saturating_add(DUE_HORIZON) {
			let entries: Vec<QueueEntry> =
				Self::get(storage, &keys::due(block)).unwrap_or_default();
			out.extend(entries.into_iter().filter(|e| seen.insert(e.envelope)));
		}
		// An entry read by a worker run that finished it is gone from the items.
		out.retain(|e| {
			storage.get(sp_offchain::STORAGE_PREFIX, &keys::item(&e.envelope)).is_some()
		});
		out
	}

	/// The envelopes still being relayed, oldest first.
	pub fn status(&self, best: BlockNumber) -> Vec<QueuedEnvelope> {
		let storage = self.storage.lock();
		let mut entries = Self::entries(&storage, best);
		entries.sort_by_key(|e| e.accepted_at);
		entries
			.into_iter()
			.map(|entry| {
				let deliveries: Vec<Delivery<AccountId, BlockNumber>> =
					Self::get(&storage, &keys::deliveries(&entry.envelope)).unwrap_or_default();
				let mut queued = QueuedEnvelope {
					hash: entry.envelope,
					accepted_at: entry.accepted_at,
					confirmed: Vec::new(),
					unconfirmed: Vec::new(),
					failed: Vec::new(),
				};
				for delivery in deliveries {
					match delivery.state {
						DeliveryState::Confirmed(_) => queued.confirmed.push(delivery.host),
						DeliveryState::Pending { attempts, .. } => {
							queued.unconfirmed.push((delivery.host, attempts))
						}
						DeliveryState::Failed(code) => queued.failed.push((delivery.host, code)),
					}
				}
				queued
			})
			.collect()
	}

	/// The queue's length and oldest acceptance block, and the worker's counters.
	fn report(&self, best: BlockNumber) -> (usize, Option<BlockNumber>, RelayStats<AccountId>) {
		let storage = self.storage.lock();
		let entries = Self::entries(&storage, best);
		let oldest = entries.iter().map(|e| e.accepted_at).min();
		let stats = Self::get(&storage, keys::STATS).unwrap_or_default();
		(entries.len(), oldest, stats)
	}
}

/// Exports the relay queue's length and age and the worker's counters at every new best
/// block, for the node's life.
pub async fn report_metrics<S, C>(queue: Arc<RelayQueue<S>>, client: Arc<C>, metrics: Arc<Metrics>)
where
	S: OffchainStorage + 'static,
	C: sc_client_api::BlockchainEvents<quarks_runtime::opaque::Block>
		+ sp_blockchain::HeaderBackend<quarks_runtime::opaque::Block>,
{
	use futures::StreamExt;
	let mut exported: BTreeMap<(AccountId, bool), u64> = BTreeMap::new();
	let mut imports = client.import_notification_stream();
	while let Some(block) = imports.next().await {
		if !block.is_new_best {
			continue;
		}
		let best = *block.header.number();
		let (length, oldest, stats) = queue.report(best);
		metrics.relay_queue_length.set(length as u64);
		metrics.relay_oldest_age.set(oldest.map_or(0, |at| u64::from(best.saturating_sub(at))));
		// The worker's counters only grow; export what they grew by.
		for (confirmed, counts) in [(true, &stats.confirmed), (false, &stats.failed)] {
			for (host, count) in counts {
				let seen = exported.entry((host.clone(), confirmed)).or_default();
				let delta = count.saturating_sub(*seen);
				*seen = *count;
				let metric = if confirmed { &metrics.relayed } else { &metrics.relay_failed };
				metric.with_label_values(&[&host.to_string(), "worker"]).inc_by(delta);
			}
		}
	}
}
