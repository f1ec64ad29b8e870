//! The node's side of the relay: `quarks_submitEnvelope` queues envelopes in the node's
//! persistent offchain storage, where the messaging pallet's offchain worker relays them
//! (pallets/messaging/src/relay.rs).

use super::error::QuarksError;
use codec::{Decode, Encode};
use quarks_primitives::{
	envelope::{hash_of, Envelope},
	hosting::{relay_keys, BatchMembership, QueueEntry, RelayItem, MAX_RELAY_QUEUE},
};
use quarks_runtime::{AccountId, BlockNumber};
use sp_core::{offchain::OffchainStorage, H256};

type Item = RelayItem<AccountId, BlockNumber>;
type Entry = QueueEntry<BlockNumber>;

/// The relay queue in a node's offchain storage.
#[derive(Clone)]
pub struct RelayQueue<S> {
	storage: S,
}

/// An envelope in the queue and how far its delivery got.
#[derive(serde::Serialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct QueuedEnvelope {
	/// The envelope hash.
	pub hash: H256,
	/// Hosts that confirmed storage.
	pub confirmed: Vec<AccountId>,
	/// Hosts still to confirm, with failed attempts so far.
	pub unconfirmed: Vec<(AccountId, u32)>,
}

impl<S: OffchainStorage> RelayQueue<S> {
	/// The queue kept in `storage`.
	pub fn new(storage: S) -> Self {
		RelayQueue { storage }
	}

	fn get<T: Decode>(&self, key: &[u8]) -> Option<T> {
		self.storage
			.get(sp_offchain::STORAGE_PREFIX, key)
			.and_then(|bytes| T::decode(&mut &bytes[..]).ok())
	}

	/// Queues a well-formed envelope for relay and returns its hash. Submitting an
	/// envelope again returns the same hash and queues nothing new.
	pub fn submit(
		&mut self,
		envelope: Vec<u8>,
		batch: Option<BatchMembership>,
		best: BlockNumber,
	) -> Result<H256, QuarksError> {
		Envelope::<AccountId>::decode_checked(&envelope).map_err(QuarksError::Malformed)?;
		let hash = hash_of(&envelope);
		let item_key = relay_keys::item(&hash);
		if self.storage.get(sp_offchain::STORAGE_PREFIX, &item_key).is_some() {
			return Ok(hash);
		}
		let item = Item { envelope, batch, queued_at: best, deliveries: vec![] }.encode();
		loop {
			let old = self.storage.get(sp_offchain::STORAGE_PREFIX, relay_keys::QUEUE);
			let mut queue: Vec<Entry> =
				old.as_ref().and_then(|b| Decode::decode(&mut &b[..]).ok()).unwrap_or_default();
			if queue.iter().any(|entry| entry.envelope == hash) {
				return Ok(hash);
			}
			if queue.len() >= MAX_RELAY_QUEUE {
				return Err(QuarksError::RelayQueueFull);
			}
			// The item goes first: the worker drops queue entries without one.
			self.storage.set(sp_offchain::STORAGE_PREFIX, &item_key, &item);
			queue.push(Entry { envelope: hash, due: best });
			if self.storage.compare_and_set(
				sp_offchain::STORAGE_PREFIX,
				relay_keys::QUEUE,
				old.as_deref(),
				&queue.encode(),
			) {
				return Ok(hash);
			}
		}
	}

	/// The envelopes still being relayed.
	pub fn status(&self) -> Vec<QueuedEnvelope> {
		let queue: Vec<Entry> = self.get(relay_keys::QUEUE).unwrap_or_default();
		queue
			.into_iter()
			.map(|entry| {
				let item: Option<Item> = self.get(&relay_keys::item(&entry.envelope));
				let deliveries = item.map(|i| i.deliveries).unwrap_or_default();
				QueuedEnvelope {
					hash: entry.envelope,
					confirmed: deliveries
						.iter()
						.filter(|d| d.confirmed_at.is_some())
						.map(|d| d.host.clone())
						.collect(),
					unconfirmed: deliveries
						.iter()
						.filter(|d| d.confirmed_at.is_none())
						.map(|d| (d.host.clone(), d.attempts))
						.collect(),
				}
			})
			.collect()
	}
}
