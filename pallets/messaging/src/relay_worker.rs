//! The relay worker: this pallet's offchain worker carries every envelope a client handed
//! to this node to every host its recipients chose, until each host keeps it as anchored
//! or refused it for good. It is the path that guarantees delivery; the node's direct
//! push is the fast one, and the worker only completes what the push left undone.
//!
//! It works the relay queue the node keeps in offchain storage
//! ([`quarks_primitives::relay_queue`]). Each run (one at a time, under a storage lock)
//! takes the hashes due at this block and new ones from the node's inbox, within a budget
//! of hashes and bytes; waits for each envelope's anchor; and posts to each host, in one
//! batched request per host (split at [`MAX_HOST_REQUEST_BYTES`]), every envelope still
//! owed to it: only the batch membership where the host took the direct push, the whole
//! envelope otherwise. Answers are per item ([`HostAnswer`]); a host's final refusal ends
//! delivery to it, other failures back off 1, 2, 4 … 64 blocks for at most
//! [`MAX_ATTEMPTS`] attempts. Every request has a deadline and every answer a size cap.

use crate::{Anchors, Config, Pallet, LOG_TARGET};
use alloc::{
	collections::{BTreeMap, BTreeSet},
	format,
	string::String,
	vec::Vec,
};
use codec::{Decode, Encode};
use frame_support::traits::Get;
use frame_system::pallet_prelude::BlockNumberFor;
use quarks_primitives::{
	envelope::Envelope,
	hosting::{
		http_url, HostAnswer, HostInspect, HostItem, SignedMembership, Submission, MAX_HOST_ITEMS,
		MAX_HOST_REQUEST_BYTES,
	},
	relay_queue::{
		keys, Delivery, DeliveryState, EndpointCheck, InboxHead, QueueEntry, RelayItem, RelayStats,
		ANCHOR_WAIT,
	},
};
use sp_core::H256;
use sp_runtime::{
	offchain::{
		http,
		storage::StorageValueRef,
		storage_lock::{StorageLock, Time},
		Duration, Timestamp,
	},
	traits::{SaturatedConversion, Saturating},
};

/// Most hashes one run looks at.
const MAX_HASHES_PER_RUN: usize = 4096;
/// Most envelope bytes one run loads, so the worker's memory stays bounded whatever
/// clients submit.
const MAX_BYTES_PER_RUN: usize = 16 << 20;
/// Most due lists one run reads (after downtime, the rest wait for the next runs).
const MAX_DUE_LISTS_PER_RUN: u32 = 1024;
/// Requests in flight at once.
const MAX_IN_FLIGHT: usize = 16;
/// How long one round of requests waits for answers.
const REQUEST_TIMEOUT_MS: u64 = 4_000;
/// No new round of requests starts after this long; later runs take the rest.
const RUN_BUDGET_MS: u64 = 8_000;
/// The lock outlives a run (budget plus one round), so a crashed run blocks relaying for
/// seconds only.
const LOCK_MS: u64 = 14_000;
/// The longest answer read: a host answers a few bytes per item.
const MAX_ANSWER_BYTES: usize = 256 << 10;
/// Attempts per host before the worker gives up on it.
pub const MAX_ATTEMPTS: u32 = 12;
/// Longest wait between two attempts to one host, in blocks.
const MAX_BACKOFF: u32 = 64;

type DeliveryOf<T> = Delivery<<T as frame_system::Config>::AccountId, BlockNumberFor<T>>;

fn get<V: Decode>(key: &[u8]) -> Option<V> {
	StorageValueRef::persistent(key).get::<V>().ok().flatten()
}

fn set<V: Encode>(key: &[u8], value: &V) {
	StorageValueRef::persistent(key).set(value);
}

fn clear(key: &[u8]) {
	StorageValueRef::persistent(key).clear();
}

/// An envelope this run works on.
struct Work<T: Config> {
	hash: H256,
	accepted_at: u32,
	submission: Submission,
	/// As its sender signed it (or alone).
	membership: SignedMembership,
	deliveries: Vec<DeliveryOf<T>>,
	/// Hosts that took the direct push: they get the membership only, unless they lost it.
	pushed: Vec<T::AccountId>,
}

/// One item posted to one host, and where its answer goes.
struct Posted {
	work: usize,
	delivery: usize,
}

/// One worker run at block `now`.
pub(crate) fn run<T: Config>(now: BlockNumberFor<T>) {
	let mut lock = StorageLock::<Time>::with_deadline(keys::LOCK, Duration::from_millis(LOCK_MS));
	let Ok(_guard) = lock.try_lock() else {
		log::debug!(target: LOG_TARGET, "another worker is relaying");
		return;
	};
	let block: u32 = now.saturated_into();
	let mut queue = Queue::read(block);
	if queue.entries.is_empty() {
		return queue.commit();
	}
	let mut stats: RelayStats<T::AccountId> = get(keys::STATS).unwrap_or_default();

	let mut works: Vec<Work<T>> = Vec::new();
	let mut bytes = 0usize;
	for entry in core::mem::take(&mut queue.entries) {
		let hash = entry.envelope;
		let Some(item) = get::<RelayItem<BlockNumberFor<T>>>(&keys::item(&hash)) else {
			continue;
		};
		bytes = bytes.saturating_add(item.submission.envelope.len());
		if bytes > MAX_BYTES_PER_RUN {
			queue.schedule(entry, block.saturating_add(1));
			continue;
		}
		let waited = block.saturating_sub(entry.accepted_at);
		match resolve::<T>(hash, item, now) {
			Ok(Some(work)) => works.push(Work { accepted_at: entry.accepted_at, ..work }),
			// Every block at first, less often as the wait grows.
			Ok(None) => {
				queue.schedule(entry, block.saturating_add((waited / 8).clamp(1, MAX_BACKOFF)))
			}
			Err(reason) => {
				log::info!(target: LOG_TARGET, "dropping envelope {hash:?}: {reason}");
				stats.dropped = stats.dropped.saturating_add(1);
				forget(&hash);
			}
		}
	}

	post_all::<T>(&mut works, now, &mut stats);

	for work in works {
		let open = work.deliveries.iter().filter_map(|d| match d.state {
			DeliveryState::Pending { next_attempt, .. } => Some(next_attempt),
			_ => None,
		});
		match open.min() {
			Some(next) => {
				set(&keys::deliveries(&work.hash), &work.deliveries);
				let entry = QueueEntry { envelope: work.hash, accepted_at: work.accepted_at };
				queue.schedule(entry, next.saturated_into());
			}
			None => {
				let failed = work
					.deliveries
					.iter()
					.filter(|d| matches!(d.state, DeliveryState::Failed(_)))
					.count();
				log::info!(
					target: LOG_TARGET,
					"envelope {:?} done: {} host(s) confirmed, {failed} refused",
					work.hash,
					work.deliveries.len().saturating_sub(failed),
				);
				forget(&work.hash);
			}
		}
	}
	set(keys::STATS, &stats);
	queue.commit();
}

/// Clears every key of a finished envelope.
fn forget(hash: &H256) {
	for key in
		[keys::item(hash), keys::membership(hash), keys::pushed(hash), keys::deliveries(hash)]
	{
		clear(&key);
	}
}

/// Checks the envelope against its anchor and lists its hosts. `Ok(None)`: no anchor
/// yet; an error says why the envelope is dropped.
fn resolve<T: Config>(
	hash: H256,
	item: RelayItem<BlockNumberFor<T>>,
	now: BlockNumberFor<T>,
) -> Result<Option<Work<T>>, &'static str> {
	let envelope = Envelope::<T::AccountId>::decode_checked(&item.submission.envelope)
		.map_err(|_| "not a well-formed envelope")?;
	let leaf = envelope.leaf(hash).value();
	let signed = get::<SignedMembership>(&keys::membership(&hash))
		.unwrap_or_else(|| SignedMembership::alone(&leaf));
	let membership = &signed.membership;
	let Some(anchor) = Anchors::<T>::get(&envelope.sender, membership.root) else {
		return if now.saturating_sub(item.accepted_at) > ANCHOR_WAIT.into() {
			Err("no anchor appeared")
		} else {
			Ok(None)
		};
	};
	if !anchor.covers(&membership.root, &leaf, &membership.proof) {
		return Err("not the anchored envelope");
	}
	if now >= anchor.anchored_at.saturating_add(T::Retention::get()) {
		return Err("the message expired");
	}
	let deliveries = match get::<Vec<DeliveryOf<T>>>(&keys::deliveries(&hash)) {
		Some(deliveries) => deliveries,
		None => {
			let mut hosts: Vec<T::AccountId> = Vec::new();
			for recipient in Pallet::<T>::recipients(&envelope.destination) {
				for host in T::Hosts::hosts_of(&recipient) {
					if !hosts.contains(&host) {
						hosts.push(host);
					}
				}
			}
			if hosts.is_empty() {
				return Err("no recipient chose a host");
			}
			hosts
				.into_iter()
				.map(|host| Delivery {
					host,
					state: DeliveryState::Pending { attempts: 0, next_attempt: now },
					lost: false,
				})
				.collect()
		}
	};
	let pushed = get(&keys::pushed(&hash)).unwrap_or_default();
	Ok(Some(Work {
		hash,
		accepted_at: 0,
		submission: item.submission,
		membership: signed,
		deliveries,
		pushed,
	}))
}

/// Posts every owed item to its host and records the answers in the deliveries.
fn post_all<T: Config>(
	works: &mut [Work<T>],
	now: BlockNumberFor<T>,
	stats: &mut RelayStats<T::AccountId>,
) {
	// Per host: the items it is owed, in requests that fit the host's limits.
	let mut per_host: BTreeMap<Vec<u8>, (T::AccountId, Vec<(Posted, HostItem)>)> = BTreeMap::new();
	for (w, work) in works.iter().enumerate() {
		for (d, delivery) in work.deliveries.iter().enumerate() {
			let DeliveryState::Pending { next_attempt, .. } = delivery.state else { continue };
			if next_attempt > now {
				continue;
			}
			let item = if work.pushed.contains(&delivery.host) && !delivery.lost {
				HostItem::Membership { envelope: work.hash, membership: work.membership.clone() }
			} else {
				HostItem::Envelope {
					submission: work.submission.clone(),
					membership: Some(work.membership.clone()),
				}
			};
			per_host
				.entry(delivery.host.encode())
				.or_insert_with(|| (delivery.host.clone(), Vec::new()))
				.1
				.push((Posted { work: w, delivery: d }, item));
		}
	}

	let mut requests: Vec<(String, Vec<Posted>, Vec<HostItem>)> = Vec::new();
	for (_, (host, items)) in per_host {
		let Some((endpoint, url)) = T::Hosts::host(&host)
			.and_then(|record| http_url(&record.endpoint).map(|url| (record.endpoint, url)))
		else {
			for (posted, _) in items {
				record::<T>(works, &posted, Answer::Final(0), now, stats);
			}
			continue;
		};
		let check = get::<EndpointCheck>(&keys::endpoint(&endpoint));
		let allowed =
			check.and_then(|check| check.allows(sp_io::offchain::timestamp().unix_millis()));
		if allowed != Some(true) {
			let answer = if allowed.is_some() {
				log::info!(target: LOG_TARGET, "host {host:?} at {url} may not be connected to, by its node's check");
				Answer::Retry
			} else {
				Answer::Unchecked
			};
			for (posted, _) in items {
				record::<T>(works, &posted, answer, now, stats);
			}
			continue;
		}
		let mut batch: (Vec<Posted>, Vec<HostItem>, usize) = (Vec::new(), Vec::new(), 0);
		for (posted, item) in items {
			let size = item.encoded_size();
			if !batch.1.is_empty()
				&& (batch.1.len() >= MAX_HOST_ITEMS
					|| batch.2.saturating_add(size) > MAX_HOST_REQUEST_BYTES)
			{
				let full = core::mem::take(&mut batch);
				requests.push((url.clone(), full.0, full.1));
			}
			batch.0.push(posted);
			batch.1.push(item);
			batch.2 = batch.2.saturating_add(size);
		}
		requests.push((url, batch.0, batch.1));
	}

	let run_deadline = sp_io::offchain::timestamp().add(Duration::from_millis(RUN_BUDGET_MS));
	let mut requests = requests.into_iter().peekable();
	while requests.peek().is_some() {
		let started = sp_io::offchain::timestamp();
		if started >= run_deadline {
			break; // The rest stays due: the next run takes it, unpenalised.
		}
		let deadline = started.add(Duration::from_millis(REQUEST_TIMEOUT_MS));
		let round: Vec<_> = requests.by_ref().take(MAX_IN_FLIGHT).collect();
		let mut pendings = Vec::new();
		let mut slots = Vec::new();
		for (url, posted, items) in round {
			match send(&url, &items, deadline) {
				Some(pending) => {
					pendings.push(pending);
					slots.push(posted);
				}
				None => {
					posted.iter().for_each(|p| record::<T>(works, p, Answer::Retry, now, stats))
				}
			}
		}
		for (posted, response) in
			slots.into_iter().zip(http::PendingRequest::try_wait_all(pendings, deadline))
		{
			let answers = match response {
				Ok(Ok(response)) => read_answers(response, deadline, posted.len()),
				_ => None,
			};
			match answers {
				Some(answers) => {
					for (p, answer) in posted.iter().zip(answers) {
						record::<T>(works, p, Answer::from(answer), now, stats);
					}
				}
				None => {
					posted.iter().for_each(|p| record::<T>(works, p, Answer::Retry, now, stats))
				}
			}
		}
	}
}

/// What became of one posted item.
#[derive(Clone, Copy)]
enum Answer {
	/// The host keeps it as anchored.
	Confirmed,
	/// Try again with the whole envelope at the next block.
	SendEnvelope,
	/// Try again later.
	Retry,
	/// The node has not checked the host's endpoint lately: try at the next block, without
	/// counting an attempt.
	Unchecked,
	/// Stop trying this host (the error code; 0 for no usable host record).
	Final(u16),
}

impl<BlockNumber> From<HostAnswer<BlockNumber>> for Answer {
	fn from(answer: HostAnswer<BlockNumber>) -> Self {
		match answer {
			HostAnswer::Stored { anchored_at: Some(_) } | HostAnswer::Delivered => {
				Answer::Confirmed
			}
			// The host has not imported the anchor yet.
			HostAnswer::Stored { anchored_at: None } => Answer::Retry,
			HostAnswer::Missing => Answer::SendEnvelope,
			HostAnswer::Refused { retry: true, .. } => Answer::Retry,
			HostAnswer::Refused { code, retry: false } => Answer::Final(code),
		}
	}
}

/// Applies `answer` to the delivery it concerns, and counts what ends.
fn record<T: Config>(
	works: &mut [Work<T>],
	posted: &Posted,
	answer: Answer,
	now: BlockNumberFor<T>,
	stats: &mut RelayStats<T::AccountId>,
) {
	let Some(work) = works.get_mut(posted.work) else { return };
	let Some(delivery) = work.deliveries.get_mut(posted.delivery) else { return };
	let DeliveryState::Pending { attempts, .. } = delivery.state else { return };
	let tried = attempts.saturating_add(1);
	delivery.state = match answer {
		Answer::Unchecked => {
			DeliveryState::Pending { attempts, next_attempt: now.saturating_add(1u32.into()) }
		}
		Answer::Confirmed => DeliveryState::Confirmed(now),
		Answer::Final(code) => DeliveryState::Failed(code),
		_ if tried >= MAX_ATTEMPTS => {
			log::info!(target: LOG_TARGET, "giving up on host {:?} for {:?}", delivery.host, work.hash);
			DeliveryState::Failed(0)
		}
		Answer::SendEnvelope => {
			delivery.lost = true;
			DeliveryState::Pending {
				attempts: tried,
				next_attempt: now.saturating_add(1u32.into()),
			}
		}
		Answer::Retry => {
			let backoff = 2u32.saturating_pow(attempts).min(MAX_BACKOFF);
			DeliveryState::Pending {
				attempts: tried,
				next_attempt: now.saturating_add(backoff.into()),
			}
		}
	};
	match delivery.state {
		DeliveryState::Confirmed(_) => RelayStats::count(&mut stats.confirmed, &delivery.host),
		DeliveryState::Failed(_) => RelayStats::count(&mut stats.failed, &delivery.host),
		DeliveryState::Pending { .. } => {}
	}
}

/// Starts posting `items` to a host's `quarks_hostEnvelopes` method.
fn send(url: &str, items: &[HostItem], deadline: Timestamp) -> Option<http::PendingRequest> {
	let body = format!(
		"{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"quarks_hostEnvelopes\",\"params\":[\"{}\"]}}",
		array_bytes::bytes2hex("0x", items.encode())
	);
	http::Request::post(url, alloc::vec![body.into_bytes()])
		.add_header("Content-Type", "application/json")
		.deadline(deadline)
		.send()
		.ok()
}

/// The host's answers, one per item, from a JSON-RPC response; `None` if the response is
/// an error, too long, or does not answer each item.
fn read_answers(
	response: http::Response,
	deadline: Timestamp,
	items: usize,
) -> Option<Vec<HostAnswer<u32>>> {
	if response.code != 200 {
		return None;
	}
	let mut body = response.body();
	body.deadline(deadline);
	let body: Vec<u8> = body.take(MAX_ANSWER_BYTES.saturating_add(1)).collect();
	if body.len() > MAX_ANSWER_BYTES {
		return None;
	}
	let marker = b"\"result\":\"0x";
	let start = body.windows(marker.len()).position(|w| w == marker)?.saturating_add(marker.len());
	let hex = body.get(start..)?;
	let end = hex.iter().position(|b| *b == b'"')?;
	let bytes = array_bytes::hex2bytes(core::str::from_utf8(hex.get(..end)?).ok()?).ok()?;
	let answers = Vec::<HostAnswer<u32>>::decode(&mut &bytes[..]).ok()?;
	(answers.len() == items).then_some(answers)
}

/// The worker's view of the queue for one run: the entries it took, and what it schedules.
/// Nothing it consumed is released before [`Queue::commit`] has written what it schedules,
/// so a run that dies midway repeats work rather than losing it.
struct Queue {
	block: u32,
	/// Entries to look at this run.
	entries: Vec<QueueEntry>,
	/// Due lists to write: block → entries.
	scheduled: BTreeMap<u32, Vec<QueueEntry>>,
	/// How far the inbox was read, and the segments read to the end.
	inbox_head: InboxHead,
	read_segments: Vec<u64>,
	/// The next due list to read, and the lists read whole.
	due_cursor: u32,
	read_due: Vec<u32>,
	/// A due list read in part: its rest is written back.
	due_rest: Option<(u32, Vec<QueueEntry>)>,
}

impl Queue {
	/// Takes the entries due at `block` (retries first, up to half the budget) and new ones
	/// from the inbox.
	fn read(block: u32) -> Self {
		let mut queue = Queue {
			block,
			entries: Vec::new(),
			scheduled: BTreeMap::new(),
			inbox_head: get(keys::INBOX_HEAD).unwrap_or_default(),
			read_segments: Vec::new(),
			due_cursor: get(keys::DUE_CURSOR).unwrap_or(block),
			read_due: Vec::new(),
			due_rest: None,
		};
		let mut seen = BTreeSet::new();
		let mut take = |entries: &mut Vec<QueueEntry>, entry: &QueueEntry| {
			if seen.insert(entry.envelope) {
				entries.push(*entry);
			}
		};

		let retry_budget = MAX_HASHES_PER_RUN / 2;
		let mut lists = 0;
		while queue.due_cursor <= block && lists < MAX_DUE_LISTS_PER_RUN {
			lists += 1;
			let list: Vec<QueueEntry> = get(&keys::due(queue.due_cursor)).unwrap_or_default();
			let room = retry_budget.saturating_sub(queue.entries.len());
			if list.len() > room {
				let (now, later) = list.split_at(room);
				now.iter().for_each(|e| take(&mut queue.entries, e));
				queue.due_rest = Some((queue.due_cursor, later.to_vec()));
				break;
			}
			list.iter().for_each(|e| take(&mut queue.entries, e));
			queue.read_due.push(queue.due_cursor);
			queue.due_cursor = queue.due_cursor.saturating_add(1);
		}

		let tail: u64 = get(keys::INBOX_TAIL).unwrap_or(0);
		while queue.entries.len() < MAX_HASHES_PER_RUN && queue.inbox_head.segment <= tail {
			let segment: Vec<QueueEntry> =
				get(&keys::inbox_segment(queue.inbox_head.segment)).unwrap_or_default();
			let unread = segment.get(queue.inbox_head.offset as usize..).unwrap_or_default();
			let room = MAX_HASHES_PER_RUN.saturating_sub(queue.entries.len());
			let taken = unread.len().min(room);
			unread[..taken].iter().for_each(|e| take(&mut queue.entries, e));
			queue.inbox_head.offset = queue.inbox_head.offset.saturating_add(taken as u32);
			// The node appends only to the tail segment; earlier ones read to the end go.
			if queue.inbox_head.segment < tail && queue.inbox_head.offset as usize >= segment.len()
			{
				queue.read_segments.push(queue.inbox_head.segment);
				queue.inbox_head =
					InboxHead { segment: queue.inbox_head.segment.saturating_add(1), offset: 0 };
			} else {
				break;
			}
		}
		queue
	}

	/// Look at `entry` again at `block` (never earlier than the next block).
	fn schedule(&mut self, entry: QueueEntry, block: u32) {
		let block = block.max(self.block.saturating_add(1));
		self.scheduled.entry(block).or_default().push(entry);
	}

	/// Writes what this run scheduled, then releases what it consumed.
	fn commit(self) {
		for (block, entries) in self.scheduled {
			let mut list: Vec<QueueEntry> = get(&keys::due(block)).unwrap_or_default();
			list.extend(entries);
			set(&keys::due(block), &list);
		}
		if let Some((block, rest)) = &self.due_rest {
			set(&keys::due(*block), rest);
		}
		set(keys::INBOX_HEAD, &self.inbox_head);
		set(keys::DUE_CURSOR, &self.due_cursor);
		for segment in self.read_segments {
			clear(&keys::inbox_segment(segment));
		}
		for block in self.read_due {
			clear(&keys::due(block));
		}
	}
}
