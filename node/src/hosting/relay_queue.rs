//! The node's side of the relay queue ([`quarks_primitives::relay_queue`]): it keeps each
//! accepted submission in the node's persistent offchain storage and appends it to the
//! inbox the messaging pallet's relay worker reads (pallets/messaging/src/relay_worker.rs),
//! records batch memberships and the hosts that took the direct push, and reads the queue
//! back for `quarks_relayStatus` and the relay metrics.
//!
//! "Accepted" means durable: offchain storage lives in the chain's ParityDB, whose writes
//! return before they reach its log, so each submission is first written to a journal
//! committed with an fsync. On start, every journaled submission missing from the queue is
//! queued again (a host answers a re-sent envelope it holds or that was delivered without
//! storing it twice). Journal records are dropped after [`ANCHOR_WAIT`] blocks, by when
//! ParityDB has long synced the offchain writes (its log is fsynced as it is written).

use super::{endpoints::unix_millis, host_store::StoreError, metrics::Metrics};
use codec::{Decode, Encode};
use parking_lot::Mutex;
use quarks_primitives::{
	hosting::{SignedMembership, Submission},
	relay_queue::{
		keys, Delivery, DeliveryState, EndpointCheck, InboxHead, QueueEntry, RelayItem, RelayStats,
		ANCHOR_WAIT, INBOX_SEGMENT,
	},
};
use quarks_runtime::{AccountId, BlockNumber};
use redb::{ReadableDatabase, ReadableTable};
use sp_core::{offchain::OffchainStorage, H256};
use sp_runtime::traits::Header as _;
use std::{
	collections::{BTreeMap, HashSet},
	path::Path,
	sync::Arc,
};

/// Journal records by (acceptance block, envelope hash): the encoded submission.
const JOURNAL: redb::TableDefinition<'static, (BlockNumber, [u8; 32]), &'static [u8]> =
	redb::TableDefinition::new("accepted");
/// Journaled batch memberships by envelope hash.
const JOURNALED_MEMBERSHIPS: redb::TableDefinition<'static, [u8; 32], &'static [u8]> =
	redb::TableDefinition::new("memberships");

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

/// A record the journal makes durable.
enum JournalWrite {
	/// A submission accepted at best block `best`.
	Accepted { best: BlockNumber, hash: [u8; 32], submission: Vec<u8> },
	/// An envelope's batch membership.
	Membership { hash: [u8; 32], membership: Vec<u8> },
}

/// Records to commit, and where to answer once they are durable.
type JournalRequest = (Vec<JournalWrite>, std::sync::mpsc::SyncSender<Result<(), StoreError>>);

/// Commits whatever requests are waiting in one transaction (one fsync for all the
/// submissions that arrived meanwhile), then answers each; drops records older than
/// [`ANCHOR_WAIT`].
fn write_journal(db: redb::Database, requests: std::sync::mpsc::Receiver<JournalRequest>) {
	while let Ok(first) = requests.recv() {
		let mut group = vec![first];
		group.extend(requests.try_iter());
		let result = commit_journal(&db, group.iter().flat_map(|(writes, _)| writes));
		for (_, reply) in group {
			let _ = reply.send(result.clone());
		}
	}
}

fn commit_journal<'a>(
	db: &redb::Database,
	writes: impl Iterator<Item = &'a JournalWrite>,
) -> Result<(), StoreError> {
	let tx = db.begin_write().map_err(StoreError::database)?;
	{
		let mut accepted = tx.open_table(JOURNAL).map_err(StoreError::database)?;
		let mut memberships = tx.open_table(JOURNALED_MEMBERSHIPS).map_err(StoreError::database)?;
		let mut best = 0;
		for write in writes {
			match write {
				JournalWrite::Accepted { best: at, hash, submission } => {
					best = best.max(*at);
					accepted.insert((*at, *hash), &submission[..]).map_err(StoreError::database)?;
				}
				JournalWrite::Membership { hash, membership } => {
					memberships.insert(*hash, &membership[..]).map_err(StoreError::database)?;
				}
			}
		}
		let stale: Vec<(BlockNumber, [u8; 32])> = accepted
			.range(..(best.saturating_sub(ANCHOR_WAIT), [0; 32]))
			.map_err(StoreError::database)?
			.map(|record| record.map(|(key, _)| key.value()))
			.collect::<Result<_, _>>()
			.map_err(StoreError::database)?;
		for key in stale {
			accepted.remove(key).map_err(StoreError::database)?;
			memberships.remove(key.1).map_err(StoreError::database)?;
		}
	}
	tx.commit().map_err(StoreError::database)
}

/// The relay queue in a node's offchain storage, with its journal's writer.
pub struct RelayQueue<S> {
	storage: Mutex<S>,
	journal_writer: std::sync::mpsc::Sender<JournalRequest>,
}

impl<S: OffchainStorage> RelayQueue<S> {
	/// The queue kept in `storage`, journaled in the directory `journal`; queues again what
	/// the journal holds and the queue lost.
	pub fn open(storage: S, journal: &Path, best: BlockNumber) -> Result<Self, StoreError> {
		std::fs::create_dir_all(journal).map_err(StoreError::database)?;
		let journal =
			redb::Database::create(journal.join("accepted.redb")).map_err(StoreError::database)?;
		let tx = journal.begin_write().map_err(StoreError::database)?;
		tx.open_table(JOURNAL).map_err(StoreError::database)?;
		tx.open_table(JOURNALED_MEMBERSHIPS).map_err(StoreError::database)?;
		tx.commit().map_err(StoreError::database)?;
		let (requests, writer) = std::sync::mpsc::channel();
		let queue = RelayQueue { storage: Mutex::new(storage), journal_writer: requests };
		let queued: HashSet<H256> = Self::entries(&queue.storage.lock(), best)
			.into_iter()
			.map(|entry| entry.envelope)
			.collect();
		let mut requeued = 0;
		let tx = journal.begin_read().map_err(StoreError::database)?;
		let memberships = tx.open_table(JOURNALED_MEMBERSHIPS).map_err(StoreError::database)?;
		for record in tx
			.open_table(JOURNAL)
			.map_err(StoreError::database)?
			.iter()
			.map_err(StoreError::database)?
		{
			let (key, body) = record.map_err(StoreError::database)?;
			let (accepted_at, hash) = key.value();
			let hash = H256(hash);
			let requeue = !queued.contains(&hash);
			// The worker needs the membership of an envelope it will relay.
			if requeue || queue.contains(&hash) {
				if let Some(membership) = memberships.get(hash.0).map_err(StoreError::database)? {
					let mut storage = queue.storage.lock();
					let key = keys::membership(&hash);
					if storage.get(sp_offchain::STORAGE_PREFIX, &key).is_none() {
						storage.set(sp_offchain::STORAGE_PREFIX, &key, membership.value());
					}
				}
			}
			if requeue {
				let submission =
					Submission::decode(&mut body.value()).map_err(StoreError::database)?;
				queue.enqueue(hash, &submission, accepted_at);
				requeued += 1;
			}
		}
		if requeued > 0 {
			log::info!(target: "quarks-relay", "queued {requeued} journaled submission(s) again");
		}
		drop(tx);
		std::thread::Builder::new()
			.name("quarks-journal".into())
			.spawn(move || write_journal(journal, writer))
			.map_err(StoreError::database)?;
		Ok(queue)
	}

	fn get<T: Decode>(storage: &S, key: &[u8]) -> Option<T> {
		storage
			.get(sp_offchain::STORAGE_PREFIX, key)
			.and_then(|bytes| T::decode(&mut &bytes[..]).ok())
	}

	fn set(storage: &mut S, key: &[u8], value: &impl Encode) {
		storage.set(sp_offchain::STORAGE_PREFIX, key, &value.encode());
	}

	/// Writes `writes` durably, with whatever other callers wait to write; blocks until
	/// then.
	fn journal(&self, writes: Vec<JournalWrite>) -> Result<(), StoreError> {
		let stopped = || StoreError::database("the relay journal's writer stopped");
		let (reply, answer) = std::sync::mpsc::sync_channel(1);
		self.journal_writer.send((writes, reply)).map_err(|_| stopped())?;
		answer.recv().map_err(|_| stopped())?
	}

	/// Journals `submission` durably, then queues it. Returns whether it is new: one
	/// queued already is neither journaled nor queued again, however often it comes. Blocks
	/// for the journal's commit: call it from a blocking context.
	pub fn accept(
		&self,
		hash: H256,
		submission: &Submission,
		best: BlockNumber,
	) -> Result<bool, StoreError> {
		Ok(self.accept_all(&[(hash, submission)], best)? == 1)
	}

	/// Journals every one of `submissions` not queued yet in one durable write, then queues
	/// them; returns how many were new. An envelope listed twice is taken once. Blocks for
	/// the journal's commit: call it from a blocking context.
	pub fn accept_all(
		&self,
		submissions: &[(H256, &Submission)],
		best: BlockNumber,
	) -> Result<usize, StoreError> {
		let mut listed = HashSet::new();
		let new: Vec<(H256, &Submission)> = submissions
			.iter()
			.filter(|(hash, _)| listed.insert(*hash) && !self.contains(hash))
			.copied()
			.collect();
		if new.is_empty() {
			return Ok(0);
		}
		let writes = new
			.iter()
			.map(|(hash, submission)| JournalWrite::Accepted {
				best,
				hash: hash.0,
				submission: submission.encode(),
			})
			.collect();
		self.journal(writes)?;
		Ok(new
			.into_iter()
			.filter(|(hash, submission)| self.enqueue(*hash, submission, best))
			.count())
	}

	/// Keeps `submission` for the relay worker — its item first, then its inbox entry — and
	/// returns whether it is new. Submitting an envelope again appends its entry again, so
	/// one whose entry a crash lost between the two writes is queued once more; the worker
	/// reads each envelope once however often it is listed.
	fn enqueue(&self, hash: H256, submission: &Submission, best: BlockNumber) -> bool {
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

	/// The queued submission of `hash`, if the queue holds it.
	pub fn item(&self, hash: &H256) -> Option<RelayItem<BlockNumber>> {
		Self::get(&self.storage.lock(), &keys::item(hash))
	}

	/// Records where each envelope is anchored, for the worker: journaled first, like the
	/// submission itself, since the worker cannot find an envelope in a batch without it.
	/// Blocks for the journal's commit.
	pub fn record_memberships(
		&self,
		memberships: &[(H256, SignedMembership)],
	) -> Result<(), StoreError> {
		if memberships.is_empty() {
			return Ok(());
		}
		self.journal(
			memberships
				.iter()
				.map(|(hash, membership)| JournalWrite::Membership {
					hash: hash.0,
					membership: membership.encode(),
				})
				.collect(),
		)?;
		let mut storage = self.storage.lock();
		for (hash, membership) in memberships {
			Self::set(&mut storage, &keys::membership(hash), membership);
		}
		Ok(())
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

	/// Records this node's `check` of a host's `endpoint`, for the direct push and the worker.
	pub fn record_endpoint_check(&self, endpoint: &[u8], check: EndpointCheck) {
		Self::set(&mut self.storage.lock(), &keys::endpoint(endpoint), &check);
	}

	/// Whether this node may connect to `endpoint` now, by its last check of it.
	pub fn may_connect(&self, endpoint: &[u8]) -> bool {
		let check: Option<EndpointCheck> =
			Self::get(&self.storage.lock(), &keys::endpoint(endpoint));
		check.and_then(|check| check.allows(unix_millis())) == Some(true)
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

#[cfg(test)]
mod tests {
	use super::*;
	use redb::ReadableTable;
	use sp_core::offchain::storage::InMemOffchainStorage;

	/// The journal's records, once the queue that wrote them is gone.
	fn journaled(dir: &Path) -> usize {
		for _ in 0..100 {
			// The writer thread lets the database go once the queue is dropped.
			if let Ok(db) = redb::Database::open(dir.join("accepted.redb")) {
				let tx = db.begin_read().expect("reads");
				let table = tx.open_table(JOURNAL).expect("table");
				return table.iter().expect("iterates").count();
			}
			std::thread::sleep(std::time::Duration::from_millis(20));
		}
		panic!("the journal stayed open");
	}

	#[test]
	fn an_envelope_accepted_again_is_neither_journaled_nor_queued_twice() {
		let dir = tempfile::tempdir().expect("temp dir");
		let queue =
			RelayQueue::open(InMemOffchainStorage::default(), dir.path(), 1).expect("opens");
		let submission = Submission { envelope: vec![1; 100], signature: [2; 64] };
		let hash = H256::repeat_byte(3);
		assert!(queue.accept(hash, &submission, 1).expect("journaled"));
		for best in 2..50 {
			assert!(!queue.accept(hash, &submission, best).expect("answered"));
		}
		assert_eq!(RelayQueue::entries(&*queue.storage.lock(), 50).len(), 1);
		drop(queue);
		assert_eq!(journaled(dir.path()), 1);
	}

	/// Issue 31: many submissions in one call are journaled together; one listed twice, or
	/// queued already, is taken once. Each survives a restart that lost the queue.
	#[test]
	fn many_submissions_are_accepted_in_one_write_each_once() {
		let dir = tempfile::tempdir().expect("temp dir");
		let queue =
			RelayQueue::open(InMemOffchainStorage::default(), dir.path(), 1).expect("opens");
		let submissions: Vec<(H256, Submission)> = (1..=5u8)
			.map(|i| {
				(H256::repeat_byte(i), Submission { envelope: vec![i; 100], signature: [i; 64] })
			})
			.collect();
		assert!(queue.accept(submissions[0].0, &submissions[0].1, 1).expect("journaled"));
		let mut listed: Vec<(H256, &Submission)> =
			submissions.iter().map(|(hash, submission)| (*hash, submission)).collect();
		listed.push(listed[1]);
		assert_eq!(queue.accept_all(&listed, 2).expect("journaled"), 4, "the first was queued");
		// The inbox as stored, not de-duplicated as the worker reads it: one entry each.
		let inbox: Vec<QueueEntry> = RelayQueue::<InMemOffchainStorage>::get(
			&*queue.storage.lock(),
			&keys::inbox_segment(0),
		)
		.expect("a segment");
		assert_eq!(inbox.len(), 5);
		drop(queue);
		assert_eq!(journaled(dir.path()), 5);
		let queue =
			RelayQueue::open(InMemOffchainStorage::default(), dir.path(), 2).expect("reopens");
		assert!(submissions.iter().all(|(hash, _)| queue.contains(hash)), "queued again");
	}
}
