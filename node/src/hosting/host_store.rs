//! The host's mail store. Each envelope has a body — the sender's signed submission,
//! kept on disk only — and metadata kept on disk and indexed in memory: its sender and
//! leaf, the recipients it is still kept for, its place in their mailboxes, and how far its
//! notarization got (pending its anchor, anchored, final), and which of each recipient's
//! devices said they have it. Request nonces and each user's devices' lists of the senders
//! it accepted live beside them.
//!
//! Every write is durable when it returns (a redb transaction committed with an fsync):
//! the host tells a sender "stored" only after that, so a crash, even SIGKILL or power
//! loss, never loses mail it confirmed. ParityDB, the chain's database, cannot be used
//! for this: its commit returns before its log is written, with no way to wait for it.
//! Envelopes a request brings arrive in one [`Batch`] and one commit.
//!
//! Memory holds metadata only, so capacity is the disk's, not RAM's. Every index a block
//! needs (pending mail by arrival, mail awaiting an anchor by (sender, root), anchored mail
//! by block) is ordered, so per-block work touches only what changes. In-memory stores (an
//! operator option) keep the same database in memory.

use codec::{Decode, Encode};
use parking_lot::{Mutex, MutexGuard};
use quarks_primitives::{
	hosting::{BatchMembership, Submission},
	mailbox::MAX_DEVICE_LISTS,
	DeviceKey, DeviceRecord,
};
use quarks_runtime::{AccountId, BlockNumber};
use redb::{ReadableDatabase, ReadableTable, TableHandle};
use sp_core::H256;
use std::{
	collections::{hash_map::Entry as Slot, BTreeMap, BTreeSet, HashMap},
	path::Path,
};

type Column = redb::TableDefinition<'static, &'static [u8], &'static [u8]>;
const BODIES: Column = redb::TableDefinition::new("bodies");
const METAS: Column = redb::TableDefinition::new("metas");
const ACCOUNTS: Column = redb::TableDefinition::new("accounts");
/// (envelope hash ‖ recipient) → the block until which a copy posted again is not kept
/// for that recipient: delivered or deleted mail does not come back.
const TOMBSTONES: Column = redb::TableDefinition::new("tombstones");
/// (envelope hash ‖ recipient ‖ device) → nothing: that device of the recipient has it.
const RECEIVED: Column = redb::TableDefinition::new("received");
const POSITION_KEY: &[u8] = b"position";
const NONCE_PREFIX: &[u8] = b"nonce/";
const CONTACTS_PREFIX: &[u8] = b"contacts/";

/// Where an envelope's notarization stands at this host.
#[derive(Encode, Decode, Clone, PartialEq, Eq, Debug)]
pub enum State {
	/// Held before its anchor, since block `received_at`; `membership` once a node said
	/// where it is anchored (an envelope anchored alone needs none).
	Pending {
		/// The host's best block when it arrived.
		received_at: BlockNumber,
		/// Its place in its sender's batch, if told.
		membership: Option<BatchMembership>,
	},
	/// Anchored in `block` of the best chain; `is_final` once that block is finalized.
	Anchored {
		/// The anchoring block.
		block: BlockNumber,
		/// Its place in the anchor.
		membership: BatchMembership,
		/// Whether the anchoring block is final.
		is_final: bool,
	},
}

/// What the host keeps of an envelope besides its body.
#[derive(Encode, Decode, Clone, PartialEq, Eq, Debug)]
pub struct Meta {
	/// The sender, who signed it.
	pub sender: AccountId,
	/// Its anchor leaf's value, to recognise its anchor.
	pub leaf: H256,
	/// The encoded envelope's length.
	pub len: u32,
	/// Recipients who chose this host and have not acknowledged it.
	pub recipients: Vec<AccountId>,
	/// Its place in the recipients' mailboxes: increasing in arrival order.
	pub position: u64,
	/// How far its notarization got.
	pub state: State,
}

impl Meta {
	/// The root its anchor has: from its membership, or its own for an envelope alone.
	fn awaited_root(&self) -> Option<H256> {
		match &self.state {
			State::Pending { membership: Some(m), .. } => Some(m.root),
			State::Pending { membership: None, .. } => {
				Some(quarks_primitives::merkle::single_root(&self.leaf))
			}
			State::Anchored { .. } => None,
		}
	}
}

/// Limits from the host's on-chain record and its operator.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
	/// Bytes in all.
	pub capacity: u64,
	/// Bytes per recipient.
	pub user_quota: u64,
	/// Bytes one of a recipient's contacts (or the recipient itself) may keep for it.
	pub sender_share: u64,
	/// Bytes any other sender may keep for one recipient.
	pub stranger_share: u64,
	/// Bytes all of a recipient's non-contacts together may keep for it: however many
	/// accounts strangers hold, the rest of the quota stays its contacts'.
	pub strangers: u64,
	/// Bytes of pending (not yet anchored) mail per sender.
	pub sender_pending: u64,
	/// Bytes one sender may keep here in all, whoever its recipients: no sender with many
	/// recipients fills the host.
	pub sender_capacity: u64,
}

/// Why the store refused or failed.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum StoreError {
	/// Every recipient is over its quota.
	#[error("every recipient of this envelope is over its quota on this host")]
	OverQuota,
	/// Storing would exceed the host's capacity.
	#[error("this host is full")]
	OverCapacity,
	/// The sender already has as much pending mail here as it may.
	#[error("the sender has too much mail pending its anchor on this host")]
	SenderOverQuota,
	/// The sender already holds its share of every recipient's quota here.
	#[error("the sender holds its share of every recipient's mailbox on this host")]
	OverShare,
	/// The sender already keeps its share of the host's capacity.
	#[error("the sender keeps its share of this host's capacity")]
	SenderOverCapacity,
	/// The sender is not a contact of any recipient with room left for mail from others.
	#[error(
		"every recipient's room for mail from accounts not in its contacts is full on this host"
	)]
	StrangersFull,
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

impl StoreError {
	/// A failure of the database underneath, as the error callers see.
	pub fn database(error: impl std::fmt::Display) -> Self {
		StoreError::Database(error.to_string())
	}
}

/// What one account uses.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct Usage {
	/// Envelopes kept for it.
	pub envelopes: u32,
	/// Their bytes.
	pub bytes: u64,
}

/// Envelopes and bytes by notarization state.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct Totals {
	/// Pending their anchor.
	pub pending: Usage,
	/// Anchored, not yet final.
	pub anchored: Usage,
	/// Anchored in a final block.
	pub finalized: Usage,
}

impl Totals {
	fn of(&mut self, state: &State) -> &mut Usage {
		match state {
			State::Pending { .. } => &mut self.pending,
			State::Anchored { is_final: false, .. } => &mut self.anchored,
			State::Anchored { is_final: true, .. } => &mut self.finalized,
		}
	}
}

/// One mailbox entry: position, hash, body, state.
pub type Entry = (u64, H256, Submission, State);

#[derive(Default)]
struct Index {
	metas: HashMap<H256, Meta>,
	/// Each recipient's mail by position: a page is one range.
	mailboxes: HashMap<AccountId, BTreeMap<u64, H256>>,
	/// Pending mail by arrival block, to drop what waited too long.
	pending: BTreeSet<(BlockNumber, H256)>,
	/// Pending mail by the (sender, root) its anchor will have.
	awaiting: HashMap<(AccountId, H256), BTreeSet<H256>>,
	/// Anchored mail by block: for finality and retention.
	anchored: BTreeSet<(BlockNumber, H256)>,
	usage: HashMap<AccountId, Usage>,
	/// Bytes kept per (recipient, sender): no sender may take more than its share of a
	/// recipient's quota.
	shares: HashMap<(AccountId, AccountId), u64>,
	sender_pending: HashMap<AccountId, u64>,
	/// Bytes kept per sender, whoever the recipients.
	sender_bytes: HashMap<AccountId, u64>,
	/// Per owner, the senders each of its devices accepted, and when that list was given.
	contacts: HashMap<AccountId, BTreeMap<DeviceKey, (u64, BTreeSet<AccountId>)>>,
	/// How many device lists were given: the next one's time.
	lists_given: u64,
	/// Bytes kept per recipient from senders not in its contacts.
	strangers: HashMap<AccountId, u64>,
	totals: Totals,
	nonces: HashMap<AccountId, u64>,
	next_position: u64,
	/// (envelope, recipient) no longer kept, until the block it may be forgotten.
	tombstones: HashMap<(H256, AccountId), BlockNumber>,
	/// The same, by that block.
	tombstone_expiry: BTreeSet<(BlockNumber, H256, AccountId)>,
	/// Per recipient, the envelopes kept for it that some of its devices have, and which.
	received: HashMap<AccountId, BTreeMap<H256, BTreeSet<DeviceKey>>>,
}

impl Index {
	/// Whether `owner` accepts `sender`'s mail: its own, or a contact's.
	fn is_contact(&self, owner: &AccountId, sender: &AccountId) -> bool {
		owner == sender
			|| self
				.contacts
				.get(owner)
				.is_some_and(|lists| lists.values().any(|(_, list)| list.contains(sender)))
	}

	fn bytes(&self) -> u64 {
		let t = &self.totals;
		t.pending.bytes.saturating_add(t.anchored.bytes).saturating_add(t.finalized.bytes)
	}

	/// Adds `meta` to every index.
	fn add(&mut self, hash: H256, meta: Meta) {
		let len = u64::from(meta.len);
		for recipient in &meta.recipients {
			let usage = self.usage.entry(recipient.clone()).or_default();
			usage.envelopes = usage.envelopes.saturating_add(1);
			usage.bytes = usage.bytes.saturating_add(len);
			let share = self.shares.entry((recipient.clone(), meta.sender.clone())).or_default();
			*share = share.saturating_add(len);
			if !self.is_contact(recipient, &meta.sender) {
				let strangers = self.strangers.entry(recipient.clone()).or_default();
				*strangers = strangers.saturating_add(len);
			}
			self.mailboxes.entry(recipient.clone()).or_default().insert(meta.position, hash);
		}
		self.index_state(hash, &meta, true);
		let sent = self.sender_bytes.entry(meta.sender.clone()).or_default();
		*sent = sent.saturating_add(len);
		self.next_position = self.next_position.max(meta.position.saturating_add(1));
		self.metas.insert(hash, meta);
	}

	/// Adds (or removes) `meta`'s state to (from) the state indexes and totals.
	fn index_state(&mut self, hash: H256, meta: &Meta, add: bool) {
		let len = u64::from(meta.len);
		let total = self.totals.of(&meta.state);
		if add {
			total.envelopes = total.envelopes.saturating_add(1);
			total.bytes = total.bytes.saturating_add(len);
		} else {
			total.envelopes = total.envelopes.saturating_sub(1);
			total.bytes = total.bytes.saturating_sub(len);
		}
		match &meta.state {
			State::Pending { received_at, .. } => {
				let key = (meta.sender.clone(), meta.awaited_root().unwrap_or_default());
				let pending = self.sender_pending.entry(meta.sender.clone()).or_default();
				if add {
					*pending = pending.saturating_add(len);
					self.pending.insert((*received_at, hash));
					self.awaiting.entry(key).or_default().insert(hash);
				} else {
					*pending = pending.saturating_sub(len);
					if *pending == 0 {
						self.sender_pending.remove(&meta.sender);
					}
					self.pending.remove(&(*received_at, hash));
					if let Some(set) = self.awaiting.get_mut(&key) {
						set.remove(&hash);
						if set.is_empty() {
							self.awaiting.remove(&key);
						}
					}
				}
			}
			State::Anchored { block, .. } => {
				if add {
					self.anchored.insert((*block, hash));
				} else {
					self.anchored.remove(&(*block, hash));
				}
			}
		}
	}

	/// Stops keeping `hash` (from `sender`, at `position`, `len` bytes) for `who`.
	fn release(&mut self, who: &AccountId, sender: &AccountId, position: u64, len: u64) {
		let key = (who.clone(), sender.clone());
		if let Some(share) = self.shares.get_mut(&key) {
			*share = share.saturating_sub(len);
			if *share == 0 {
				self.shares.remove(&key);
			}
		}
		if !self.is_contact(who, sender) {
			if let Slot::Occupied(mut held) = self.strangers.entry(who.clone()) {
				*held.get_mut() = held.get().saturating_sub(len);
				if *held.get() == 0 {
					held.remove();
				}
			}
		}
		if let Some(mailbox) = self.mailboxes.get_mut(who) {
			mailbox.remove(&position);
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

	/// The rows that say which devices of `who` have `hash`, deleted.
	fn received_rows(&self, hash: &H256, who: &AccountId) -> Vec<Change> {
		let devices = self.received.get(who).and_then(|of| of.get(hash));
		let rows = devices.into_iter().flatten();
		rows.map(|device| (RECEIVED, received_key(hash, who, device), None)).collect()
	}

	/// Forgets which devices of `who` have `hash`.
	fn forget_received(&mut self, hash: &H256, who: &AccountId) {
		if let Slot::Occupied(mut of) = self.received.entry(who.clone()) {
			of.get_mut().remove(hash);
			if of.get().is_empty() {
				of.remove();
			}
		}
	}

	/// Records that `hash` is no longer kept for `who` until block `until`.
	fn bury(&mut self, hash: H256, who: AccountId, until: BlockNumber) {
		if let Some(previous) = self.tombstones.insert((hash, who.clone()), until) {
			self.tombstone_expiry.remove(&(previous, hash, who.clone()));
		}
		self.tombstone_expiry.insert((until, hash, who));
	}

	/// Replaces `hash`'s metadata `old` with `new` (its state changed); returns the new one.
	fn replace(&mut self, hash: H256, old: &Meta, new: Meta) -> (H256, Meta) {
		self.index_state(hash, old, false);
		self.index_state(hash, &new, true);
		self.metas.insert(hash, new.clone());
		(hash, new)
	}

	fn remove(&mut self, hash: &H256) -> Option<Meta> {
		let meta = self.metas.remove(hash)?;
		self.index_state(*hash, &meta, false);
		if let Slot::Occupied(mut sent) = self.sender_bytes.entry(meta.sender.clone()) {
			*sent.get_mut() = sent.get().saturating_sub(u64::from(meta.len));
			if *sent.get() == 0 {
				sent.remove();
			}
		}
		for recipient in &meta.recipients {
			self.release(recipient, &meta.sender, meta.position, u64::from(meta.len));
		}
		Some(meta)
	}
}

/// The mail store.
pub struct HostStore {
	db: redb::Database,
	index: Mutex<Index>,
	/// Held by a [`Batch`] until its commit, so nobody is told an envelope is stored
	/// before it is durable.
	batch: Mutex<()>,
}

/// A write to the database: (column, key, value or deletion).
type Change = (Column, Vec<u8>, Option<Vec<u8>>);

/// Envelopes inserted, and states of held envelopes changed, together, and made durable
/// by one commit: a request costs one disk sync however many items it holds.
pub struct Batch<'a> {
	store: &'a HostStore,
	_exclusive: MutexGuard<'a, ()>,
	/// Inserted envelopes with their encoded bodies.
	inserted: Vec<(H256, Vec<u8>)>,
	/// New states of held envelopes, the last one per envelope standing.
	states: BTreeMap<H256, State>,
}

impl Batch<'_> {
	/// Keeps `submission` under `hash` for those of `meta.recipients` still under their
	/// quota, if the host and the sender have room. `Ok(None)` if it was held already;
	/// otherwise the metadata kept (its position is assigned here). Nothing is durable, or
	/// may be announced, before [`Batch::commit`].
	pub fn insert(
		&mut self,
		hash: H256,
		submission: &Submission,
		mut meta: Meta,
		limits: Limits,
	) -> Result<Option<Meta>, StoreError> {
		let mut index = self.store.index.lock();
		if index.metas.contains_key(&hash) {
			return Ok(None);
		}
		let len = u64::from(meta.len);
		if index.bytes().saturating_add(len) > limits.capacity {
			return Err(StoreError::OverCapacity);
		}
		let sent = index.sender_bytes.get(&meta.sender).copied().unwrap_or_default();
		if sent.saturating_add(len) > limits.sender_capacity {
			return Err(StoreError::SenderOverCapacity);
		}
		if matches!(meta.state, State::Pending { .. }) {
			let pending = index.sender_pending.get(&meta.sender).copied().unwrap_or_default();
			if pending.saturating_add(len) > limits.sender_pending {
				return Err(StoreError::SenderOverQuota);
			}
		}
		// A recipient over quota, or whose quota the sender holds its share of, does not
		// stop the others from getting it. A sender the recipient did not accept shares
		// one part of its quota with every other such sender.
		let (mut over_quota, mut over_share, mut strangers_full) = (false, false, false);
		meta.recipients.retain(|recipient| {
			let used = index.usage.get(recipient).map_or(0, |u| u.bytes);
			let key = (recipient.clone(), meta.sender.clone());
			let share = index.shares.get(&key).copied().unwrap_or_default();
			let quota_fits = used.saturating_add(len) <= limits.user_quota;
			let (share_fits, strangers_fit) = if index.is_contact(recipient, &meta.sender) {
				(share.saturating_add(len) <= limits.sender_share, true)
			} else {
				let held = index.strangers.get(recipient).copied().unwrap_or_default();
				(
					share.saturating_add(len) <= limits.stranger_share,
					held.saturating_add(len) <= limits.strangers,
				)
			};
			over_quota |= !quota_fits;
			over_share |= !share_fits;
			strangers_full |= !strangers_fit;
			quota_fits && share_fits && strangers_fit
		});
		if meta.recipients.is_empty() {
			return Err(if over_quota {
				StoreError::OverQuota
			} else if over_share {
				StoreError::OverShare
			} else {
				StoreError::StrangersFull
			});
		}
		meta.position = index.next_position;
		index.add(hash, meta.clone());
		self.inserted.push((hash, submission.encode()));
		Ok(Some(meta))
	}

	/// Moves held envelope `hash` to `state` at [`Batch::commit`].
	pub fn set_state(&mut self, hash: H256, state: State) {
		self.states.insert(hash, state);
	}

	/// Writes the batch's envelopes, as their metadata stands now, and its state changes,
	/// in one durable commit; if it fails, the envelopes are forgotten as if never inserted
	/// and no state changes. Returns the envelopes whose state changed, with their metadata.
	pub fn commit(mut self) -> Result<Vec<(H256, Meta)>, StoreError> {
		let inserted = std::mem::take(&mut self.inserted);
		let states = std::mem::take(&mut self.states);
		if inserted.is_empty() && states.is_empty() {
			return Ok(Vec::new());
		}
		let mut index = self.store.index.lock();
		let mut changes = Vec::with_capacity(inserted.len() * 2 + states.len() + 1);
		for (hash, body) in &inserted {
			// Acknowledged or dropped meanwhile: nothing to keep.
			let Some(meta) = index.metas.get(hash) else { continue };
			changes.push((BODIES, hash.as_bytes().to_vec(), Some(body.clone())));
			changes.push(HostStore::meta_change(hash, Some(meta)));
		}
		let updated: Vec<(H256, Meta, Meta)> = states
			.into_iter()
			.filter_map(|(hash, state)| {
				let old = index.metas.get(&hash)?.clone();
				Some((hash, Meta { state, ..old.clone() }, old))
			})
			.collect();
		for (hash, new, _) in &updated {
			changes.push(HostStore::meta_change(hash, Some(new)));
		}
		if !inserted.is_empty() {
			changes.push((ACCOUNTS, POSITION_KEY.to_vec(), Some(index.next_position.encode())));
		}
		if let Err(error) = self.store.write(changes) {
			for (hash, _) in &inserted {
				index.remove(hash);
			}
			return Err(error);
		}
		Ok(updated.into_iter().map(|(hash, new, old)| index.replace(hash, &old, new)).collect())
	}
}

fn tombstone_key(hash: &H256, who: &AccountId) -> Vec<u8> {
	[hash.as_bytes(), who.as_ref()].concat()
}

impl Drop for Batch<'_> {
	/// A batch dropped uncommitted leaves nothing behind.
	fn drop(&mut self) {
		let mut index = self.store.index.lock();
		for (hash, _) in &self.inserted {
			index.remove(hash);
		}
	}
}

impl HostStore {
	/// A store that keeps nothing on disk.
	pub fn in_memory() -> Result<Self, StoreError> {
		let backend = redb::backends::InMemoryBackend::new();
		Self::load(
			redb::Database::builder().create_with_backend(backend).map_err(StoreError::database)?,
		)
	}

	/// Opens (or creates) the persistent store in the directory `path` and loads its
	/// metadata.
	pub fn open(path: &Path) -> Result<Self, StoreError> {
		std::fs::create_dir_all(path).map_err(StoreError::database)?;
		Self::load(redb::Database::create(path.join("mail.redb")).map_err(StoreError::database)?)
	}

	fn load(db: redb::Database) -> Result<Self, StoreError> {
		let mut index = Index::default();
		let tx = db.begin_write().map_err(StoreError::database)?;
		{
			// Accounts first: whose contacts a sender is decides which share its mail takes.
			for entry in tx
				.open_table(ACCOUNTS)
				.map_err(StoreError::database)?
				.iter()
				.map_err(StoreError::database)?
			{
				let (key, value) = entry.map_err(StoreError::database)?;
				let (key, mut value) = (key.value(), value.value());
				if key == POSITION_KEY {
					let next = u64::decode(&mut value).map_err(StoreError::database)?;
					index.next_position = index.next_position.max(next);
				} else if let Some(mut key) = key.strip_prefix(CONTACTS_PREFIX) {
					let account = AccountId::decode(&mut key).map_err(StoreError::database)?;
					let device = DeviceKey::decode(&mut key).map_err(StoreError::database)?;
					let list = DeviceList::decode(&mut value).map_err(StoreError::database)?;
					index.lists_given = index.lists_given.max(list.given.saturating_add(1));
					let accounts = list.accounts.into_iter().collect();
					index
						.contacts
						.entry(account)
						.or_default()
						.insert(device, (list.given, accounts));
				} else if let Some(mut account) = key.strip_prefix(NONCE_PREFIX) {
					let account = AccountId::decode(&mut account).map_err(StoreError::database)?;
					index
						.nonces
						.insert(account, u64::decode(&mut value).map_err(StoreError::database)?);
				}
			}
			let bodies = tx.open_table(BODIES).map_err(StoreError::database)?;
			let mut metas = tx.open_table(METAS).map_err(StoreError::database)?;
			let mut bodiless = Vec::new();
			for entry in metas.iter().map_err(StoreError::database)? {
				let (key, value) = entry.map_err(StoreError::database)?;
				let hash = H256::from_slice(key.value());
				// A state change may reach the disk before its envelope's batch did.
				if bodies.get(key.value()).map_err(StoreError::database)?.is_none() {
					bodiless.push(hash);
					continue;
				}
				let meta = Meta::decode(&mut value.value()).map_err(StoreError::database)?;
				index.add(hash, meta);
			}
			for hash in bodiless {
				metas.remove(hash.as_bytes()).map_err(StoreError::database)?;
			}
			for entry in tx
				.open_table(TOMBSTONES)
				.map_err(StoreError::database)?
				.iter()
				.map_err(StoreError::database)?
			{
				let (key, value) = entry.map_err(StoreError::database)?;
				let (hash, mut who) = key.value().split_at(32);
				let who = AccountId::decode(&mut who).map_err(StoreError::database)?;
				let until =
					BlockNumber::decode(&mut value.value()).map_err(StoreError::database)?;
				index.bury(H256::from_slice(hash), who, until);
			}
			let mut received = tx.open_table(RECEIVED).map_err(StoreError::database)?;
			let mut stale = Vec::new();
			for entry in received.iter().map_err(StoreError::database)? {
				let (key, _) = entry.map_err(StoreError::database)?;
				let (hash, mut rest) = key.value().split_at(32);
				let who = AccountId::decode(&mut rest).map_err(StoreError::database)?;
				let device = DeviceKey::decode(&mut rest).map_err(StoreError::database)?;
				let hash = H256::from_slice(hash);
				// Rows of mail no longer kept for that account (its envelope was bodiless,
				// say) are not carried over.
				if !index.metas.get(&hash).is_some_and(|meta| meta.recipients.contains(&who)) {
					stale.push(key.value().to_vec());
					continue;
				}
				index.received.entry(who).or_default().entry(hash).or_default().insert(device);
			}
			for key in stale {
				received.remove(&key[..]).map_err(StoreError::database)?;
			}
		}
		tx.commit().map_err(StoreError::database)?;
		Ok(HostStore { db, index: Mutex::new(index), batch: Mutex::new(()) })
	}

	/// Writes `changes` in one transaction, durable when this returns.
	fn write(&self, changes: Vec<Change>) -> Result<(), StoreError> {
		let tx = self.db.begin_write().map_err(StoreError::database)?;
		{
			// Each table opened once per transaction, however many changes touch it.
			let mut tables: Vec<(Column, redb::Table<'_, &[u8], &[u8]>)> = Vec::new();
			for (column, key, value) in changes {
				let open = tables.iter().position(|(open, _)| open.name() == column.name());
				let index = match open {
					Some(index) => index,
					None => {
						let table = tx.open_table(column).map_err(StoreError::database)?;
						tables.push((column, table));
						tables.len() - 1
					}
				};
				let table = &mut tables[index].1;
				match value {
					Some(value) => table.insert(&key[..], &value[..]).map(drop),
					None => table.remove(&key[..]).map(drop),
				}
				.map_err(StoreError::database)?;
			}
		}
		tx.commit().map_err(StoreError::database)
	}

	/// Starts a batch of insertions; other batches wait until it is committed or dropped.
	pub fn batch(&self) -> Batch<'_> {
		Batch {
			store: self,
			_exclusive: self.batch.lock(),
			inserted: Vec::new(),
			states: BTreeMap::new(),
		}
	}

	fn meta_change(hash: &H256, meta: Option<&Meta>) -> Change {
		(METAS, hash.as_bytes().to_vec(), meta.map(Encode::encode))
	}

	/// Whether the store holds `hash`.
	pub fn contains(&self, hash: &H256) -> bool {
		self.index.lock().metas.contains_key(hash)
	}

	/// The metadata of `hash`, if held.
	pub fn meta(&self, hash: &H256) -> Option<Meta> {
		self.index.lock().metas.get(hash).cloned()
	}

	/// Moves each envelope to its state in one write; returns those held, with their
	/// metadata.
	pub fn set_states(&self, changes: Vec<(H256, State)>) -> Result<Vec<(H256, Meta)>, StoreError> {
		let mut index = self.index.lock();
		let updated: Vec<(H256, Meta, Meta)> = changes
			.into_iter()
			.filter_map(|(hash, state)| {
				let old = index.metas.get(&hash)?.clone();
				let new = Meta { state, ..old.clone() };
				Some((hash, old, new))
			})
			.collect();
		self.write(
			updated.iter().map(|(hash, _, new)| Self::meta_change(hash, Some(new))).collect(),
		)?;
		Ok(updated.into_iter().map(|(hash, old, new)| index.replace(hash, &old, new)).collect())
	}

	/// The pending envelopes of `sender` whose anchor will have `root`.
	pub fn awaiting(&self, sender: &AccountId, root: &H256) -> Vec<H256> {
		let index = self.index.lock();
		index
			.awaiting
			.get(&(sender.clone(), *root))
			.map(|set| set.iter().copied().collect())
			.unwrap_or_default()
	}

	/// Anchored, not yet final envelopes anchored at or before `block`.
	pub fn unfinal_up_to(&self, block: BlockNumber) -> Vec<(H256, Meta)> {
		let index = self.index.lock();
		index
			.anchored
			.range(..=(block, H256::repeat_byte(0xff)))
			.filter_map(|(_, hash)| index.metas.get(hash).map(|meta| (*hash, meta.clone())))
			.filter(|(_, meta)| matches!(meta.state, State::Anchored { is_final: false, .. }))
			.collect()
	}

	/// Drops `hash` entirely; returns the recipients it was kept for.
	pub fn remove(&self, hash: &H256) -> Result<Option<Meta>, StoreError> {
		let mut index = self.index.lock();
		let Some(recipients) = index.metas.get(hash).map(|meta| meta.recipients.clone()) else {
			return Ok(None);
		};
		let mut changes =
			vec![(BODIES, hash.as_bytes().to_vec(), None), Self::meta_change(hash, None)];
		for who in &recipients {
			changes.extend(index.received_rows(hash, who));
		}
		self.write(changes)?;
		for who in &recipients {
			index.forget_received(hash, who);
		}
		Ok(index.remove(hash))
	}

	/// The block the oldest pending envelope arrived at, if any is pending.
	pub fn oldest_pending(&self) -> Option<BlockNumber> {
		self.index.lock().pending.first().map(|(block, _)| *block)
	}

	/// Pending envelopes that arrived before block `before`.
	pub fn pending_before(&self, before: BlockNumber) -> Vec<H256> {
		let index = self.index.lock();
		index.pending.range(..(before, H256::zero())).map(|(_, hash)| *hash).collect()
	}

	/// Anchored envelopes anchored before block `before`.
	pub fn anchored_before(&self, before: BlockNumber) -> Vec<H256> {
		let index = self.index.lock();
		index.anchored.range(..(before, H256::zero())).map(|(_, hash)| *hash).collect()
	}

	/// The body of `hash`.
	pub fn body(&self, hash: &H256) -> Result<Option<Submission>, StoreError> {
		let tx = self.db.begin_read().map_err(StoreError::database)?;
		let body = tx
			.open_table(BODIES)
			.map_err(StoreError::database)?
			.get(hash.as_bytes())
			.map_err(StoreError::database)?;
		body.map(|bytes| Submission::decode(&mut bytes.value()).map_err(StoreError::database))
			.transpose()
	}

	/// `who`'s mail after position `after`, leaving out what device `without` said it has:
	/// at most `limit` entries and about `max_bytes` (at least one entry), and where the
	/// next page starts if there is more.
	pub fn mailbox(
		&self,
		who: &AccountId,
		after: Option<u64>,
		limit: usize,
		max_bytes: usize,
		without: Option<&DeviceKey>,
	) -> Result<(Vec<Entry>, Option<u64>), StoreError> {
		let wanted: Vec<(u64, H256, State, u32)> = {
			let index = self.index.lock();
			let Some(mailbox) = index.mailboxes.get(who) else { return Ok((Vec::new(), None)) };
			let start = after.map_or(0, |a| a.saturating_add(1));
			let received = index.received.get(who);
			let has = |hash: &H256| {
				let devices = received.and_then(|of| of.get(hash));
				without.is_some_and(|device| devices.is_some_and(|d| d.contains(device)))
			};
			mailbox
				.range(start..)
				.filter(|(_, hash)| !has(hash))
				.take(limit.saturating_add(1))
				.filter_map(|(position, hash)| {
					index.metas.get(hash).map(|m| (*position, *hash, m.state.clone(), m.len))
				})
				.collect()
		};
		let mut entries = Vec::new();
		let mut bytes = 0usize;
		let mut next = None;
		for (position, hash, state, len) in wanted {
			if entries.len() >= limit
				|| (!entries.is_empty() && bytes.saturating_add(len as usize) > max_bytes)
			{
				next = entries.last().map(|(p, ..): &Entry| *p);
				break;
			}
			// Bodies are read outside the lock; one deleted meanwhile is skipped.
			if let Some(body) = self.body(&hash)? {
				bytes = bytes.saturating_add(len as usize);
				entries.push((position, hash, body, state));
			}
		}
		Ok((entries, next))
	}

	/// Stops keeping each envelope for its account (acknowledged on chain, or deleted by
	/// the account), dropping an envelope once nobody is left, in one durable write.
	/// Returns how many of the pairs were kept.
	pub fn stop_keeping(
		&self,
		pairs: impl IntoIterator<Item = (H256, AccountId)>,
		until: BlockNumber,
	) -> Result<u32, StoreError> {
		let mut index = self.index.lock();
		let mut remaining: HashMap<H256, Meta> = HashMap::new();
		let mut buried = Vec::new();
		for (hash, who) in pairs {
			let meta = match remaining.entry(hash) {
				Slot::Occupied(slot) => slot.into_mut(),
				Slot::Vacant(slot) => match index.metas.get(&hash) {
					Some(meta) => slot.insert(meta.clone()),
					None => continue,
				},
			};
			if meta.recipients.contains(&who) {
				meta.recipients.retain(|r| r != &who);
				buried.push((hash, who));
			}
		}
		let released = buried.len() as u32;
		remaining.retain(|hash, meta| {
			index.metas.get(hash).is_some_and(|kept| kept.recipients.len() != meta.recipients.len())
		});
		let mut changes = Vec::new();
		for (hash, meta) in &remaining {
			if meta.recipients.is_empty() {
				changes.push((BODIES, hash.as_bytes().to_vec(), None));
				changes.push(Self::meta_change(hash, None));
			} else {
				changes.push(Self::meta_change(hash, Some(meta)));
			}
		}
		if changes.is_empty() {
			return Ok(0);
		}
		for (hash, who) in &buried {
			changes.push((TOMBSTONES, tombstone_key(hash, who), Some(until.encode())));
			changes.extend(index.received_rows(hash, who));
		}
		self.write(changes)?;
		for (hash, who) in buried {
			index.forget_received(&hash, &who);
			index.bury(hash, who, until);
		}
		for (hash, meta) in remaining {
			if meta.recipients.is_empty() {
				index.remove(&hash);
				continue;
			}
			let Some(before) = index.metas.get(&hash).cloned() else { continue };
			for who in before.recipients.iter().filter(|r| !meta.recipients.contains(r)) {
				index.release(who, &meta.sender, meta.position, u64::from(meta.len));
			}
			index.metas.insert(hash, meta);
		}
		Ok(released)
	}

	/// Those of `recipients` who had `hash` delivered or deleted here within its
	/// retention: a copy posted again is not kept for them.
	pub fn tombstoned(&self, hash: &H256, recipients: &[AccountId]) -> Vec<AccountId> {
		let index = self.index.lock();
		recipients
			.iter()
			.filter(|who| index.tombstones.contains_key(&(*hash, (*who).clone())))
			.cloned()
			.collect()
	}

	/// Forgets the tombstones due before `block`.
	pub fn forget_tombstones_before(&self, block: BlockNumber) -> Result<(), StoreError> {
		let mut index = self.index.lock();
		let due: Vec<(BlockNumber, H256, AccountId)> = index
			.tombstone_expiry
			.range(..(block, H256::zero(), AccountId::new([0; 32])))
			.cloned()
			.collect();
		if due.is_empty() {
			return Ok(());
		}
		self.write(
			due.iter().map(|(_, hash, who)| (TOMBSTONES, tombstone_key(hash, who), None)).collect(),
		)?;
		for (until, hash, who) in due {
			index.tombstone_expiry.remove(&(until, hash, who.clone()));
			index.tombstones.remove(&(hash, who));
		}
		Ok(())
	}

	/// Accepts `nonce` for a request by `who` only if it exceeds every earlier one.
	pub fn use_nonce(&self, who: &AccountId, nonce: u64) -> Result<(), StoreError> {
		let mut index = self.index.lock();
		if let Some(&last) = index.nonces.get(who) {
			if nonce <= last {
				return Err(StoreError::Replayed { nonce, last });
			}
		}
		self.write(vec![(ACCOUNTS, nonce_key(who), Some(nonce.encode()))])?;
		index.nonces.insert(who.clone(), nonce);
		Ok(())
	}

	/// Makes `accounts` the senders `owner` accepts mail from on `device`, in place of those
	/// that device named before (none: it names no one); a sender any of the owner's last
	/// [`MAX_DEVICE_LISTS`] devices accepted counts as accepted. The mail already kept counts
	/// against the shares the lists now give.
	pub fn set_contacts(
		&self,
		owner: &AccountId,
		device: DeviceKey,
		accounts: Vec<AccountId>,
	) -> Result<(), StoreError> {
		let mut index = self.index.lock();
		let accounts: BTreeSet<AccountId> = accounts.into_iter().collect();
		let given = index.lists_given;
		// A new device beyond the last few replaces the one that gave its list longest ago.
		let replaced = index.contacts.get(owner).and_then(|lists| {
			let full = !lists.contains_key(&device) && lists.len() >= MAX_DEVICE_LISTS;
			let oldest = lists.iter().min_by_key(|(_, (given, _))| *given).map(|(d, _)| *d);
			oldest.filter(|_| full && !accounts.is_empty())
		});
		let list = DeviceList { given, accounts: accounts.iter().cloned().collect() };
		let mut changes = vec![(
			ACCOUNTS,
			contacts_key(owner, &device),
			(!accounts.is_empty()).then(|| list.encode()),
		)];
		if let Some(old) = &replaced {
			changes.push((ACCOUNTS, contacts_key(owner, old), None));
		}
		self.write(changes)?;
		index.lists_given = given.saturating_add(1);
		let lists = index.contacts.entry(owner.clone()).or_default();
		if let Some(old) = &replaced {
			lists.remove(old);
		}
		if accounts.is_empty() {
			lists.remove(&device);
		} else {
			lists.insert(device, (given, accounts));
		}
		if lists.is_empty() {
			index.contacts.remove(owner);
		}
		let held = index.mailboxes.get(owner).map_or(0, |mailbox| {
			mailbox
				.values()
				.filter_map(|hash| index.metas.get(hash))
				.filter(|meta| !index.is_contact(owner, &meta.sender))
				.fold(0u64, |sum, meta| sum.saturating_add(u64::from(meta.len)))
		});
		if held == 0 {
			index.strangers.remove(owner);
		} else {
			index.strangers.insert(owner.clone(), held);
		}
		Ok(())
	}

	/// Records that `device` of `who` has those of `envelopes` kept for `who`, in one
	/// durable write; returns, for each of them, where it stands and every device of `who`
	/// that has it.
	pub fn mark_received(
		&self,
		who: &AccountId,
		device: DeviceKey,
		envelopes: &[H256],
	) -> Result<Vec<Reception>, StoreError> {
		// No batch is open meanwhile: mail a batch has not made durable yet is not recorded.
		let _exclusive = self.batch.lock();
		let mut index = self.index.lock();
		let kept: Vec<H256> = envelopes
			.iter()
			.filter(|hash| index.metas.get(hash).is_some_and(|meta| meta.recipients.contains(who)))
			.copied()
			.collect::<BTreeSet<_>>()
			.into_iter()
			.collect();
		let new: Vec<H256> = kept
			.iter()
			.filter(|hash| {
				let of = index.received.get(who).and_then(|of| of.get(*hash));
				!of.is_some_and(|devices| devices.contains(&device))
			})
			.copied()
			.collect();
		if !new.is_empty() {
			self.write(
				new.iter()
					.map(|hash| (RECEIVED, received_key(hash, who, &device), Some(Vec::new())))
					.collect(),
			)?;
			let of = index.received.entry(who.clone()).or_default();
			for hash in new {
				of.entry(hash).or_default().insert(device);
			}
		}
		Ok(kept.iter().filter_map(|hash| Self::reception(&index, who, hash)).collect())
	}

	/// Where each envelope kept for `who` that some device of `who` has stands, and which
	/// devices have it.
	pub fn receptions(&self, who: &AccountId) -> Vec<Reception> {
		let index = self.index.lock();
		let hashes = index.received.get(who).map(|of| of.keys().copied().collect::<Vec<_>>());
		let hashes = hashes.unwrap_or_default();
		hashes.iter().filter_map(|hash| Self::reception(&index, who, hash)).collect()
	}

	fn reception(index: &Index, who: &AccountId, hash: &H256) -> Option<Reception> {
		let meta = index.metas.get(hash)?;
		let final_at = match meta.state {
			State::Anchored { block, is_final: true, .. } => Some(block),
			State::Anchored { .. } | State::Pending { .. } => None,
		};
		let devices = index.received.get(who).and_then(|of| of.get(hash)).cloned();
		Some(Reception { hash: *hash, final_at, devices: devices.unwrap_or_default() })
	}

	/// Those of `recipients` some of whose devices have `hash`.
	pub fn receiving(&self, hash: &H256, recipients: &[AccountId]) -> Vec<AccountId> {
		let index = self.index.lock();
		let has =
			|who: &&AccountId| index.received.get(*who).is_some_and(|of| of.contains_key(hash));
		recipients.iter().filter(has).cloned().collect()
	}

	/// The accounts some of whose mail here a device of theirs has, after `after` (in
	/// account order), at most `limit` of them.
	pub fn receiving_accounts(&self, after: Option<&AccountId>, limit: usize) -> Vec<AccountId> {
		accounts_after(self.index.lock().received.keys(), after, limit)
	}

	/// Whether any mail is kept for `who`.
	pub fn keeps_mail_for(&self, who: &AccountId) -> bool {
		self.index.lock().usage.contains_key(who)
	}

	/// The accounts whose devices gave contact lists, after `after` (in account order), at
	/// most `limit` of them; and the time of the next list given, for
	/// [`HostStore::forget_contacts`].
	pub fn listing_accounts(
		&self,
		after: Option<&AccountId>,
		limit: usize,
	) -> (Vec<AccountId>, u64) {
		let index = self.index.lock();
		(accounts_after(index.contacts.keys(), after, limit), index.lists_given)
	}

	/// Forgets the contact lists `who`'s devices gave before time `before` (lists given
	/// since were given by a user, whatever the chain said when the look began), for an
	/// account that keeps no mail here (its shares of mail kept would otherwise change).
	pub fn forget_contacts(&self, who: &AccountId, before: u64) -> Result<(), StoreError> {
		let mut index = self.index.lock();
		if index.usage.contains_key(who) {
			return Ok(());
		}
		let Some(lists) = index.contacts.get(who) else { return Ok(()) };
		let old: Vec<DeviceKey> =
			lists.iter().filter(|(_, (given, _))| *given < before).map(|(d, _)| *d).collect();
		if old.is_empty() {
			return Ok(());
		}
		let rows = old.iter().map(|device| (ACCOUNTS, contacts_key(who, device), None));
		self.write(rows.collect())?;
		if let Some(lists) = index.contacts.get_mut(who) {
			lists.retain(|device, _| !old.contains(device));
			if lists.is_empty() {
				index.contacts.remove(who);
				index.strangers.remove(who);
			}
		}
		Ok(())
	}

	/// How many senders each account that named them accepts (on any of its devices), by
	/// account.
	pub fn contact_counts(&self) -> Vec<(AccountId, u32)> {
		let index = self.index.lock();
		let mut counts: Vec<(AccountId, u32)> = index
			.contacts
			.iter()
			.map(|(who, lists)| {
				let accepted: BTreeSet<&AccountId> =
					lists.values().flat_map(|(_, list)| list.iter()).collect();
				(who.clone(), accepted.len() as u32)
			})
			.collect();
		counts.sort();
		counts
	}

	/// Envelopes and bytes kept, by state and per recipient.
	pub fn usage(&self) -> (Totals, BTreeMap<AccountId, Usage>) {
		let index = self.index.lock();
		(index.totals, index.usage.iter().map(|(who, usage)| (who.clone(), *usage)).collect())
	}
}

/// The first `limit` of `accounts` after `after`, in account order: one page of a look
/// that goes on from where the last one stopped.
fn accounts_after<'a>(
	accounts: impl Iterator<Item = &'a AccountId>,
	after: Option<&AccountId>,
	limit: usize,
) -> Vec<AccountId> {
	let mut accounts: Vec<&AccountId> =
		accounts.filter(|who| after.is_none_or(|after| *who > after)).collect();
	accounts.sort();
	accounts.into_iter().take(limit).cloned().collect()
}

fn received_key(hash: &H256, who: &AccountId, device: &DeviceKey) -> Vec<u8> {
	[hash.as_bytes(), who.as_ref(), device].concat()
}

/// An envelope kept for one recipient, as far as that recipient's devices go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reception {
	/// The envelope.
	pub hash: H256,
	/// The block anchoring it, once that block is final.
	pub final_at: Option<BlockNumber>,
	/// The recipient's devices that have it.
	pub devices: BTreeSet<DeviceKey>,
}

impl Reception {
	/// Whether every device of the recipient that counts has it, as of block `now`: each
	/// device bound (`records`) when it was anchored and bound still. Mail not final yet is
	/// never delivered: its anchor may not come, or move, and who counts is not known
	/// before it is final. A device bound in the anchoring block counts: its own welcome
	/// may be anchored there.
	pub fn is_delivered(&self, records: &[DeviceRecord<BlockNumber>], now: BlockNumber) -> bool {
		self.final_at.is_some_and(|anchored| {
			records
				.iter()
				.filter(|r| r.is_bound_at(&now) && r.added <= anchored)
				.all(|r| self.devices.contains(&r.key))
		})
	}
}

fn contacts_key(who: &AccountId, device: &DeviceKey) -> Vec<u8> {
	[CONTACTS_PREFIX, who.as_ref(), device].concat()
}

/// One device's list of the senders its owner accepted, as the store keeps it.
#[derive(Encode, Decode)]
struct DeviceList {
	/// When it was given, in lists given to this store.
	given: u64,
	accounts: Vec<AccountId>,
}

fn nonce_key(who: &AccountId) -> Vec<u8> {
	[NONCE_PREFIX, who.as_ref()].concat()
}

#[cfg(test)]
#[path = "host_store/tests.rs"]
mod tests;
