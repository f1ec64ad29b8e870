//! Reading. Mail from the hosts is checked and shown at once — the sender's submission
//! signature; for a letter, MLS opening its message key from a member's device, the key
//! matching the envelope's commitment and the device's signature; for a welcome, that it
//! is the one the chain recorded for its epoch, from its committer, with the roster
//! recorded — marked with its notarization, which the client verifies on chain as it
//! advances: pending → anchored (block N of the best chain) → final; or not notarized, when
//! no anchor came in time. Hosts' claims only say where to look: a hash is always
//! recomputed, an anchor always read from the chain, and every host's claim of where a
//! message sits in its sender's anchor is tried until the chain confirms one, so a lying
//! host cannot hide what an honest one holds. Receipts go on chain per leaf, batched, once
//! the anchor is final.
//!
//! MLS opens a message once (its key is then deleted): what opened is kept in the local
//! store, so the same mail from another host, or read again, opens from there.

use crate::{
	chain::{account_value, hash_value, At, Included, Progress, Wait},
	error::{ClientError, ReadError},
	hosts::MailboxEntry,
	messenger::Messenger,
	mls::MlsError,
	queries,
	seal::{self, Body, Content, MessageKey, Opened},
	BlockNumber,
};
use codec::Decode;
use quarks_primitives::{
	envelope::{hash_of, Envelope},
	hosting::{submission_payload, BatchMembership},
	mailbox::{MailEvent, Notarization as Claim, MAX_PAGE_ENTRIES},
	merkle::{single_proof, single_root, verify, AnchorLeaf},
	AnchorRecord, Destination, Epoch, GroupId,
};
use sp_core::{crypto::AccountId32, sr25519, Pair as _, H256};
use std::{
	collections::HashMap,
	time::{Duration, Instant},
};
use subxt::dynamic::Value;
use tokio::sync::mpsc;

/// A message still pending after this long is taken as not notarized: hosts drop pending
/// mail after ten blocks (30 seconds).
pub const NOT_NOTARIZED_AFTER: Duration = Duration::from_secs(45);
/// How long mail that may yet open (its welcome or commit may still come) is retried.
const RETRY_FOR: Duration = Duration::from_secs(120);
/// Receipts wait at most this long to be batched.
const ACK_EVERY: Duration = Duration::from_secs(2);
/// Most receipts in one transaction.
pub const MAX_RECEIPTS: usize = 256;
/// How long one host has to list a mailbox.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// Mail events from the hosts waiting to be read: beyond it, hosts' tasks wait.
const MAX_QUEUED_EVENTS: usize = 4096;
/// Which of the account's hosts an event came from: its place among the mailboxes read.
type Source = usize;

/// How far a message's notarization got, as this client verified it on chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notarization {
	/// Delivered; its anchor is not on chain (yet).
	Pending,
	/// Its anchor is in block N of the best chain.
	Anchored(BlockNumber),
	/// Its anchor is in finalized block N.
	Final(BlockNumber),
	/// No anchor came in time: its sender never notarized it.
	NotNotarized,
}

impl Notarization {
	/// Whether it can no longer change by waiting.
	pub fn is_settled(&self) -> bool {
		matches!(self, Self::Final(_) | Self::NotNotarized)
	}
}

/// What a received envelope delivered.
#[derive(Clone, Debug)]
pub enum Delivered {
	/// A letter, opened and its signature checked.
	Letter {
		/// The opened letter.
		opened: Opened,
		/// What it says.
		content: Content,
	},
	/// A welcome into a group.
	Welcome {
		/// The group.
		group: GroupId,
		/// The epoch it opens.
		epoch: Epoch,
		/// Whether this device joined with it (or was in the group already).
		joined: bool,
	},
}

/// A received envelope that passed every check.
#[derive(Clone, Debug)]
pub struct Received {
	/// Its hash, recomputed.
	pub hash: H256,
	/// Its sender, who anchors it.
	pub sender: AccountId32,
	/// What it delivered.
	pub delivered: Delivered,
	/// Its leaf: what its sender's anchor commits to.
	pub leaf: AnchorLeaf<AccountId32>,
	/// Where it sits in its sender's anchor, once the chain confirmed it (or as a caller
	/// who knows it set it, to be checked).
	pub membership: Option<BatchMembership>,
	/// How far its notarization got.
	pub notarization: Notarization,
}

impl Received {
	/// The letter it delivered, if it is one.
	pub fn letter(&self) -> Option<(&Opened, &Content)> {
		match &self.delivered {
			Delivered::Letter { opened, content } => Some((opened, content)),
			_ => None,
		}
	}
}

/// What happened to mail being read.
#[derive(Debug)]
pub enum Update {
	/// A message passed every check and is shown, with its notarization so far.
	Shown(Received),
	/// A shown message's notarization advanced.
	Notarized {
		/// The message.
		hash: H256,
		/// Its new state.
		notarization: Notarization,
	},
	/// An envelope failed a check and is not shown.
	Rejected {
		/// The envelope.
		hash: H256,
		/// Why.
		error: ReadError,
	},
	/// Receipts for this many messages are in a block.
	Acknowledged(usize),
	/// This device committed to a group as [`ReadOptions`] asked (an update, or the
	/// devices or members the chain has now).
	Committed {
		/// The group.
		group: GroupId,
		/// The epoch the commit opened.
		epoch: Epoch,
	},
	/// A commit [`ReadOptions`] asked for failed; it is tried again at the next interval.
	CommitFailed {
		/// The group.
		group: GroupId,
		/// Why.
		error: ClientError,
	},
}

/// How [`Messenger::read_mail`] behaves.
#[derive(Clone, Debug)]
pub struct ReadOptions {
	/// Keep following new mail, rather than reading what the hosts keep now.
	pub follow: bool,
	/// Stop once this many letters were shown and their notarization settled.
	pub count: Option<usize>,
	/// Stop after this long.
	pub timeout: Option<Duration>,
	/// Send delivery receipts for final messages.
	pub acknowledge: bool,
	/// While following, bring every group's devices in line with the chain this often
	/// (a member left, a device was added or removed).
	pub sync_every: Option<Duration>,
	/// While following, update this device's leaf in every group this often (future
	/// secrecy).
	pub update_every: Option<Duration>,
}

/// The state of one message being read.
struct Tracked {
	received: Received,
	shown_at: Instant,
	/// A host dropped it for want of an anchor.
	dropped: bool,
	/// Something may have changed its notarization: read the chain at the next pass.
	check: bool,
	/// Where hosts claimed it sits in its sender's anchor, not yet confirmed by the chain:
	/// each host's latest claim only, so a lying host's claims cannot crowd out an honest
	/// host's, nor grow without end.
	claims: Vec<(Source, BatchMembership)>,
	acknowledged: bool,
	/// A letter this very device sent, back from the hosts (it is a member too): its
	/// other devices read it; here it is only acknowledged, never shown.
	own: bool,
}

/// Anchor reads shared by the messages checked in one pass, so messages batched under one
/// anchor cost one read.
#[derive(Default)]
struct AnchorReads(HashMap<(AccountId32, H256, At), Option<AnchorRecord<BlockNumber>>>);

impl AnchorReads {
	/// Reads the anchors of `keys` at `at` in one call, for the pass to use.
	async fn prefetch(
		&mut self,
		chain: &crate::chain::Chain,
		keys: Vec<(AccountId32, H256)>,
		at: At,
	) -> Result<(), crate::chain::ChainError> {
		let keys: Vec<(AccountId32, H256)> =
			keys.into_iter().filter(|(s, r)| !self.0.contains_key(&(s.clone(), *r, at))).collect();
		if keys.is_empty() {
			return Ok(());
		}
		for ((sender, root), anchor) in keys.iter().zip(queries::anchors(chain, &keys, at).await?) {
			self.0.insert((sender.clone(), *root, at), anchor);
		}
		Ok(())
	}

	/// The block of `sender`'s anchor covering `leaf` by `membership`, at `at`.
	async fn anchored_at(
		&mut self,
		chain: &crate::chain::Chain,
		sender: &AccountId32,
		leaf: &AnchorLeaf<AccountId32>,
		membership: &BatchMembership,
		at: At,
	) -> Result<Option<BlockNumber>, crate::chain::ChainError> {
		let key = (sender.clone(), membership.root, at);
		let anchor = match self.0.get(&key) {
			Some(anchor) => anchor.clone(),
			None => {
				let anchor = queries::anchor(chain, sender, &membership.root, at).await?;
				self.0.insert(key, anchor.clone());
				anchor
			}
		};
		Ok(anchor
			.filter(|a| a.covers(&membership.root, &leaf.value(), &membership.proof))
			.map(|a| a.anchored_at))
	}
}

impl Tracked {
	/// Keeps a host's claim of where the message sits in its sender's anchor, to be tried
	/// at the next pass, unless the chain already confirmed where it sits.
	fn claim(&mut self, source: Source, membership: BatchMembership) {
		let confirmed = matches!(
			self.received.notarization,
			Notarization::Anchored(_) | Notarization::Final(_)
		);
		if confirmed
			|| self.received.membership.as_ref() == Some(&membership)
			|| self.claims.iter().any(|(_, claimed)| *claimed == membership)
			|| !verify(&membership.root, &self.received.leaf.value(), &membership.proof)
		{
			return;
		}
		match self.claims.iter_mut().find(|(host, _)| *host == source) {
			Some((_, earlier)) => *earlier = membership,
			None => self.claims.push((source, membership)),
		}
		self.check = true;
	}

	/// The memberships hosts claimed.
	fn claimed(&self) -> Vec<BatchMembership> {
		self.claims.iter().map(|(_, membership)| membership.clone()).collect()
	}
}

/// The membership a host's claim names, if it has one.
fn claimed(claim: &Claim<BlockNumber>) -> Option<BatchMembership> {
	match claim {
		Claim::Pending => None,
		Claim::Anchored { membership, .. } | Claim::Final { membership, .. } => {
			Some(membership.clone())
		}
	}
}

/// Where `received` may sit in its sender's anchor: once the chain confirmed its
/// membership, there only; before, where a caller or hosts said, or alone.
fn candidates(received: &Received, claims: &[BatchMembership]) -> Vec<BatchMembership> {
	if let (Notarization::Anchored(_), Some(membership)) =
		(received.notarization, &received.membership)
	{
		return vec![membership.clone()];
	}
	let alone =
		BatchMembership { root: single_root(&received.leaf.value()), proof: single_proof() };
	let mut all: Vec<BatchMembership> = Vec::new();
	for membership in received.membership.iter().chain(claims).chain([&alone]) {
		if !all.contains(membership) {
			all.push(membership.clone());
		}
	}
	all
}

impl Messenger {
	/// Checks and opens one mailbox entry. The hash is recomputed from the envelope (a
	/// host cannot pass one envelope off as another, nor hide one behind a false hash);
	/// the submission must be signed by the envelope's sender. Its notarization starts from
	/// the host's claim, verified on chain.
	pub async fn open_mail(&self, entry: &MailboxEntry) -> Result<Received, ReadError> {
		let hash = hash_of(&entry.envelope);
		let (envelope, body) = seal::parse(&entry.envelope)?;
		if !self.signed_by_sender(entry, &envelope.sender, &hash) {
			return Err(ReadError::BadSubmission);
		}
		let mut received = self.open_checked(&entry.envelope, envelope, body, hash).await?;
		// A pending claim needs no read: nothing on chain to check yet.
		if let Some(membership) = claimed(&entry.notarization) {
			self.check_with(&mut received, &[membership], &mut AnchorReads::default()).await?;
		}
		Ok(received)
	}

	/// Whether `entry` carries `sender`'s submission signature of envelope `hash`.
	fn signed_by_sender(&self, entry: &MailboxEntry, sender: &AccountId32, hash: &H256) -> bool {
		let public = sr25519::Public::from_raw(sender.clone().into());
		let signature = sr25519::Signature::from_raw(entry.signature);
		sr25519::Pair::verify(&signature, submission_payload(&self.chain.genesis(), hash), &public)
	}

	/// Checks and opens envelope bytes held locally (a file, the local store): every check
	/// but the submission's, which travels with mail only; its anchor as the local store
	/// knows it, or as an envelope anchored alone.
	pub async fn open_envelope(&self, bytes: &[u8]) -> Result<Received, ReadError> {
		let hash = hash_of(bytes);
		let (envelope, body) = seal::parse(bytes)?;
		let mut received = self.open_checked(bytes, envelope, body, hash).await?;
		received.membership = self.store.membership(&hash)?;
		self.check_notarization(&mut received).await?;
		Ok(received)
	}

	/// Opens `envelope` (hash `hash`, encoded as `bytes`) with this device: a letter by
	/// its kept message key or through MLS (first applying the commits the chain ordered
	/// since this device's epoch, if the letter is ahead of it), a welcome as the chain
	/// ordered it.
	async fn open_checked(
		&self,
		bytes: &[u8],
		envelope: Envelope<AccountId32>,
		body: Body,
		hash: H256,
	) -> Result<Received, ReadError> {
		let delivered = match (&body, &envelope.destination) {
			(Body::Letter { mls, .. }, Destination::Group { group, epoch }) => {
				let key = match self.store.message_key(&hash)? {
					Some(key) => (key, None),
					None => match self.letter_key(&envelope, *group, *epoch, mls) {
						Err(ReadError::EpochAhead { .. }) if self.catch_up_due(*group) => {
							// A group that is stuck is restarted by whoever sends next.
							let _ = self.advance_group(*group).await;
							self.letter_key(&envelope, *group, *epoch, mls)?
						}
						key => key?,
					},
				};
				let opened = seal::open_letter(&envelope, &body, &key.0)?;
				if key.1.is_some_and(|device| device != opened.device) {
					return Err(ReadError::SenderMismatch);
				}
				self.store.put_message_key(&hash, &key.0)?;
				let content = Content::decode(&mut &opened.letter.content[..])
					.map_err(|_| ReadError::UnknownContent)?;
				Delivered::Letter { opened, content }
			}
			(Body::Welcome { group, epoch, mls }, Destination::Direct(to)) => {
				if to != self.account() {
					return Err(ReadError::WrongRecipient);
				}
				let joined = self.join_mail(*group, *epoch, mls, &envelope.sender).await?;
				Delivered::Welcome { group: *group, epoch: *epoch, joined }
			}
			// `seal::parse` refuses every other pairing.
			_ => return Err(seal::SealError::WrongDestination("body").into()),
		};
		self.store.put(bytes)?;
		Ok(Received {
			hash,
			leaf: envelope.leaf(hash),
			sender: envelope.sender,
			delivered,
			membership: None,
			notarization: Notarization::Pending,
		})
	}

	/// The message key an MLS application message carries, from a member device of
	/// `envelope`'s sender, with that device; the key is deleted from MLS once used.
	fn letter_key(
		&self,
		envelope: &Envelope<AccountId32>,
		group: GroupId,
		epoch: Epoch,
		mls: &[u8],
	) -> Result<(MessageKey, Option<[u8; 32]>), ReadError> {
		self.with_device(|device| {
			if !device.is_in(group) {
				return Err(ReadError::NotInGroup(group));
			}
			if epoch > device.epoch(group)? {
				return Err(ReadError::EpochAhead { group, epoch });
			}
			if device.joined(group).is_some_and(|joined| epoch < joined) {
				return Err(ReadError::BeforeJoined { group, epoch });
			}
			let opened = device.decrypt(group, mls)?;
			if opened.sender.account != envelope.sender || opened.epoch != epoch {
				return Err(ReadError::SenderMismatch);
			}
			let key = MessageKey::try_from(opened.plaintext.as_slice())
				.map_err(|_| seal::SealError::KeyCommitment)?;
			Ok((key, Some(opened.sender.signature_key)))
		})
	}

	/// Joins `group` at `epoch` from a welcome, if this account is a member since then and
	/// the welcome is the one the finalized chain recorded for the epoch, sent by the
	/// member whose commit opened it, into the roster recorded (a welcome from before a
	/// removal is stale; one another member made up is refused, and cannot move this device
	/// out of the epoch it is in); the 1:1 conversation with `sender` if the group has only
	/// the two of them. Returns whether it joined now.
	async fn join_mail(
		&self,
		group: GroupId,
		epoch: Epoch,
		mls: &[u8],
		sender: &AccountId32,
	) -> Result<bool, ReadError> {
		let at = self.device(|d| d.is_in(group).then(|| d.epoch(group)).transpose())?;
		if at.is_some_and(|at| at >= epoch) {
			return Ok(false);
		}
		let member = queries::member(&self.chain, group, self.account()).await?;
		if member.is_none_or(|m| m.joined > epoch) {
			return Err(ReadError::StaleWelcome { group, epoch });
		}
		let record = queries::commit_at(&self.chain, group, epoch)
			.await?
			.ok_or(ReadError::CommitNotOrdered { group, epoch })?;
		if &record.committer != sender {
			return Err(ReadError::WelcomeNotFromCommitter { group, epoch });
		}
		match self.with_device(|d| d.join(mls, group, epoch, (&record).into())) {
			Ok(()) => {}
			// The welcome of a device added beside this one, which follows the commit.
			Err(MlsError::AlreadyIn { .. }) => return Ok(false),
			Err(MlsError::NotForThisDevice) => return Err(ReadError::ForAnotherDevice),
			Err(e) => return Err(e.into()),
		}
		let members = queries::members_at(&self.chain, group, epoch).await?;
		if members.len() == 2 && members.contains(sender) && self.store.direct(sender)?.is_none() {
			self.store.set_direct(sender, group)?;
		}
		Ok(true)
	}

	/// Reads the chain for `received`'s anchor (by its membership, or as an envelope
	/// anchored alone): final at the finalized block, anchored at the best one, else it
	/// stays as it was. A final anchor needs the sender's key valid at its block.
	pub async fn check_notarization(&self, received: &mut Received) -> Result<(), ReadError> {
		self.check_with(received, &[], &mut AnchorReads::default()).await
	}

	/// [`Self::check_notarization`], trying `claims` too; the first membership the chain
	/// confirms, finalized before best, becomes the message's.
	async fn check_with(
		&self,
		received: &mut Received,
		claims: &[BatchMembership],
		reads: &mut AnchorReads,
	) -> Result<(), ReadError> {
		if matches!(received.notarization, Notarization::Final(_)) {
			return Ok(());
		}
		let (chain, sender, leaf) = (&self.chain, &received.sender, &received.leaf);
		let mut confirmed = None;
		'reads: for at in [At::Finalized, At::Best] {
			for membership in candidates(received, claims) {
				if let Some(block) = reads.anchored_at(chain, sender, leaf, &membership, at).await?
				{
					confirmed = Some((at, block, membership));
					break 'reads;
				}
			}
		}
		let Some((at, block, membership)) = confirmed else { return Ok(()) };
		if at == At::Finalized {
			if let Some((opened, _)) = received.letter() {
				if !self.device_bound_at(sender, &opened.device, block).await? {
					let device = opened.device;
					return Err(ReadError::DeviceNotBound {
						sender: sender.clone(),
						device,
						block,
					});
				}
			}
			received.notarization = Notarization::Final(block);
		} else {
			received.notarization = Notarization::Anchored(block);
		}
		if received.membership.as_ref() != Some(&membership) {
			self.store
				.put_membership(&received.hash, &membership)
				.map_err(|e| ReadError::Keep(e.to_string()))?;
			received.membership = Some(membership);
		}
		Ok(())
	}

	/// The mail kept at every chosen host, one entry per envelope (hosts keep copies of the
	/// same envelope; its recomputed hash identifies it, and a copy its sender signed wins
	/// over one a host forged), welcomes first so a device joins before the mail of its
	/// groups.
	pub async fn fetch(&self) -> Result<Vec<MailboxEntry>, ClientError> {
		let mut entries: Vec<(H256, MailboxEntry)> = Vec::new();
		let mut seen: HashMap<H256, usize> = HashMap::new();
		let signed = |entry: &MailboxEntry, hash: &H256| {
			seal::parse(&entry.envelope)
				.is_ok_and(|(envelope, _)| self.signed_by_sender(entry, &envelope.sender, hash))
		};
		// Every host at once, each within a deadline: a silent or lying host delays
		// nobody's mail from the others; only if none answers is there an error.
		let mailboxes = self.mailboxes().await?;
		let fetches = mailboxes.iter().map(|mailbox| async move {
			tokio::time::timeout(FETCH_TIMEOUT, mailbox.fetch()).await.unwrap_or_else(|_| {
				Err(crate::chain::ChainError::Rpc(format!(
					"host {} did not answer within {FETCH_TIMEOUT:?}",
					mailbox.host().operator
				)))
			})
		});
		let mut answered = Vec::new();
		let mut failure = None;
		for fetched in futures::future::join_all(fetches).await {
			match fetched {
				Ok(mail) => answered.push(mail),
				Err(e) => failure = Some(e),
			}
		}
		if answered.is_empty() {
			if let Some(failure) = failure {
				return Err(failure.into());
			}
		}
		for mail in answered {
			for entry in mail {
				let hash = hash_of(&entry.envelope);
				match seen.get(&hash) {
					None => {
						seen.insert(hash, entries.len());
						entries.push((hash, entry));
					}
					Some(&at) if !signed(&entries[at].1, &hash) && signed(&entry, &hash) => {
						entries[at].1 = entry
					}
					Some(_) => {}
				}
			}
		}
		entries.sort_by_key(|(_, e)| (is_group(&e.envelope), e.position));
		Ok(entries.into_iter().map(|(_, e)| e).collect())
	}

	/// Has every chosen host stop keeping `envelopes` for this account, without receipts:
	/// mail the user does not want kept, freeing their quota. Returns the copies deleted.
	pub async fn delete_mail(&self, envelopes: &[H256]) -> Result<u32, ClientError> {
		let mut deleted = 0u32;
		for mailbox in self.mailboxes().await? {
			for chunk in envelopes.chunks(MAX_PAGE_ENTRIES as usize) {
				deleted = deleted.saturating_add(mailbox.delete(chunk.to_vec()).await?);
			}
		}
		Ok(deleted)
	}

	/// The envelopes from `sender` that the chosen hosts keep for this account.
	pub async fn mail_from(&self, sender: &AccountId32) -> Result<Vec<H256>, ClientError> {
		Ok(self
			.fetch()
			.await?
			.iter()
			.filter(|entry| {
				seal::parse(&entry.envelope).is_ok_and(|(envelope, _)| &envelope.sender == sender)
			})
			.map(|entry| hash_of(&entry.envelope))
			.collect())
	}

	/// Records delivery receipts for final messages not acknowledged before, per leaf, at
	/// most [`MAX_RECEIPTS`] per transaction and one transaction per block, and remembers
	/// them so none is sent twice.
	pub async fn acknowledge(
		&self,
		received: &[&Received],
		wait: Wait,
		progress: &mut (dyn FnMut(Progress) + Send),
	) -> Result<Vec<Included>, ClientError> {
		let fresh: Vec<&Received> = received
			.iter()
			.copied()
			.filter(|r| matches!(r.notarization, Notarization::Final(_)) && r.membership.is_some())
			.filter(|r| !self.store.acknowledged(&r.hash))
			.collect();
		let mut out = Vec::new();
		for chunk in fresh.chunks(MAX_RECEIPTS) {
			let mut due: Vec<&Received> = chunk.to_vec();
			let mut attempts = 0u32;
			while !due.is_empty() {
				let items: Vec<Value> = due.iter().filter_map(|r| receipt_item(r)).collect();
				let fields = vec![Value::unnamed_composite(items)];
				match self.transact("Messaging", "acknowledge", fields, wait, progress).await {
					Ok(included) => {
						out.push(included);
						break;
					}
					// Another device of this account acknowledged some of them first (the
					// batch is all or nothing), or this account acknowledged in this block.
					// Or the block's receipt slots are full: the next block has room.
					Err(e)
						if (e.is_pallet_error("AlreadyAcknowledged")
							|| e.is_pallet_error("AlreadyAcknowledgedInBlock")
							|| e.is_pallet_error("BlockReceiptsFull"))
							&& attempts < 8 =>
					{
						attempts = attempts.saturating_add(1);
						tokio::time::sleep(Duration::from_secs(1)).await;
						let mut still = Vec::new();
						for r in due {
							if queries::receipt_of(&self.chain, &r.hash, self.account())
								.await?
								.is_none()
							{
								still.push(r);
							}
						}
						due = still;
					}
					Err(e) => return Err(e.into()),
				}
			}
			for r in chunk {
				self.store.mark_acknowledged(&r.hash)?;
			}
		}
		Ok(out)
	}

	/// Reads mail: what the hosts keep, and with `follow` what arrives, reporting each
	/// [`Update`] to `on_update` — a message as soon as it opens, then its notarization as
	/// it advances — and acknowledging final messages in batches. Returns when `count`
	/// letters were shown and settled, at `timeout`, or (without `follow`) once every
	/// message read has settled. While following, keeps this device's groups in line with
	/// the chain and updates its leaves as `options` say.
	pub async fn read_mail(
		&self,
		options: ReadOptions,
		on_update: &mut (dyn FnMut(&Update) + Send),
	) -> Result<(), ClientError> {
		let mut events = self.mail_events(options.follow).await?;
		let started = Instant::now();
		let mut tracked: HashMap<H256, Tracked> = HashMap::new();
		let mut retrying: Vec<(MailboxEntry, Source, Instant)> = Vec::new();
		let mut last_ack = Instant::now();
		let (mut last_sync, mut last_update) = (Instant::now(), Instant::now());
		let mut tick = tokio::time::interval(Duration::from_millis(500));
		let mut fetched = false;
		let mut open = true;
		loop {
			// Events are taken as they come; the chain is read once per tick.
			tokio::select! {
				event = events.recv(), if open => {
					match event {
						Some(Some((source, event))) => {
							self.on_event(source, event, &mut tracked, &mut retrying, on_update).await
						}
						// Every host's first fetch is in.
						Some(None) => fetched = true,
						None if options.follow => {
							return Err(crate::chain::ChainError::Rpc("every mailbox connection ended".into()).into())
						}
						None => (fetched, open) = (true, false),
					}
					continue;
				},
				_ = tick.tick() => {},
			}
			for (entry, source, since) in std::mem::take(&mut retrying) {
				self.show(entry, source, since, &mut tracked, &mut retrying, on_update).await;
			}
			self.advance(&mut tracked, on_update).await;
			let due = |every: Option<Duration>, last: Instant| {
				options.follow && every.is_some_and(|every| last.elapsed() >= every)
			};
			if due(options.sync_every, last_sync) || due(options.update_every, last_update) {
				let update = due(options.update_every, last_update);
				for (group, outcome) in self.sync_groups(update, &mut |_| {}).await {
					match outcome {
						Ok(Some(epoch)) => on_update(&Update::Committed { group, epoch }),
						Ok(None) => {}
						Err(error) => on_update(&Update::CommitFailed { group, error }),
					}
				}
				last_sync = Instant::now();
				if update {
					last_update = last_sync;
				}
			}
			if options.acknowledge && !tracked.is_empty() {
				let due: Vec<&Received> = tracked
					.values()
					.filter(|t| {
						!t.acknowledged && matches!(t.received.notarization, Notarization::Final(_))
					})
					.map(|t| &t.received)
					.collect();
				if due.len() >= MAX_RECEIPTS || (!due.is_empty() && last_ack.elapsed() >= ACK_EVERY)
				{
					let hashes: Vec<H256> = due.iter().map(|r| r.hash).collect();
					self.acknowledge(&due, Wait::InBlock, &mut |_| {}).await?;
					for hash in &hashes {
						if let Some(t) = tracked.get_mut(hash) {
							t.acknowledged = true;
						}
					}
					on_update(&Update::Acknowledged(hashes.len()));
					last_ack = Instant::now();
				}
			}
			let settled = tracked.values().all(|t| {
				t.received.notarization.is_settled()
					&& (t.acknowledged
						|| !options.acknowledge
						|| t.received.notarization == Notarization::NotNotarized)
			});
			let letters =
				tracked.values().filter(|t| !t.own && t.received.letter().is_some()).count();
			let counted = options.count.map_or(!options.follow, |n| letters >= n);
			if (fetched && counted && settled && retrying.is_empty())
				|| options.timeout.is_some_and(|t| started.elapsed() >= t)
			{
				return Ok(());
			}
		}
	}

	/// Mail events from every chosen host: what each keeps (then `None` once every host's
	/// first fetch is in), and with `follow`, what happens next — each subscription renewed
	/// after a dropped connection (subscriptions do not survive a reconnect).
	async fn mail_events(
		&self,
		follow: bool,
	) -> Result<mpsc::Receiver<Option<(Source, MailEvent<BlockNumber>)>>, ClientError> {
		// Bounded: a host that floods its subscription waits for the reader, and holds at
		// most this many events of the client's memory.
		let (tx, rx) = mpsc::channel(MAX_QUEUED_EVENTS);
		let mailboxes = self.mailboxes().await?;
		let (fetched_tx, mut fetched_rx) = mpsc::unbounded_channel::<()>();
		let hosts = mailboxes.len();
		for (source, mailbox) in mailboxes.into_iter().enumerate() {
			let tx = tx.clone();
			let fetched_tx = fetched_tx.clone();
			tokio::spawn(async move {
				let mut first = true;
				loop {
					// Subscribe before fetching so nothing falls between the two.
					let subscription = if follow { mailbox.subscribe().await.ok() } else { None };
					for entry in mailbox.fetch().await.unwrap_or_default() {
						if tx.send(Some((source, MailEvent::Mail(entry)))).await.is_err() {
							return;
						}
					}
					if std::mem::take(&mut first) {
						let _ = fetched_tx.send(());
					}
					let Some(mut subscription) = subscription else {
						if follow {
							tokio::time::sleep(Duration::from_secs(1)).await;
							continue;
						}
						return;
					};
					while let Some(Ok(event)) = subscription.next().await {
						let missed = matches!(event, MailEvent::Missed);
						if tx.send(Some((source, event))).await.is_err() {
							return;
						}
						if missed {
							for entry in mailbox.fetch().await.unwrap_or_default() {
								if tx.send(Some((source, MailEvent::Mail(entry)))).await.is_err() {
									return;
								}
							}
						}
					}
					tokio::time::sleep(Duration::from_secs(1)).await;
				}
			});
		}
		drop(fetched_tx);
		tokio::spawn(async move {
			for _ in 0..hosts {
				if fetched_rx.recv().await.is_none() {
					break;
				}
			}
			let _ = tx.send(None).await;
		});
		Ok(rx)
	}

	async fn on_event(
		&self,
		source: Source,
		event: MailEvent<BlockNumber>,
		tracked: &mut HashMap<H256, Tracked>,
		retrying: &mut Vec<(MailboxEntry, Source, Instant)>,
		on_update: &mut (dyn FnMut(&Update) + Send),
	) {
		match event {
			MailEvent::Mail(entry) => {
				let hash = hash_of(&entry.envelope);
				match tracked.get_mut(&hash) {
					// Another host's copy (or a re-delivery after its anchor) may say more.
					Some(t) => {
						if let Some(membership) = claimed(&entry.notarization) {
							t.claim(source, membership);
						}
					}
					None => {
						self.show(entry, source, Instant::now(), tracked, retrying, on_update).await
					}
				}
			}
			MailEvent::Anchored { hash, membership, .. } => {
				if let Some(t) = tracked.get_mut(&hash) {
					t.claim(source, membership);
				}
			}
			// The chain decides: `advance` reads it once finality passes the anchor's block.
			MailEvent::Final { .. } => {}
			MailEvent::Dropped { hash } => {
				if let Some(t) = tracked.get_mut(&hash) {
					t.dropped = true;
				}
			}
			// `mail_events` fetches the mailbox again.
			MailEvent::Missed => {}
		}
	}

	async fn show(
		&self,
		entry: MailboxEntry,
		source: Source,
		since: Instant,
		tracked: &mut HashMap<H256, Tracked>,
		retrying: &mut Vec<(MailboxEntry, Source, Instant)>,
		on_update: &mut (dyn FnMut(&Update) + Send),
	) {
		let hash = hash_of(&entry.envelope);
		// Mail this device acknowledged was read here before; hosts keep it a while for
		// the account's other devices.
		if tracked.contains_key(&hash) || self.store.acknowledged(&hash) {
			return;
		}
		match self.open_mail(&entry).await {
			Ok(received) => {
				let own =
					received.letter().is_some_and(|(opened, _)| opened.device == self.device_key());
				if !own {
					on_update(&Update::Shown(received.clone()));
				}
				let mut tracked_message = Tracked {
					received,
					shown_at: Instant::now(),
					dropped: false,
					check: false,
					claims: Vec::new(),
					acknowledged: false,
					own,
				};
				// A claim the chain did not confirm yet is tried again as it advances.
				if let Some(membership) = claimed(&entry.notarization) {
					tracked_message.claim(source, membership);
				}
				tracked.insert(hash, tracked_message);
			}
			Err(error) if error.may_resolve() && since.elapsed() < RETRY_FOR => {
				retrying.push((entry, source, since))
			}
			Err(error) => on_update(&Update::Rejected { hash, error }),
		}
	}

	/// Reads the chain for the messages whose notarization may have advanced: those a host
	/// said are anchored, those anchored in a block finality has now passed, and those
	/// pending past their deadline. Everything else costs nothing per pass.
	async fn advance(
		&self,
		tracked: &mut HashMap<H256, Tracked>,
		on_update: &mut (dyn FnMut(&Update) + Send),
	) {
		let Ok(finalized) = self.chain.finalized().await else { return };
		let due = |t: &Tracked| {
			let overdue = t.dropped || t.shown_at.elapsed() >= NOT_NOTARIZED_AFTER;
			match t.received.notarization {
				Notarization::Final(_) => false,
				Notarization::Anchored(block) => finalized >= block || t.check,
				Notarization::Pending => t.check || overdue,
				Notarization::NotNotarized => t.check,
			}
		};
		// Every anchor this pass needs, in one read per block kind.
		let keys: Vec<(AccountId32, H256)> = tracked
			.values()
			.filter(|t| due(t))
			.flat_map(|t| {
				candidates(&t.received, &t.claimed())
					.into_iter()
					.map(|m| (t.received.sender.clone(), m.root))
			})
			.collect();
		let mut reads = AnchorReads::default();
		for at in [At::Finalized, At::Best] {
			if reads.prefetch(&self.chain, keys.clone(), at).await.is_err() {
				return;
			}
		}
		for t in tracked.values_mut() {
			let before = t.received.notarization;
			let overdue = t.dropped || t.shown_at.elapsed() >= NOT_NOTARIZED_AFTER;
			if !due(t) {
				continue;
			}
			let claimed = t.claimed();
			if let Err(error) = self.check_with(&mut t.received, &claimed, &mut reads).await {
				if !error.may_resolve() {
					let hash = t.received.hash;
					t.received.notarization = Notarization::NotNotarized;
					t.check = false;
					on_update(&Update::Rejected { hash, error });
				}
				continue;
			}
			let pending = t.received.notarization == Notarization::Pending;
			if !pending {
				t.claims.clear();
			}
			// A host saw the anchor before this node did: look again next pass.
			t.check = pending && !t.claims.is_empty();
			if pending && overdue {
				t.received.notarization = Notarization::NotNotarized;
				(t.claims, t.check) = (Vec::new(), false);
			}
			if t.received.notarization != before && !t.own {
				on_update(&Update::Notarized {
					hash: t.received.hash,
					notarization: t.received.notarization,
				});
			}
		}
	}
}

/// A receipt for `received`'s leaf, as a dynamic value; `None` without a membership.
fn receipt_item(received: &Received) -> Option<Value> {
	let membership = received.membership.as_ref()?;
	let leaf = &received.leaf;
	let proof = &membership.proof;
	Some(Value::named_composite([
		("sender", account_value(&received.sender)),
		("root", hash_value(&membership.root)),
		(
			"leaf",
			Value::named_composite([
				("envelope", hash_value(&leaf.envelope)),
				("destination", destination_value(&leaf.destination)),
				("size_class", Value::u128(leaf.size_class.into())),
			]),
		),
		(
			"proof",
			Value::named_composite([
				("leaf_index", Value::u128(proof.leaf_index.into())),
				("leaf_count", Value::u128(proof.leaf_count.into())),
				("siblings", Value::unnamed_composite(proof.siblings.iter().map(hash_value))),
			]),
		),
	]))
}

/// A destination as a dynamic value.
fn destination_value(destination: &Destination<AccountId32>) -> Value {
	match destination {
		Destination::Direct(account) => Value::unnamed_variant("Direct", [account_value(account)]),
		Destination::Group { group, epoch } => Value::named_variant(
			"Group",
			[("group", Value::u128((*group).into())), ("epoch", Value::u128((*epoch).into()))],
		),
	}
}

fn is_group(bytes: &[u8]) -> bool {
	Envelope::<AccountId32>::decode_checked(bytes)
		.is_ok_and(|e| matches!(e.destination, Destination::Group { .. }))
}
