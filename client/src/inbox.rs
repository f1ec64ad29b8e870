//! Reading. Mail from the hosts is checked and shown at once — the sender's submission and
//! letter signatures, the sender's valid key, and for a group key its commitment on chain
//! — marked with its notarization, which the client verifies on chain as it advances:
//! pending → anchored (block N of the best chain) → final; or not notarized, when no anchor
//! came in time. Hosts' claims only say where to look: a hash is always recomputed, and an
//! anchor always read from the chain. Receipts go on chain per leaf, batched, once the
//! anchor is final.

use crate::{
	chain::{account_value, hash_value, At, Included, Progress, Wait},
	error::{ClientError, ReadError},
	hosts::MailboxEntry,
	keystore::GroupKey,
	messenger::Messenger,
	queries,
	seal::{self, Content, OpenWith, Opened, SealError},
	BlockNumber,
};
use codec::Decode;
use quarks_primitives::{
	envelope::{hash_of, Envelope},
	hosting::{submission_payload, BatchMembership},
	mailbox::{MailEvent, Notarization as Claim},
	merkle::{single_proof, single_root, AnchorLeaf},
	AnchorRecord, Destination,
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
/// How long a message that may yet open (its group key may still come) is retried.
const RETRY_FOR: Duration = Duration::from_secs(120);
/// Receipts wait at most this long to be batched.
const ACK_EVERY: Duration = Duration::from_secs(2);
/// Most receipts in one transaction.
pub const MAX_RECEIPTS: usize = 256;

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

/// A received message that passed every check.
#[derive(Clone, Debug)]
pub struct Received {
	/// Its hash, recomputed.
	pub hash: H256,
	/// The opened envelope.
	pub opened: Opened,
	/// What it says.
	pub content: Content,
	/// Its leaf: what its sender's anchor commits to.
	pub leaf: AnchorLeaf<AccountId32>,
	/// Where it sits in its sender's anchor, once known.
	pub membership: Option<BatchMembership>,
	/// How far its notarization got.
	pub notarization: Notarization,
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
}

/// How [`Messenger::read_mail`] behaves.
#[derive(Clone, Debug)]
pub struct ReadOptions {
	/// Keep following new mail, rather than reading what the hosts keep now.
	pub follow: bool,
	/// Stop once this many messages were shown and their notarization settled.
	pub count: Option<usize>,
	/// Stop after this long.
	pub timeout: Option<Duration>,
	/// Send delivery receipts for final messages.
	pub acknowledge: bool,
}

/// The state of one message being read.
struct Tracked {
	received: Received,
	shown_at: Instant,
	/// A host dropped it for want of an anchor.
	dropped: bool,
	/// Something may have changed its notarization: read the chain at the next pass.
	check: bool,
	acknowledged: bool,
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

impl Messenger {
	/// Checks and opens one mailbox entry. The hash is recomputed from the envelope (a
	/// host cannot pass one envelope off as another, nor hide one behind a false hash);
	/// the submission must be signed by the envelope's sender. Its notarization starts from
	/// the host's claim, verified on chain.
	pub async fn open_mail(&mut self, entry: &MailboxEntry) -> Result<Received, ReadError> {
		let hash = hash_of(&entry.envelope);
		let envelope = Envelope::<AccountId32>::decode_checked(&entry.envelope)
			.map_err(SealError::Malformed)?;
		let public = sr25519::Public::from_raw(envelope.sender.clone().into());
		let signature = sr25519::Signature::from_raw(entry.signature);
		let payload = submission_payload(&self.chain.genesis(), &hash);
		if !sr25519::Pair::verify(&signature, payload, &public) {
			return Err(ReadError::BadSubmission);
		}
		let membership = match &entry.notarization {
			Claim::Pending => None,
			Claim::Anchored { membership, .. } | Claim::Final { membership, .. } => {
				Some(membership.clone())
			}
		};
		let mut received = self.open_checked(&entry.envelope, &envelope, hash).await?;
		// A pending claim needs no read: nothing on chain to check yet.
		if membership.is_some() {
			received.membership = membership;
			self.check_notarization(&mut received).await?;
		}
		Ok(received)
	}

	/// Checks and opens envelope bytes held locally (a file, the local store): every check
	/// but the submission's, which travels with mail only; its anchor as the local store
	/// knows it, or as an envelope anchored alone.
	pub async fn open_envelope(&mut self, bytes: &[u8]) -> Result<Received, ReadError> {
		let hash = hash_of(bytes);
		let envelope =
			Envelope::<AccountId32>::decode_checked(bytes).map_err(SealError::Malformed)?;
		let mut received = self.open_checked(bytes, &envelope, hash).await?;
		received.membership =
			self.store.membership(&hash).map_err(|e| ReadError::Keep(e.to_string()))?;
		self.check_notarization(&mut received).await?;
		Ok(received)
	}

	/// Opens `envelope` (hash `hash`) with this identity's keys once its sender is known to
	/// hold a valid key; keeps a group key only if the chain's rotation commits to it.
	async fn open_checked(
		&mut self,
		bytes: &[u8],
		envelope: &Envelope<AccountId32>,
		hash: H256,
	) -> Result<Received, ReadError> {
		if self.sender_key(&envelope.sender).await?.is_none() {
			return Err(ReadError::SenderHasNoKey(envelope.sender.clone()));
		}
		let identity = &self.keystore.identity;
		let me = self.account().clone();
		let opened = match envelope.destination {
			Destination::Direct(_) => seal::open(
				bytes,
				OpenWith::Direct { me: &me, secret: &|v| identity.secret_for(v) },
			)?,
			Destination::Group { group, epoch } => {
				let key = identity
					.group_key(group, epoch)
					.ok_or(ReadError::NoGroupKey { group, epoch })?;
				seal::open(bytes, OpenWith::Group { group, epoch, key: &key })?
			}
		};
		let content = Content::decode(&mut &opened.letter.content[..])
			.map_err(|_| ReadError::UnknownContent)?;
		if let Content::GroupKey { group, epoch, key } = &content {
			let committed = queries::rotation(&self.chain, *group, *epoch)
				.await?
				.iter()
				.any(|w| w.member == me && w.commitment == hash);
			if !committed {
				return Err(ReadError::UncommittedGroupKey { group: *group, epoch: *epoch });
			}
			self.keystore.identity.add_group_key(GroupKey {
				group: *group,
				epoch: *epoch,
				key: *key,
			});
			self.keystore.save().map_err(|e| ReadError::Keep(e.to_string()))?;
		}
		self.store.put(bytes).map_err(|e| ReadError::Keep(e.to_string()))?;
		Ok(Received {
			hash,
			leaf: envelope.leaf(hash),
			opened,
			content,
			membership: None,
			notarization: Notarization::Pending,
		})
	}

	/// Reads the chain for `received`'s anchor (by its membership, or as an envelope
	/// anchored alone): final at the finalized block, anchored at the best one, else it
	/// stays as it was. A final anchor needs the sender's key valid at its block.
	pub async fn check_notarization(&self, received: &mut Received) -> Result<(), ReadError> {
		self.check_with(received, &mut AnchorReads::default()).await
	}

	async fn check_with(
		&self,
		received: &mut Received,
		reads: &mut AnchorReads,
	) -> Result<(), ReadError> {
		if matches!(received.notarization, Notarization::Final(_)) {
			return Ok(());
		}
		let membership = received.membership.clone().unwrap_or_else(|| BatchMembership {
			root: single_root(&received.leaf.value()),
			proof: single_proof(),
		});
		let (chain, sender, leaf) = (&self.chain, &received.opened.sender, &received.leaf);
		if let Some(block) =
			reads.anchored_at(chain, sender, leaf, &membership, At::Finalized).await?
		{
			if !self.key_valid_at(sender, block).await? {
				return Err(ReadError::SenderKeyNotValid { sender: sender.clone(), block });
			}
			received.notarization = Notarization::Final(block);
		} else if let Some(block) =
			reads.anchored_at(chain, sender, leaf, &membership, At::Best).await?
		{
			received.notarization = Notarization::Anchored(block);
		} else {
			return Ok(());
		}
		if received.membership.is_none() {
			self.store
				.put_membership(&received.hash, &membership)
				.map_err(|e| ReadError::Keep(e.to_string()))?;
			received.membership = Some(membership);
		}
		Ok(())
	}

	/// The mail kept at every chosen host, one entry per envelope (hosts keep copies of the
	/// same envelope; its recomputed hash identifies it), 1:1 mail first so group keys
	/// arrive before the group mail they open.
	pub async fn fetch(&self) -> Result<Vec<MailboxEntry>, ClientError> {
		let mut entries: Vec<(H256, MailboxEntry)> = Vec::new();
		for mailbox in self.mailboxes().await? {
			for entry in mailbox.fetch().await? {
				let hash = hash_of(&entry.envelope);
				if !entries.iter().any(|(h, _)| *h == hash) {
					entries.push((hash, entry));
				}
			}
		}
		entries.sort_by_key(|(_, e)| (is_group(&e.envelope), e.position));
		Ok(entries.into_iter().map(|(_, e)| e).collect())
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
			let items: Vec<Value> = chunk.iter().filter_map(|r| receipt_item(r)).collect();
			let fields = vec![Value::unnamed_composite(items)];
			let mut attempts = 0;
			let included = loop {
				match self
					.transact("Messaging", "acknowledge", fields.clone(), wait, progress)
					.await
				{
					Err(e) if e.is_pallet_error("AlreadyAcknowledgedInBlock") && attempts < 4 => {
						attempts += 1;
						tokio::time::sleep(Duration::from_secs(1)).await;
					}
					result => break result?,
				}
			};
			for r in chunk {
				self.store.mark_acknowledged(&r.hash)?;
			}
			out.push(included);
		}
		Ok(out)
	}

	/// Reads mail: what the hosts keep, and with `follow` what arrives, reporting each
	/// [`Update`] to `on_update` — a message as soon as it opens, then its notarization as
	/// it advances — and acknowledging final messages in batches. Returns when `count`
	/// messages were shown and settled, at `timeout`, or (without `follow`) once every
	/// message read has settled.
	pub async fn read_mail(
		&mut self,
		options: ReadOptions,
		on_update: &mut (dyn FnMut(&Update) + Send),
	) -> Result<(), ClientError> {
		let mut events = self.mail_events(options.follow).await?;
		let started = Instant::now();
		let mut tracked: HashMap<H256, Tracked> = HashMap::new();
		let mut retrying: Vec<(MailboxEntry, Instant)> = Vec::new();
		let mut last_ack = Instant::now();
		let mut tick = tokio::time::interval(Duration::from_millis(500));
		let mut fetched = false;
		let mut open = true;
		loop {
			// Events are taken as they come; the chain is read once per tick.
			tokio::select! {
				event = events.recv(), if open => {
					match event {
						Some(Some(event)) => self.on_event(event, &mut tracked, &mut retrying, on_update).await,
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
			for (entry, since) in std::mem::take(&mut retrying) {
				self.show(entry, since, &mut tracked, &mut retrying, on_update).await;
			}
			self.advance(&mut tracked, on_update).await;
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
			let counted = options.count.map_or(!options.follow, |n| tracked.len() >= n);
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
	) -> Result<mpsc::UnboundedReceiver<Option<MailEvent<BlockNumber>>>, ClientError> {
		let (tx, rx) = mpsc::unbounded_channel();
		let mailboxes = self.mailboxes().await?;
		let (fetched_tx, mut fetched_rx) = mpsc::unbounded_channel::<()>();
		let hosts = mailboxes.len();
		for mailbox in mailboxes {
			let tx = tx.clone();
			let fetched_tx = fetched_tx.clone();
			tokio::spawn(async move {
				let mut first = true;
				loop {
					// Subscribe before fetching so nothing falls between the two.
					let subscription = if follow { mailbox.subscribe().await.ok() } else { None };
					for entry in mailbox.fetch().await.unwrap_or_default() {
						if tx.send(Some(MailEvent::Mail(entry))).is_err() {
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
						if tx.send(Some(event)).is_err() {
							return;
						}
						if missed {
							for entry in mailbox.fetch().await.unwrap_or_default() {
								if tx.send(Some(MailEvent::Mail(entry))).is_err() {
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
			let _ = tx.send(None);
		});
		Ok(rx)
	}

	async fn on_event(
		&mut self,
		event: MailEvent<BlockNumber>,
		tracked: &mut HashMap<H256, Tracked>,
		retrying: &mut Vec<(MailboxEntry, Instant)>,
		on_update: &mut (dyn FnMut(&Update) + Send),
	) {
		match event {
			MailEvent::Mail(entry) => {
				let hash = hash_of(&entry.envelope);
				match tracked.get_mut(&hash) {
					// Another host's copy (or a re-delivery after its anchor) may say more.
					Some(t) => {
						if let (
							None,
							Claim::Anchored { membership, .. } | Claim::Final { membership, .. },
						) = (&t.received.membership, &entry.notarization)
						{
							t.received.membership = Some(membership.clone());
						}
					}
					None => self.show(entry, Instant::now(), tracked, retrying, on_update).await,
				}
			}
			MailEvent::Anchored { hash, membership, .. } => {
				if let Some(t) = tracked.get_mut(&hash) {
					t.received.membership.get_or_insert(membership);
					t.check = true;
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
		&mut self,
		entry: MailboxEntry,
		since: Instant,
		tracked: &mut HashMap<H256, Tracked>,
		retrying: &mut Vec<(MailboxEntry, Instant)>,
		on_update: &mut (dyn FnMut(&Update) + Send),
	) {
		let hash = hash_of(&entry.envelope);
		if tracked.contains_key(&hash) {
			return;
		}
		match self.open_mail(&entry).await {
			Ok(received) => {
				on_update(&Update::Shown(received.clone()));
				let acknowledged = self.store.acknowledged(&hash);
				let shown_at = Instant::now();
				let tracked_message =
					Tracked { received, shown_at, dropped: false, check: false, acknowledged };
				tracked.insert(hash, tracked_message);
			}
			Err(error) if error.may_resolve() && since.elapsed() < RETRY_FOR => {
				retrying.push((entry, since))
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
			.map(|t| {
				let root = t
					.received
					.membership
					.as_ref()
					.map_or_else(|| single_root(&t.received.leaf.value()), |m| m.root);
				(t.received.opened.sender.clone(), root)
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
			if let Err(error) = self.check_with(&mut t.received, &mut reads).await {
				if !error.may_resolve() {
					let hash = t.received.hash;
					t.received.notarization = Notarization::NotNotarized;
					t.check = false;
					on_update(&Update::Rejected { hash, error });
				}
				continue;
			}
			// A host saw the anchor before this node did: look again next pass.
			t.check =
				t.received.notarization == Notarization::Pending && t.received.membership.is_some();
			if t.received.notarization == Notarization::Pending && overdue {
				t.received.notarization = Notarization::NotNotarized;
			}
			if t.received.notarization != before {
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
		("sender", account_value(&received.opened.sender)),
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
