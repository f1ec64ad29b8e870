//! The host's mail store: envelopes by hash, each with the recipients it is still kept
//! for, plus per-account request nonces and the host's progress through finalized blocks.
//!
//! Persistent stores write through to ParityDB before answering, and reload everything on
//! open; in-memory stores (an operator option) keep the same index and write nothing.

use codec::{Decode, Encode};
use parking_lot::Mutex;
use quarks_runtime::{AccountId, BlockNumber};
use sp_core::H256;
use std::{
	collections::{BTreeMap, BTreeSet, HashMap},
	path::Path,
};

const ENVELOPES: u8 = 0;
const META: u8 = 1;
const CURSOR_KEY: &[u8] = b"cursor";
const NONCE_PREFIX: &[u8] = b"nonce/";

/// An envelope as the host keeps it.
#[derive(Encode, Decode, Clone, PartialEq, Eq, Debug)]
pub struct StoredEnvelope {
	/// The encoded envelope.
	pub envelope: Vec<u8>,
	/// Recipients who chose this host and have not acknowledged it yet.
	pub recipients: Vec<AccountId>,
	/// The block that anchored it; retention counts from here.
	pub anchored_at: BlockNumber,
}

/// Limits from the host's on-chain record.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
	/// Bytes in all.
	pub capacity: u64,
	/// Bytes per recipient.
	pub user_quota: u64,
}

/// Why the store refused or failed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StoreError {
	/// Storing would exceed the recipient's quota.
	#[error("recipient {0} is over its quota on this host")]
	OverQuota(AccountId),
	/// Storing would exceed the host's capacity.
	#[error("this host is full")]
	OverCapacity,
	/// The nonce is not above every nonce the account used before.
	#[error("replayed request: nonce {nonce} is not above {last}")]
	Replayed {
		/// The request's nonce.
		nonce: u64,
		/// The highest nonce accepted before.
		last: u64,
	},
	/// The database failed.
	#[error("host storage failed: {0}")]
	Database(String),
}

/// What one account uses.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct Usage {
	/// Envelopes kept for it.
	pub envelopes: u32,
	/// Their bytes.
	pub bytes: u64,
}

#[derive(Default)]
struct Index {
	envelopes: HashMap<H256, StoredEnvelope>,
	/// Each recipient's envelopes, oldest anchor first: a mailbox read is one lookup.
	mailboxes: HashMap<AccountId, BTreeSet<(BlockNumber, H256)>>,
	usage: HashMap<AccountId, Usage>,
	bytes: u64,
	nonces: HashMap<AccountId, u64>,
	cursor: Option<BlockNumber>,
}

impl Index {
	fn add(&mut self, hash: H256, stored: StoredEnvelope) {
		let len = stored.envelope.len() as u64;
		self.bytes = self.bytes.saturating_add(len);
		for recipient in &stored.recipients {
			let usage = self.usage.entry(recipient.clone()).or_default();
			usage.envelopes = usage.envelopes.saturating_add(1);
			usage.bytes = usage.bytes.saturating_add(len);
			self.mailboxes.entry(recipient.clone()).or_default().insert((stored.anchored_at, hash));
		}
		self.envelopes.insert(hash, stored);
	}

	fn release(&mut self, who: &AccountId, entry: (BlockNumber, H256), len: u64) {
		if let Some(mailbox) = self.mailboxes.get_mut(who) {
			mailbox.remove(&entry);
			if mailbox.is_empty() {
				self.mailboxes.remove(who);
			}
		}
		if let Some(usage) = self.usage.get_mut(who) {
			usage.envelopes = usage.envelopes.saturating_sub(1);
			usage.bytes = usage.bytes.saturating_sub(len);
			if usage.envelopes == 0 {
				self.usage.remove(who);
			}
		}
	}
}

/// The mail store.
pub struct HostStore {
	db: Option<parity_db::Db>,
	index: Mutex<Index>,
}

impl HostStore {
	/// A store that keeps nothing on disk.
	pub fn in_memory() -> Self {
		HostStore { db: None, index: Mutex::new(Index::default()) }
	}

	/// Opens (or creates) the persistent store at `path` and loads it.
	pub fn open(path: &Path) -> Result<Self, StoreError> {
		let mut options = parity_db::Options::with_columns(path, 2);
		for column in &mut options.columns {
			column.btree_index = true;
		}
		let db = parity_db::Db::open_or_create(&options).map_err(db_error)?;
		let mut index = Index::default();
		for (key, value) in column_entries(&db, ENVELOPES)? {
			let hash = H256::from_slice(&key);
			let stored = StoredEnvelope::decode(&mut &value[..]).map_err(db_error)?;
			index.add(hash, stored);
		}
		for (key, value) in column_entries(&db, META)? {
			if key == CURSOR_KEY {
				index.cursor = Some(BlockNumber::decode(&mut &value[..]).map_err(db_error)?);
			} else if let Some(account) = key.strip_prefix(NONCE_PREFIX) {
				let account = AccountId::decode(&mut &account[..]).map_err(db_error)?;
				index.nonces.insert(account, u64::decode(&mut &value[..]).map_err(db_error)?);
			}
		}
		Ok(HostStore { db: Some(db), index: Mutex::new(index) })
	}

	fn write(&self, changes: Vec<(u8, Vec<u8>, Option<Vec<u8>>)>) -> Result<(), StoreError> {
		match &self.db {
			Some(db) => db.commit(changes).map_err(db_error),
			None => Ok(()),
		}
	}

	/// Keeps `stored` under `hash` if it fits the limits; `Ok(false)` if it was kept
	/// already (a relay may retry after a lost answer).
	pub fn insert(
		&self,
		hash: H256,
		stored: StoredEnvelope,
		limits: Limits,
	) -> Result<bool, StoreError> {
		let mut index = self.index.lock();
		if index.envelopes.contains_key(&hash) {
			return Ok(false);
		}
		let len = stored.envelope.len() as u64;
		if index.bytes.saturating_add(len) > limits.capacity {
			return Err(StoreError::OverCapacity);
		}
		for recipient in &stored.recipients {
			let used = index.usage.get(recipient).map_or(0, |u| u.bytes);
			if used.saturating_add(len) > limits.user_quota {
				return Err(StoreError::OverQuota(recipient.clone()));
			}
		}
		self.write(vec![(ENVELOPES, hash.as_bytes().to_vec(), Some(stored.encode()))])?;
		index.add(hash, stored);
		Ok(true)
	}

	/// The envelopes kept for `who`, oldest anchor first.
	pub fn mailbox(&self, who: &AccountId) -> Vec<(H256, StoredEnvelope)> {
		let index = self.index.lock();
		let Some(mailbox) = index.mailboxes.get(who) else { return Vec::new() };
		mailbox
			.iter()
			.filter_map(|(_, hash)| index.envelopes.get(hash).map(|stored| (*hash, stored.clone())))
			.collect()
	}

	/// `who` acknowledged `hash`: stop keeping it for `who`, and drop it once nobody is left.
	pub fn acknowledged(&self, hash: &H256, who: &AccountId) -> Result<bool, StoreError> {
		let mut index = self.index.lock();
		let Some(stored) = index.envelopes.get(hash) else { return Ok(false) };
		if !stored.recipients.contains(who) {
			return Ok(false);
		}
		let mut remaining = stored.clone();
		remaining.recipients.retain(|r| r != who);
		let len = remaining.envelope.len() as u64;
		let entry = (remaining.anchored_at, *hash);
		if remaining.recipients.is_empty() {
			self.write(vec![(ENVELOPES, hash.as_bytes().to_vec(), None)])?;
			index.envelopes.remove(hash);
			index.bytes = index.bytes.saturating_sub(len);
		} else {
			self.write(vec![(ENVELOPES, hash.as_bytes().to_vec(), Some(remaining.encode()))])?;
			index.envelopes.insert(*hash, remaining);
		}
		index.release(who, entry, len);
		Ok(true)
	}

	/// Drops every envelope anchored before `oldest_kept`; returns how many.
	pub fn expire(&self, oldest_kept: BlockNumber) -> Result<usize, StoreError> {
		let mut index = self.index.lock();
		let expired: Vec<H256> = index
			.envelopes
			.iter()
			.filter(|(_, stored)| stored.anchored_at < oldest_kept)
			.map(|(hash, _)| *hash)
			.collect();
		if expired.is_empty() {
			return Ok(0);
		}
		self.write(expired.iter().map(|h| (ENVELOPES, h.as_bytes().to_vec(), None)).collect())?;
		for hash in &expired {
			if let Some(stored) = index.envelopes.remove(hash) {
				let len = stored.envelope.len() as u64;
				index.bytes = index.bytes.saturating_sub(len);
				for recipient in &stored.recipients {
					index.release(recipient, (stored.anchored_at, *hash), len);
				}
			}
		}
		Ok(expired.len())
	}

	/// Accepts `nonce` for a request by `who` only if it exceeds every earlier one.
	pub fn use_nonce(&self, who: &AccountId, nonce: u64) -> Result<(), StoreError> {
		let mut index = self.index.lock();
		if let Some(&last) = index.nonces.get(who) {
			if nonce <= last {
				return Err(StoreError::Replayed { nonce, last });
			}
		}
		self.write(vec![(META, nonce_key(who), Some(nonce.encode()))])?;
		index.nonces.insert(who.clone(), nonce);
		Ok(())
	}

	/// The last finalized block whose receipts were applied.
	pub fn cursor(&self) -> Option<BlockNumber> {
		self.index.lock().cursor
	}

	/// Records that receipts up to `block` were applied.
	pub fn set_cursor(&self, block: BlockNumber) -> Result<(), StoreError> {
		let mut index = self.index.lock();
		self.write(vec![(META, CURSOR_KEY.to_vec(), Some(block.encode()))])?;
		index.cursor = Some(block);
		Ok(())
	}

	/// Envelopes and bytes kept in all, and per recipient.
	pub fn usage(&self) -> (Usage, BTreeMap<AccountId, Usage>) {
		let index = self.index.lock();
		let total = Usage { envelopes: index.envelopes.len() as u32, bytes: index.bytes };
		(total, index.usage.iter().map(|(who, usage)| (who.clone(), *usage)).collect())
	}
}

fn nonce_key(who: &AccountId) -> Vec<u8> {
	[NONCE_PREFIX, who.as_ref()].concat()
}

fn column_entries(db: &parity_db::Db, column: u8) -> Result<Vec<(Vec<u8>, Vec<u8>)>, StoreError> {
	let mut iter = db.iter(column).map_err(db_error)?;
	iter.seek_to_first().map_err(db_error)?;
	let mut entries = Vec::new();
	while let Some(entry) = iter.next().map_err(db_error)? {
		entries.push(entry);
	}
	Ok(entries)
}

fn db_error(error: impl std::fmt::Display) -> StoreError {
	StoreError::Database(error.to_string())
}

#[cfg(test)]
mod tests {
	use super::*;
	use sp_keyring::Sr25519Keyring::{Alice, Bob};

	const LIMITS: Limits = Limits { capacity: 10_000, user_quota: 3_000 };

	fn stored(len: usize, recipients: &[AccountId], anchored_at: BlockNumber) -> StoredEnvelope {
		StoredEnvelope { envelope: vec![1; len], recipients: recipients.to_vec(), anchored_at }
	}

	#[test]
	fn a_persistent_store_keeps_mail_nonces_and_cursor_across_reopening() {
		let dir = tempfile::tempdir().expect("temp dir");
		let (alice, bob) = (Alice.to_account_id(), Bob.to_account_id());
		{
			let store = HostStore::open(dir.path()).expect("opens");
			store
				.insert(
					H256::repeat_byte(1),
					stored(1000, &[alice.clone(), bob.clone()], 5),
					LIMITS,
				)
				.expect("fits");
			store
				.insert(H256::repeat_byte(2), stored(1000, &[bob.clone()], 6), LIMITS)
				.expect("fits");
			store.acknowledged(&H256::repeat_byte(1), &alice).expect("written");
			store.use_nonce(&bob, 7).expect("fresh nonce");
			store.set_cursor(42).expect("written");
		}
		let store = HostStore::open(dir.path()).expect("reopens");
		assert!(store.mailbox(&alice).is_empty());
		let hashes: Vec<H256> = store.mailbox(&bob).into_iter().map(|(h, _)| h).collect();
		assert_eq!(hashes, vec![H256::repeat_byte(1), H256::repeat_byte(2)]);
		assert_eq!(store.use_nonce(&bob, 7), Err(StoreError::Replayed { nonce: 7, last: 7 }));
		assert_eq!(store.cursor(), Some(42));
		assert_eq!(store.usage().0, Usage { envelopes: 2, bytes: 2000 });
	}

	#[test]
	fn quota_and_capacity_refuse_without_changing_anything() {
		let store = HostStore::in_memory();
		let alice = Alice.to_account_id();
		store
			.insert(H256::repeat_byte(1), stored(2500, &[alice.clone()], 1), LIMITS)
			.expect("fits");
		let before = store.usage();
		assert_eq!(
			store.insert(H256::repeat_byte(2), stored(1000, &[alice.clone()], 1), LIMITS),
			Err(StoreError::OverQuota(alice.clone()))
		);
		let tight = Limits { capacity: 3000, user_quota: 10_000 };
		assert_eq!(
			store.insert(H256::repeat_byte(3), stored(1000, &[Bob.to_account_id()], 1), tight),
			Err(StoreError::OverCapacity)
		);
		assert_eq!(store.usage(), before);
		assert_eq!(store.mailbox(&alice).len(), 1, "only the envelope that fitted");
	}

	#[test]
	fn a_group_envelope_goes_once_every_recipient_acknowledged_or_it_expired() {
		let store = HostStore::in_memory();
		let (alice, bob) = (Alice.to_account_id(), Bob.to_account_id());
		let group = H256::repeat_byte(1);
		let group_mail = stored(100, &[alice.clone(), bob.clone()], 10);
		assert_eq!(store.insert(group, group_mail.clone(), LIMITS), Ok(true));
		assert_eq!(store.insert(group, group_mail, LIMITS), Ok(false), "stored once");
		store
			.insert(H256::repeat_byte(2), stored(100, &[alice.clone()], 20), LIMITS)
			.expect("fits");
		assert!(store.acknowledged(&group, &alice).expect("ok"));
		assert!(!store.acknowledged(&group, &alice).expect("ok"), "twice is a no-op");
		assert_eq!(store.mailbox(&bob)[0].0, group, "Bob has not acknowledged");
		assert!(store.acknowledged(&group, &bob).expect("ok"));
		assert!(store.mailbox(&bob).is_empty());
		assert_eq!(store.usage().0, Usage { envelopes: 1, bytes: 100 }, "the group mail is gone");
		assert_eq!(store.expire(20).expect("ok"), 0);
		assert_eq!(store.expire(21).expect("ok"), 1);
		assert_eq!(store.usage(), (Usage::default(), BTreeMap::new()));
	}

	#[test]
	fn nonces_must_grow_per_account() {
		let store = HostStore::in_memory();
		let (alice, bob) = (Alice.to_account_id(), Bob.to_account_id());
		store.use_nonce(&alice, 5).expect("first");
		store.use_nonce(&bob, 1).expect("accounts are independent");
		assert_eq!(store.use_nonce(&alice, 4), Err(StoreError::Replayed { nonce: 4, last: 5 }));
		store.use_nonce(&alice, 6).expect("greater");
	}
}
