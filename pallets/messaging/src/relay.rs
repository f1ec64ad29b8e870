//! The relay: this pallet's offchain worker carries envelopes that clients handed to this
//! node to every host their recipients chose, until each host confirms or the message
//! expires.
//!
//! The node's `quarks_submitEnvelope` RPC writes a [`RelayItem`] and appends a
//! [`QueueEntry`] in the node's persistent offchain storage, so a restart loses nothing.
//! On each block the worker (one at a time, under a storage lock) takes the entries that
//! are due: it waits for the envelope's anchor (dropping it after [`ANCHOR_WAIT`] blocks),
//! checks the envelope is the anchored one, resolves the hosts of every recipient, and
//! posts the envelope to each host that has not confirmed, in waves of parallel requests.
//! A host confirms by answering with the envelope hash; a failed attempt is retried with
//! exponential backoff.

use crate::{Anchors, Config, Pallet, LOG_TARGET};
use alloc::{format, string::String, vec::Vec};
use frame_support::traits::Get;
use frame_system::pallet_prelude::BlockNumberFor;
use quarks_primitives::{
	envelope::{hash_of, Envelope},
	hosting::{relay_keys, Delivery, HostInspect, QueueEntry, RelayItem, ANCHOR_WAIT},
};
use sp_core::H256;
use sp_runtime::{
	offchain::{
		http,
		storage::{StorageRetrievalError, StorageValueRef},
		storage_lock::{StorageLock, Time},
		Duration,
	},
	traits::Saturating,
};

/// Most envelopes one worker run looks at.
const MAX_ITEMS_PER_RUN: usize = 256;
/// Requests in flight at once, well under a host RPC server's default 100 connections.
const WAVE: usize = 32;
/// How long one wave waits for hosts to answer.
const REQUEST_TIMEOUT_MS: u64 = 2_000;
/// No new wave starts after this long; later runs take the rest.
const RUN_BUDGET_MS: u64 = 8_000;
/// Longest wait between two attempts to one host, in blocks.
const MAX_BACKOFF: u32 = 16;
/// The lock outlives a run (budget plus one wave), so a crashed run cannot block relaying
/// for long.
const LOCK_MS: u64 = 12_000;

type ItemOf<T> = RelayItem<<T as frame_system::Config>::AccountId, BlockNumberFor<T>>;
type EntryOf<T> = QueueEntry<BlockNumberFor<T>>;

/// What became of an envelope after a look at it.
enum Outcome<T: Config> {
	/// Keep it; look again at this block.
	Pending(BlockNumberFor<T>),
	/// Every host confirmed.
	Delivered,
	/// Drop it, for this reason.
	Dropped,
}

/// One worker run at block `now`.
pub(crate) fn run<T: Config>(now: BlockNumberFor<T>) {
	let mut lock =
		StorageLock::<Time>::with_deadline(relay_keys::LOCK, Duration::from_millis(LOCK_MS));
	let Ok(_guard) = lock.try_lock() else {
		log::debug!(target: LOG_TARGET, "another worker is relaying");
		return;
	};
	let queue: Vec<EntryOf<T>> =
		StorageValueRef::persistent(relay_keys::QUEUE).get().ok().flatten().unwrap_or_default();
	let due: Vec<H256> = queue
		.iter()
		.filter(|entry| entry.due <= now)
		.take(MAX_ITEMS_PER_RUN)
		.map(|entry| entry.envelope)
		.collect();
	if due.is_empty() {
		return;
	}

	let mut items = Vec::with_capacity(due.len());
	let mut attempts = Vec::new();
	for hash in due {
		let Ok(Some(mut item)) =
			StorageValueRef::persistent(&relay_keys::item(&hash)).get::<ItemOf<T>>()
		else {
			items.push((hash, None));
			continue;
		};
		if let Err(reason) = resolve::<T>(&hash, &mut item, now) {
			log::info!(target: LOG_TARGET, "dropping envelope {hash:?}: {reason}");
			items.push((hash, None));
			continue;
		}
		for (index, delivery) in item.deliveries.iter().enumerate() {
			if delivery.confirmed_at.is_none() && delivery.next_attempt <= now {
				attempts.push((items.len(), index));
			}
		}
		items.push((hash, Some(item)));
	}

	// Waves of requests, so no host sees more connections at once than its RPC server
	// takes; what does not fit in this run's budget waits for the next run, unpenalised.
	let run_deadline = sp_io::offchain::timestamp().add(Duration::from_millis(RUN_BUDGET_MS));
	for wave in attempts.chunks(WAVE) {
		let started_at = sp_io::offchain::timestamp();
		if started_at >= run_deadline {
			break;
		}
		let deadline = started_at.add(Duration::from_millis(REQUEST_TIMEOUT_MS));
		let mut slots = Vec::with_capacity(wave.len());
		let mut pendings = Vec::with_capacity(wave.len());
		for &(item_index, delivery_index) in wave {
			let Some((_, Some(item))) = items.get(item_index) else { continue };
			let Some(delivery) = item.deliveries.get(delivery_index) else { continue };
			match post::<T>(&delivery.host, &item.envelope, &item.batch, deadline) {
				Some(pending) => {
					slots.push((item_index, delivery_index));
					pendings.push(pending);
				}
				None => {
					log::debug!(target: LOG_TARGET, "host {:?} unreachable", delivery.host);
					record::<T>(&mut items, (item_index, delivery_index), false, now);
				}
			}
		}
		let answers = http::PendingRequest::try_wait_all(pendings, deadline);
		for (slot, answer) in slots.into_iter().zip(answers) {
			let confirmed = match (&answer, items.get(slot.0)) {
				(Ok(Ok(response)), Some((hash, _))) => confirms(response, hash),
				_ => false,
			};
			record::<T>(&mut items, slot, confirmed, now);
		}
	}

	let mut outcomes: Vec<(H256, Outcome<T>)> = Vec::with_capacity(items.len());
	for (hash, item) in items {
		let key = relay_keys::item(&hash);
		let mut stored = StorageValueRef::persistent(&key);
		let outcome = match item {
			None => Outcome::Dropped,
			Some(item)
				if item.deliveries.iter().all(|d| d.confirmed_at.is_some())
					&& !item.deliveries.is_empty() =>
			{
				Outcome::Delivered
			}
			Some(item) => {
				// An envelope still waiting for its anchor is unchanged: no need to rewrite it.
				if !item.deliveries.is_empty() {
					stored.set(&item);
				}
				Outcome::Pending(next_look::<T>(&item, now))
			}
		};
		if !matches!(outcome, Outcome::Pending(_)) {
			stored.clear();
		}
		if matches!(outcome, Outcome::Delivered) {
			log::info!(target: LOG_TARGET, "envelope {hash:?} stored by all its hosts");
		}
		outcomes.push((hash, outcome));
	}
	update_queue::<T>(&outcomes);
}

/// Checks the envelope against its anchor once it appears and lists its hosts; an error
/// says why the envelope should be dropped.
fn resolve<T: Config>(
	hash: &H256,
	item: &mut ItemOf<T>,
	now: BlockNumberFor<T>,
) -> Result<(), &'static str> {
	let anchor_key = item.batch.as_ref().map_or(*hash, |batch| batch.root);
	let Some(anchor) = Anchors::<T>::get(anchor_key) else {
		let waited = now.saturating_sub(item.queued_at);
		return if !item.deliveries.is_empty() {
			Err("anchor pruned: the message expired")
		} else if waited > ANCHOR_WAIT.into() {
			Err("no anchor appeared")
		} else {
			Ok(())
		};
	};
	if now >= anchor.anchored_at.saturating_add(T::Retention::get()) {
		return Err("the message expired");
	}
	if !item.deliveries.is_empty() {
		return Ok(());
	}
	let envelope = Envelope::<T::AccountId>::decode_checked(&item.envelope)
		.map_err(|_| "not a well-formed envelope")?;
	let proof = item.batch.as_ref().map(|batch| &batch.proof);
	if hash_of(&item.envelope) != *hash
		|| !anchor.covers(&anchor_key, hash, proof)
		|| !envelope.matches(&anchor)
	{
		return Err("not the anchored envelope");
	}
	let recipients = Pallet::<T>::recipients(&anchor.destination);
	let mut hosts: Vec<T::AccountId> = Vec::new();
	for recipient in &recipients {
		for host in T::Hosts::hosts_of(recipient) {
			if !hosts.contains(&host) {
				hosts.push(host);
			}
		}
	}
	if hosts.is_empty() {
		return Err("no recipient chose a host");
	}
	item.deliveries = hosts
		.into_iter()
		.map(|host| Delivery { host, confirmed_at: None, attempts: 0, next_attempt: now })
		.collect();
	Ok(())
}

/// Starts posting the envelope to `host`'s `quarks_hostEnvelope` method.
fn post<T: Config>(
	host: &T::AccountId,
	envelope: &[u8],
	batch: &Option<quarks_primitives::hosting::BatchMembership>,
	deadline: sp_runtime::offchain::Timestamp,
) -> Option<http::PendingRequest> {
	let record = T::Hosts::host(host)?;
	let url = http_url(&record.endpoint)?;
	let batch = match batch {
		Some(batch) => {
			format!("\"{}\"", array_bytes::bytes2hex("0x", codec::Encode::encode(batch)))
		}
		None => String::from("null"),
	};
	let body = format!(
		"{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"quarks_hostEnvelope\",\"params\":[\"{}\",{}]}}",
		array_bytes::bytes2hex("0x", envelope),
		batch
	);
	http::Request::post(&url, alloc::vec![body.into_bytes()])
		.add_header("Content-Type", "application/json")
		.deadline(deadline)
		.send()
		.ok()
}

/// The HTTP URL of a JSON-RPC endpoint (which serves WebSocket and HTTP on one port).
fn http_url(endpoint: &[u8]) -> Option<String> {
	let endpoint = core::str::from_utf8(endpoint).ok()?;
	if let Some(rest) = endpoint.strip_prefix("ws://") {
		Some(format!("http://{rest}"))
	} else if let Some(rest) = endpoint.strip_prefix("wss://") {
		Some(format!("https://{rest}"))
	} else if endpoint.starts_with("http://") || endpoint.starts_with("https://") {
		Some(String::from(endpoint))
	} else {
		None
	}
}

/// Whether a host's answer confirms it stored envelope `hash`.
fn confirms(response: &http::Response, hash: &H256) -> bool {
	if response.code != 200 {
		return false;
	}
	let body: Vec<u8> = response.body().collect();
	let expected = format!("\"result\":\"{}\"", array_bytes::bytes2hex("0x", hash));
	body.windows(expected.len()).any(|window| window == expected.as_bytes())
}

/// Records one attempt: confirmed, or backed off by 1, 2, 4 … `MAX_BACKOFF` blocks (the
/// first retry comes at the next block, when a host that had not imported the anchor yet
/// will have it).
fn record<T: Config>(
	items: &mut [(H256, Option<ItemOf<T>>)],
	(item_index, delivery_index): (usize, usize),
	confirmed: bool,
	now: BlockNumberFor<T>,
) {
	let Some((_, Some(item))) = items.get_mut(item_index) else { return };
	let Some(delivery) = item.deliveries.get_mut(delivery_index) else { return };
	if confirmed {
		delivery.confirmed_at = Some(now);
	} else {
		let backoff = 2u32.saturating_pow(delivery.attempts.min(16)).min(MAX_BACKOFF);
		delivery.attempts = delivery.attempts.saturating_add(1);
		delivery.next_attempt = now.saturating_add(backoff.into());
	}
}

/// The next block at which the worker should look at `item` again.
fn next_look<T: Config>(item: &ItemOf<T>, now: BlockNumberFor<T>) -> BlockNumberFor<T> {
	let soonest =
		item.deliveries.iter().filter(|d| d.confirmed_at.is_none()).map(|d| d.next_attempt).min();
	soonest.unwrap_or_else(|| now.saturating_add(1u32.into()))
}

/// Applies this run's outcomes to the queue; entries the node appended meanwhile stay.
fn update_queue<T: Config>(outcomes: &[(H256, Outcome<T>)]) {
	let queue = StorageValueRef::persistent(relay_keys::QUEUE);
	let result = queue.mutate(
		|stored: Result<Option<Vec<EntryOf<T>>>, StorageRetrievalError>| -> Result<_, ()> {
			let mut entries = stored.ok().flatten().unwrap_or_default();
			entries.retain_mut(|entry| {
				match outcomes.iter().find(|(hash, _)| *hash == entry.envelope) {
					Some((_, Outcome::Pending(due))) => {
						entry.due = *due;
						true
					}
					Some(_) => false,
					None => true,
				}
			});
			Ok(entries)
		},
	);
	if result.is_err() {
		// The node appended meanwhile; the next run redoes the bookkeeping from the items.
		log::debug!(target: LOG_TARGET, "relay queue changed during the run");
	}
}
