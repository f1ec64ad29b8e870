//! The mail host a node runs when started with `--host <operator>`: it keeps envelopes
//! for the recipients who chose this host, and tells their subscriptions at once as mail
//! arrives and as its notarization advances.
//!
//! An envelope arrives — from a node's direct push, before any block, or from a relay
//! worker — as its sender's signed submission. The host keeps it *pending* its anchor if
//! the signature is the sender's, the sender has a bound device, a recipient chose this
//! host, and the sender stays within its rate and its share of pending bytes; it becomes
//! *anchored* once the sender's anchor covering its leaf is in the host's best chain, and
//! *final* with that block. Pending mail whose anchor does not come within
//! [`PROVISIONAL_WAIT`] blocks is dropped, and subscribers are told. A recipient's copy is
//! deleted once every device of the recipient that counts for it said it has it
//! (`MailboxAction::Received`): each device bound when it was anchored and bound still, so a
//! device that was away misses nothing and a removed one stops counting. The on-chain
//! receipt is the account's, from any one device, and deletes nothing. Mail past the host's
//! retention is dropped.

use super::{
	chain_view::{ChainCache, ChainView},
	error::{chain_error, QuarksError},
	host_store::{Batch, HostStore, Limits, Meta, Reception, State, Totals, Usage},
	metrics::Metrics,
	sender_limits::SenderLimits,
	submissions::{check_signatures, Opened},
};
use codec::DecodeAll;
use futures::StreamExt;
use parking_lot::Mutex;
use quarks_primitives::{
	envelope::hash_of,
	hosting::{
		batch_payload, BatchMembership, HostAnswer, HostInfo, HostItem, HostingApi,
		SignedMembership, Submission,
	},
	mailbox::{
		MailEntry, MailEvent, MailboxAction, MailboxPage, Notarization, SignedMailboxRequest,
		MAX_CONTACTS, MAX_PAGE_ENTRIES,
	},
	merkle::{self, single_proof, single_root, MAX_PROOF_DEPTH},
	AnchorRecord, Destination, DeviceKey,
};
use quarks_runtime::{opaque::Block, AccountId, BlockNumber};
use sc_client_api::{BlockchainEvents, HeaderBackend};
use sp_api::ProvideRuntimeApi;
use sp_core::{crypto::Pair as _, sr25519, H256};
use std::{
	collections::{BTreeMap, BTreeSet, HashMap, HashSet},
	path::PathBuf,
	sync::Arc,
};
use tokio::sync::broadcast;

mod receptions;
use receptions::Sweep;

/// Blocks a host keeps an envelope pending its anchor (10 seconds at 1-second blocks).
pub const PROVISIONAL_WAIT: BlockNumber = 10;
/// Most blocks a new best block's handling looks back through for anchors of pending mail
/// (the node announced none of them); mail whose anchor is further back is found when it
/// would be dropped.
const CATCH_UP_SCAN: BlockNumber = 256;
/// Bytes of pending mail one sender may have on a host.
const SENDER_PENDING_BYTES: u64 = 16 << 20;
/// One sender the recipient accepted keeps at most 1 / this of its quota here, so no sender
/// can fill a mailbox and lock its owner out of everyone else's mail; all the senders it did
/// not accept, however many accounts they hold, keep 1 / this together.
const SENDER_SHARE_OF_QUOTA: u64 = 4;
/// One sender the recipient did not accept keeps at most 1 / this of its quota here, so
/// it takes four strangers at their full share to fill the strangers' part.
const STRANGER_SHARE_OF_QUOTA: u64 = 16;
/// One sender keeps at most 1 / this of a host's capacity, whoever its recipients, so no
/// sender writing to many of the host's users fills it.
const SENDER_SHARE_OF_CAPACITY: u64 = 16;
/// Pending envelopes per second one sender may bring a host, and its burst.
const SENDER_RATE: (f64, f64) = (200.0, 1000.0);

/// How a node hosts mail, from the command line.
#[derive(Clone, Debug)]
pub struct HostConfig {
	/// The operator account of the admitted host this node serves.
	pub operator: AccountId,
	/// Where the store lives; `None` keeps mail in memory only.
	pub path: Option<PathBuf>,
}

/// What a subscription may see: an event and the recipients it concerns.
pub struct Notice {
	/// The recipients it concerns.
	pub recipients: Vec<AccountId>,
	/// What happened.
	pub event: MailEvent<BlockNumber>,
}

/// A running mail host.
pub struct Host<C> {
	client: Arc<C>,
	operator: AccountId,
	genesis: H256,
	store: HostStore,
	notices: broadcast::Sender<Arc<Notice>>,
	senders: SenderLimits,
	chain: Arc<ChainCache>,
	metrics: Option<Arc<Metrics>>,
	/// Where the periodic looks at accounts stand.
	sweep: Mutex<Sweep>,
}

/// Batch memberships whose signature was checked: (sender, root, signature).
pub type Vouched = HashSet<(AccountId, H256, [u8; 64])>;

/// Checks that `signed` places envelope leaf `leaf` of `sender` where `sender` said: a
/// proof within bounds (else 9001) that shows the leaf under the root (else 9021), and a
/// root that is the leaf's own (anchored alone) or that `sender` signed (else 9041).
/// Nobody but the sender can move its mail to a root that is never anchored.
pub fn check_membership(
	genesis: &H256,
	sender: &AccountId,
	leaf: &H256,
	signed: &SignedMembership,
	vouched: &mut Vouched,
) -> Result<(), QuarksError> {
	let BatchMembership { root, proof } = &signed.membership;
	if proof.siblings.len() > MAX_PROOF_DEPTH {
		return Err(QuarksError::MalformedRequest("membership"));
	}
	if !merkle::verify(root, leaf, proof) {
		return Err(QuarksError::AnchorMismatch);
	}
	if *root == single_root(leaf) {
		return Ok(());
	}
	let signature = signed.signature.ok_or(QuarksError::BadSignature)?;
	let key = (sender.clone(), *root, signature);
	if vouched.contains(&key) {
		return Ok(());
	}
	let public = sr25519::Public::from_raw(sender.clone().into());
	if !sr25519::Pair::verify(
		&sr25519::Signature::from_raw(signature),
		batch_payload(genesis, root),
		&public,
	) {
		return Err(QuarksError::BadSignature);
	}
	vouched.insert(key);
	Ok(())
}

/// An item of a host request, its envelope decoded and hashed once.
enum Item {
	Envelope {
		submission: Submission,
		opened: Result<Opened, QuarksError>,
		membership: Option<SignedMembership>,
	},
	Membership {
		envelope: H256,
		membership: SignedMembership,
	},
}

impl Item {
	fn open(item: HostItem) -> Self {
		match item {
			HostItem::Envelope { submission, membership } => {
				let opened = Opened::of(&submission, hash_of(&submission.envelope));
				Item::Envelope { submission, opened, membership }
			}
			HostItem::Membership { envelope, membership } => {
				Item::Membership { envelope, membership }
			}
		}
	}

	/// The (sender, root) whose anchor decides where a signed envelope stands.
	fn anchor_key(&self) -> Option<(AccountId, H256)> {
		let Item::Envelope { opened: Ok(opened), membership, .. } = self else { return None };
		if !opened.is_signed() {
			return None;
		}
		let root = membership
			.as_ref()
			.map_or_else(|| single_root(&leaf_of(opened)), |signed| signed.membership.root);
		Some((opened.envelope.sender.clone(), root))
	}
}

/// The anchor leaf of an opened envelope.
fn leaf_of(opened: &Opened) -> H256 {
	opened.envelope.leaf(opened.hash).value()
}

fn notarization(state: &State) -> Notarization<BlockNumber> {
	match state {
		State::Pending { .. } => Notarization::Pending,
		State::Anchored { block, membership, is_final: false } => {
			Notarization::Anchored { block: *block, membership: membership.clone() }
		}
		State::Anchored { block, membership, is_final: true } => {
			Notarization::Final { block: *block, membership: membership.clone() }
		}
	}
}

impl<C> Host<C>
where
	C: ProvideRuntimeApi<Block>
		+ HeaderBackend<Block>
		+ BlockchainEvents<Block>
		+ Send
		+ Sync
		+ 'static,
	C::Api: HostingApi<Block, AccountId, BlockNumber>,
{
	/// Opens the store and serves as `config.operator`'s host.
	pub fn new(
		client: Arc<C>,
		config: HostConfig,
		chain: Arc<ChainCache>,
		metrics: Option<Arc<Metrics>>,
	) -> Result<Arc<Self>, QuarksError> {
		let store = match &config.path {
			Some(path) => HostStore::open(path)?,
			None => HostStore::in_memory()?,
		};
		let genesis = client.info().genesis_hash;
		let (notices, _) = broadcast::channel(4096);
		Ok(Arc::new(Host {
			client,
			operator: config.operator,
			genesis,
			store,
			notices,
			senders: SenderLimits::new(SENDER_RATE.0, SENDER_RATE.1),
			chain,
			metrics,
			sweep: Mutex::new(Sweep::default()),
		}))
	}

	/// The operator account this host serves.
	pub fn operator(&self) -> &AccountId {
		&self.operator
	}

	/// Events as they happen, for subscriptions to filter.
	pub fn subscribe(&self) -> broadcast::Receiver<Arc<Notice>> {
		self.notices.subscribe()
	}

	/// What the store keeps, by state and per recipient.
	pub fn usage(&self) -> (Totals, BTreeMap<AccountId, Usage>) {
		self.store.usage()
	}

	/// How many senders each account that named them accepts.
	pub fn contact_counts(&self) -> Vec<(AccountId, u32)> {
		self.store.contact_counts()
	}

	/// The metrics, if the node exports any.
	pub fn metrics(&self) -> Option<&Metrics> {
		self.metrics.as_deref()
	}

	fn notify(&self, recipients: Vec<AccountId>, event: MailEvent<BlockNumber>) {
		// No subscriber is no error.
		let _ = self.notices.send(Arc::new(Notice { recipients, event }));
	}

	fn view(&self) -> ChainView<'_, C> {
		ChainView::at_best(&*self.client, &self.chain)
	}

	/// Answers each item of a `quarks_hostEnvelopes` request, in order. The envelopes it
	/// keeps and the states it changes are written in one durable commit before any
	/// "stored" answer or notice, however many items the request holds.
	pub fn take(&self, items: Vec<HostItem>) -> Vec<HostAnswer<BlockNumber>> {
		let refused = |error: &QuarksError| HostAnswer::Refused {
			code: error.code(),
			retry: error.may_succeed_later(),
		};
		let mut view = self.view();
		let record = view.host(&self.operator);
		let mut items: Vec<Item> = items.into_iter().map(Item::open).collect();
		// A host not admitted answers every item so, and checks nothing.
		if record.is_ok() {
			check_signatures(
				&self.genesis,
				items.iter_mut().filter_map(|item| match item {
					Item::Envelope { submission, opened: Ok(opened), .. } => {
						Some((opened, &submission.signature))
					}
					_ => None,
				}),
			);
			view.prefetch_anchors(items.iter().filter_map(Item::anchor_key));
		}
		// Memberships whose signature this request checked: a batch's share one.
		let mut vouched = HashSet::new();
		let mut batch = self.store.batch();
		// New envelopes: whom to tell, and what.
		let mut kept = Vec::new();
		let mut answers: Vec<_> = items
			.into_iter()
			.map(|item| {
				let answer = match (&record, item) {
					(Ok(record), Item::Envelope { submission, opened, membership }) => opened
						.and_then(|opened| {
							self.take_envelope(
								&view,
								&mut vouched,
								&mut batch,
								record,
								(submission, opened),
								membership,
							)
						})
						.map(|(answer, new)| {
							kept.extend(new);
							answer
						}),
					(Ok(_), Item::Membership { envelope, membership }) => {
						self.take_membership(&view, &mut vouched, &mut batch, &envelope, membership)
					}
					(Err(error), _) => Err(QuarksError::Chain(error.to_string())),
				};
				answer.unwrap_or_else(|error| refused(&error))
			})
			.collect();
		match batch.commit() {
			Ok(changed) => {
				for (recipients, entry) in kept {
					self.notify(recipients, MailEvent::Mail(entry));
				}
				for (hash, meta) in changed {
					if let State::Anchored { block, membership, .. } = meta.state {
						self.notify(
							meta.recipients,
							MailEvent::Anchored { hash, block, membership },
						);
					}
				}
			}
			Err(error) => {
				let error = QuarksError::from(error);
				log::warn!(target: "quarks-host", "could not store mail: {error}");
				// Later items may have answered for envelopes of this batch: none stands.
				for answer in &mut answers {
					if !matches!(answer, HostAnswer::Refused { .. }) {
						*answer = refused(&error);
					}
				}
			}
		}
		if let Some(metrics) = &self.metrics {
			for answer in &answers {
				match *answer {
					HostAnswer::Refused { code, .. } => metrics.host_item(code),
					_ => metrics.host_item(0),
				}
			}
		}
		answers
	}

	/// Takes one envelope into `batch`; for a new one, also whom to tell and what.
	fn take_envelope(
		&self,
		view: &ChainView<'_, C>,
		vouched: &mut Vouched,
		batch: &mut Batch<'_>,
		record: &HostInfo<BlockNumber>,
		submission: (Submission, Opened),
		membership: Option<SignedMembership>,
	) -> Result<(HostAnswer<BlockNumber>, Option<NewMail>), QuarksError> {
		let (submission, opened) = submission;
		// Checked even for an envelope held already: a forged copy is refused, not answered.
		if !opened.is_signed() {
			return Err(QuarksError::BadSignature);
		}
		let leaf = leaf_of(&opened);
		let Opened { envelope, hash, .. } = opened;
		if let Some(signed) = &membership {
			check_membership(&self.genesis, &envelope.sender, &leaf, signed, vouched)?;
		}
		let membership = membership.map(|signed| signed.membership);
		if self.store.contains(&hash) {
			let answer = match membership {
				Some(membership) => self.place(view, batch, &hash, membership)?,
				None => self.answer(&hash),
			};
			return Ok((answer, None));
		}
		view.admit(&envelope.sender, &envelope.destination)?;
		let mut recipients = view.hosted_recipients(&envelope.destination, &self.operator)?;
		if recipients.is_empty() {
			return Err(QuarksError::NotChosen);
		}
		// Delivered or deleted here within its retention: not kept again for them, whoever
		// posts it again.
		let buried = self.store.tombstoned(&hash, &recipients);
		recipients.retain(|recipient| !buried.contains(recipient));
		if recipients.is_empty() {
			return Ok((HostAnswer::Delivered, None));
		}
		// A receipt on chain is the account's: another of its devices may still need this
		// copy, so it is kept; the recipient's devices say when they have it.
		let anchored = view.anchored(&envelope.sender, &leaf, membership.as_ref())?;
		let state = match anchored {
			Some((block, _)) if block.saturating_add(record.retention) <= view.best => {
				return Err(QuarksError::Expired)
			}
			Some((block, membership)) => State::Anchored { block, membership, is_final: false },
			None if !self.senders.admit(&envelope.sender) => return Err(QuarksError::RateLimited),
			None => State::Pending { received_at: view.best, membership },
		};
		let meta = Meta {
			sender: envelope.sender,
			leaf,
			len: submission.envelope.len() as u32,
			recipients,
			position: 0,
			state,
		};
		let limits = Limits {
			capacity: record.capacity,
			user_quota: record.user_quota,
			sender_share: record.user_quota / SENDER_SHARE_OF_QUOTA,
			stranger_share: record.user_quota / STRANGER_SHARE_OF_QUOTA,
			strangers: record.user_quota / SENDER_SHARE_OF_QUOTA,
			sender_pending: SENDER_PENDING_BYTES,
			sender_capacity: record.capacity / SENDER_SHARE_OF_CAPACITY,
		};
		let Some(kept) = batch.insert(hash, &submission, meta, limits)? else {
			return Ok((self.answer(&hash), None)); // An earlier item of this request.
		};
		log::debug!(target: "quarks-host", "keeping {hash:?} for {} recipient(s)", kept.recipients.len());
		let entry = MailEntry {
			position: kept.position,
			hash,
			envelope: submission.envelope,
			signature: submission.signature,
			notarization: notarization(&kept.state),
		};
		Ok((stored_answer(&kept.state), Some((kept.recipients, entry))))
	}

	/// Takes where a held envelope is anchored, as its sender signed it.
	fn take_membership(
		&self,
		view: &ChainView<'_, C>,
		vouched: &mut Vouched,
		batch: &mut Batch<'_>,
		hash: &H256,
		signed: SignedMembership,
	) -> Result<HostAnswer<BlockNumber>, QuarksError> {
		let Some(meta) = self.store.meta(hash) else { return Ok(HostAnswer::Missing) };
		check_membership(&self.genesis, &meta.sender, &meta.leaf, &signed, vouched)?;
		self.place(view, batch, hash, signed.membership)
	}

	/// Places pending `hash` at `membership` (checked) in `batch`: anchored if its anchor
	/// is in the best block, else pending under that root.
	fn place(
		&self,
		view: &ChainView<'_, C>,
		batch: &mut Batch<'_>,
		hash: &H256,
		membership: BatchMembership,
	) -> Result<HostAnswer<BlockNumber>, QuarksError> {
		let Some(meta) = self.store.meta(hash) else { return Ok(HostAnswer::Missing) };
		let State::Pending { received_at, .. } = meta.state else {
			return Ok(stored_answer(&meta.state));
		};
		let state = match view.anchored(&meta.sender, &meta.leaf, Some(&membership))? {
			Some((block, membership)) => State::Anchored { block, membership, is_final: false },
			None => State::Pending { received_at, membership: Some(membership) },
		};
		let answer = stored_answer(&state);
		batch.set_state(*hash, state);
		Ok(answer)
	}

	/// The host's retention, as its record says now.
	fn retention(&self, view: &ChainView<'_, C>) -> Result<BlockNumber, QuarksError> {
		Ok(view.host(&self.operator)?.retention)
	}

	/// What the host says of an envelope it holds.
	fn answer(&self, hash: &H256) -> HostAnswer<BlockNumber> {
		match self.store.meta(hash) {
			Some(meta) => stored_answer(&meta.state),
			None => HostAnswer::Missing,
		}
	}

	/// Checks a signed mailbox request (owner's signature, this host, a fresh nonce) and
	/// returns the account and what it asks.
	pub fn authorize(
		&self,
		request: &[u8],
	) -> Result<(AccountId, MailboxAction<AccountId>), QuarksError> {
		// The whole request is the signed one: a byte more is not the same request.
		let signed = SignedMailboxRequest::<AccountId>::decode_all(&mut &request[..])
			.ok()
			.filter(|signed| match &signed.request.action {
				MailboxAction::Delete { envelopes } | MailboxAction::Received { envelopes, .. } => {
					envelopes.len() <= MAX_PAGE_ENTRIES as usize
				}
				MailboxAction::Contacts { accounts, .. } => accounts.len() <= MAX_CONTACTS as usize,
				MailboxAction::Fetch { .. }
				| MailboxAction::FetchFor { .. }
				| MailboxAction::Subscribe => true,
			})
			.ok_or(QuarksError::MalformedRequest("mailbox request"))?;
		let request = signed.request;
		if request.host != self.operator {
			return Err(QuarksError::WrongHost);
		}
		let public = sr25519::Public::from_raw(request.account.clone().into());
		let signature = sr25519::Signature::from_raw(signed.signature);
		if !sr25519::Pair::verify(&signature, request.signing_payload(&self.genesis), &public) {
			return Err(QuarksError::BadSignature);
		}
		// Only this host's users get a nonce record, so its table is bounded by the accounts
		// that chose it on chain (or still have mail here), not by whoever asks.
		let user = self.store.keeps_mail_for(&request.account)
			|| !self
				.view()
				.hosted_recipients(&Destination::Direct(request.account.clone()), &self.operator)?
				.is_empty();
		if !user {
			return Err(QuarksError::NotAUser);
		}
		self.store.use_nonce(&request.account, request.nonce)?;
		Ok((request.account, request.action))
	}

	/// Stops keeping `envelopes` for `who`, as `who` asked; returns how many were kept.
	pub fn delete(&self, who: &AccountId, envelopes: Vec<H256>) -> Result<u32, QuarksError> {
		let view = self.view();
		let until = view.best.saturating_add(self.retention(&view)?);
		let deleted = self
			.store
			.stop_keeping(envelopes.into_iter().map(|hash| (hash, who.clone())), until)?;
		self.report();
		Ok(deleted)
	}

	/// Makes `accounts` the senders `who` accepts mail from here on `device`, as `who`
	/// asked; returns how many distinct accounts the list holds.
	pub fn set_contacts(
		&self,
		who: &AccountId,
		device: DeviceKey,
		accounts: Vec<AccountId>,
	) -> Result<u32, QuarksError> {
		let accounts: BTreeSet<AccountId> = accounts.into_iter().collect();
		let count = accounts.len() as u32;
		self.store.set_contacts(who, device, accounts.into_iter().collect())?;
		Ok(count)
	}

	/// One page of `who`'s mail, leaving out what device `without` said it has.
	pub fn page(
		&self,
		who: &AccountId,
		after: Option<u64>,
		limit: u32,
		without: Option<&DeviceKey>,
	) -> Result<MailboxPage<BlockNumber>, QuarksError> {
		let limit = limit.clamp(1, MAX_PAGE_ENTRIES) as usize;
		let max_bytes = quarks_primitives::mailbox::MAX_PAGE_BYTES;
		let (entries, next) = self.store.mailbox(who, after, limit, max_bytes, without)?;
		if let Some(metrics) = &self.metrics {
			metrics.fetches.inc();
		}
		let mail = entries
			.into_iter()
			.map(|(position, hash, body, state)| MailEntry {
				position,
				hash,
				envelope: body.envelope,
				signature: body.signature,
				notarization: notarization(&state),
			})
			.collect();
		Ok(MailboxPage { mail, next })
	}

	/// Promotes pending mail whose anchor is in new best block `number` or in a block
	/// since `seen`, the last best block handled, and drops pending mail that waited
	/// longer than [`PROVISIONAL_WAIT`] — unless its anchor is there after all.
	///
	/// A node announces none of the blocks it imports while catching up, so the best
	/// block can move by many at once: anchors in the blocks between are looked for too
	/// (the last [`CATCH_UP_SCAN`] of them), and mail about to be dropped is looked up
	/// once, so a host that took mail while behind loses none of it.
	fn on_best(&self, at: H256, number: BlockNumber, seen: BlockNumber) -> Result<(), QuarksError> {
		let api = self.client.runtime_api();
		let mut promotions = Vec::new();
		let promote = |hash: H256, meta: &Meta, anchor: &AnchorRecord<BlockNumber>, root: H256| {
			let State::Pending { membership, .. } = &meta.state else { return None };
			let membership = membership
				.clone()
				.unwrap_or_else(|| BatchMembership { root, proof: single_proof() });
			(membership.root == root && anchor.covers(&root, &meta.leaf, &membership.proof)).then(
				|| {
					(
						hash,
						State::Anchored { block: anchor.anchored_at, membership, is_final: false },
					)
				},
			)
		};
		let first = match self.store.oldest_pending() {
			None => number,
			Some(oldest) => seen
				.saturating_add(1)
				.max(oldest.saturating_add(1))
				.max(number.saturating_sub(CATCH_UP_SCAN))
				.min(number),
		};
		for block in first..=number {
			for (sender, root, anchor) in api.anchors_in(at, block).map_err(chain_error)? {
				for hash in self.store.awaiting(&sender, &root) {
					let Some(meta) = self.store.meta(&hash) else { continue };
					promotions.extend(promote(hash, &meta, &anchor, root));
				}
			}
		}
		let promoted: HashSet<H256> = promotions.iter().map(|(hash, _)| *hash).collect();
		let mut expired = Vec::new();
		for hash in self.store.pending_before(number.saturating_sub(PROVISIONAL_WAIT)) {
			let Some(meta) = self.store.meta(&hash) else { continue };
			if promoted.contains(&hash) {
				continue;
			}
			let State::Pending { membership, .. } = &meta.state else { continue };
			let root = membership.as_ref().map_or_else(|| single_root(&meta.leaf), |m| m.root);
			match api.anchor(at, meta.sender.clone(), root).map_err(chain_error)? {
				Some(anchor) => match promote(hash, &meta, &anchor, root) {
					Some(promotion) => promotions.push(promotion),
					None => expired.push(hash),
				},
				None => expired.push(hash),
			}
		}
		// One write for the block's promotions.
		for (hash, meta) in self.store.set_states(promotions)? {
			if let State::Anchored { block, membership, .. } = meta.state {
				self.notify(meta.recipients, MailEvent::Anchored { hash, block, membership });
			}
		}
		for hash in expired {
			if let Some(meta) = self.store.remove(&hash)? {
				log::info!(target: "quarks-host", "dropped {hash:?}: no anchor within {PROVISIONAL_WAIT} blocks");
				if let Some(metrics) = &self.metrics {
					metrics.dropped_unanchored.inc();
				}
				self.notify(meta.recipients, MailEvent::Dropped { hash });
			}
		}
		self.report();
		Ok(())
	}

	/// Marks anchored mail final (or pending again, if its anchor was on a dropped fork),
	/// and applies receipts and retention for every block finalized since the last run.
	fn on_finalized(&self) -> Result<(), QuarksError> {
		let info = self.client.info();
		let (at, finalized) = (info.finalized_hash, info.finalized_number);
		let api = self.client.runtime_api();
		let mut anchors: HashMap<(AccountId, H256), Option<AnchorRecord<BlockNumber>>> =
			HashMap::new();
		let mut changes = Vec::new();
		for (hash, meta) in self.store.unfinal_up_to(finalized) {
			let State::Anchored { block, membership, .. } = meta.state else { continue };
			let key = (meta.sender.clone(), membership.root);
			let anchor = match anchors.get(&key) {
				Some(anchor) => anchor.clone(),
				None => {
					let anchor = api
						.anchor(at, meta.sender.clone(), membership.root)
						.map_err(chain_error)?;
					anchors.insert(key, anchor.clone());
					anchor
				}
			};
			changes.push(if anchor.is_some_and(|a| a.anchored_at == block) {
				(hash, State::Anchored { block, membership, is_final: true })
			} else {
				// Its anchor was on a fork that lost: pending again, until it reappears.
				(hash, State::Pending { received_at: finalized, membership: Some(membership) })
			});
		}
		// Mail that turned final may be what every device that counts already has.
		let mut receiving = BTreeSet::new();
		for (hash, meta) in self.store.set_states(changes)? {
			if let State::Anchored { block, is_final: true, .. } = meta.state {
				receiving.extend(self.store.receiving(&hash, &meta.recipients));
				self.notify(meta.recipients, MailEvent::Final { hash, block });
			}
		}

		let Some(host) = api.host(at, self.operator.clone()).map_err(chain_error)? else {
			return Ok(());
		};
		let until = finalized.saturating_add(host.retention);
		self.let_go_of(&receiving.into_iter().collect::<Vec<_>>(), at, finalized, until);
		self.sweep(at, finalized, until);
		self.store.forget_tombstones_before(finalized)?;
		let expired = self.store.anchored_before(finalized.saturating_sub(host.retention));
		for hash in &expired {
			self.store.remove(hash)?;
		}
		if !expired.is_empty() {
			log::info!(target: "quarks-host", "dropped {} envelope(s) past retention", expired.len());
		}
		self.report();
		Ok(())
	}

	fn report(&self) {
		let Some(metrics) = &self.metrics else { return };
		let (totals, _) = self.store.usage();
		for (state, usage) in [
			("pending", totals.pending),
			("anchored", totals.anchored),
			("final", totals.finalized),
		] {
			metrics.host_envelopes.with_label_values(&[state]).set(u64::from(usage.envelopes));
			metrics.host_bytes.with_label_values(&[state]).set(usage.bytes);
		}
	}

	/// Follows the best chain and finality for the node's life.
	pub async fn run(self: Arc<Self>) {
		let mut imports = self.client.import_notification_stream();
		let mut finality = self.client.finality_notification_stream();
		// The last best block handled: where a catch-up after downtime starts.
		let mut seen = self.client.info().best_number;
		if let Err(error) = self.on_finalized() {
			log::warn!(target: "quarks-host", "catching up on finality failed: {error}");
		}
		loop {
			let outcome = tokio::select! {
				Some(block) = imports.next() => {
					if !block.is_new_best {
						continue;
					}
					let number = *sp_runtime::traits::Header::number(&block.header);
					let handled = self.on_best(block.hash, number, seen);
					seen = number;
					handled
				}
				Some(_) = finality.next() => self.on_finalized(),
				else => return,
			};
			if let Err(error) = outcome {
				log::warn!(target: "quarks-host", "following the chain failed: {error}");
			}
		}
	}
}

/// A newly kept envelope: whom to tell, and their mailbox entry.
type NewMail = (Vec<AccountId>, MailEntry<BlockNumber>);

fn stored_answer(state: &State) -> HostAnswer<BlockNumber> {
	match state {
		State::Pending { .. } => HostAnswer::Stored { anchored_at: None },
		State::Anchored { block, .. } => HostAnswer::Stored { anchored_at: Some(*block) },
	}
}
