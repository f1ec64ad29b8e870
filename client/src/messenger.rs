//! What a user does: publish keys, send to a person or a group, manage groups with key
//! rotation, read mail with every check, and acknowledge it.
//!
//! A received envelope is accepted only if its hash is anchored at the finalized block,
//! the anchor matches it, the sender's encryption key was valid at the anchoring block,
//! and it opens and its signature verifies; each failure is its own [`ReadError`].
//!
//! Group keys travel as 1:1 envelopes ([`Content::GroupKey`]) anchored in the same
//! transaction as the rotation, whose on-chain commitment for each member is the hash of
//! that member's key envelope: a member accepts a group key only if the chain commits to
//! exactly the envelope that carried it.

use crate::{
	chain::{account_value, hash_value, Chain, ChainError, Included, Progress, Wait},
	hosts::{self, Mailbox, MailboxEntry},
	keystore::{GroupKey, Keystore, KeystoreError},
	seal::{self, Letter, OpenWith, Opened, SealError, SealFor},
	store::MailStore,
	BlockNumber,
};
use codec::{Decode, Encode};
use quarks_primitives::{
	envelope::{hash_of, Envelope},
	AnchorRecord, Destination, Epoch, GroupId, KeyRecord, KeyVersion,
};
use rand_core::{OsRng, RngCore};
use sp_core::{crypto::AccountId32, sr25519, Pair as _, H256};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use subxt::dynamic::Value;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

/// What a letter carries.
#[derive(Encode, Decode, Clone, PartialEq, Eq, Debug)]
pub enum Content {
	/// A text message.
	Text(String),
	/// The key of a group epoch, for one member.
	GroupKey {
		/// The group.
		group: GroupId,
		/// The epoch.
		epoch: Epoch,
		/// The key.
		key: [u8; 32],
	},
}

/// An anchor as the chain keeps it.
pub type Anchor = AnchorRecord<AccountId32, BlockNumber>;

/// A group's state on chain.
#[derive(Decode, Clone, Debug, PartialEq, Eq)]
pub struct GroupInfo {
	/// Current members.
	pub members: u32,
	/// Current admins.
	pub admins: u32,
	/// The open epoch.
	pub epoch: Epoch,
	/// Whether its key was posted.
	pub rotated: bool,
}

/// One member's entry in a key rotation.
#[derive(Encode, Decode, Clone, Debug, PartialEq, Eq)]
pub struct WrappedKey {
	/// The member.
	pub member: AccountId32,
	/// The member's key version the group key was sealed to.
	pub key_version: KeyVersion,
	/// The hash of the envelope carrying the group key to the member.
	pub commitment: H256,
}

/// Why an operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
	/// The keystore.
	#[error(transparent)]
	Keystore(#[from] KeystoreError),
	/// The chain or a node.
	#[error(transparent)]
	Chain(#[from] ChainError),
	/// Sealing.
	#[error(transparent)]
	Seal(#[from] SealError),
	/// The local mail store.
	#[error("mail store: {0}")]
	Store(#[from] std::io::Error),
	/// The recipient (or a group member) has no valid encryption key on chain.
	#[error("{0} has no valid encryption key on chain; they must register one first")]
	NoKey(AccountId32),
	/// The group does not exist.
	#[error("group {0} does not exist")]
	NoGroup(GroupId),
	/// The group's open epoch has no key yet.
	#[error("group {group} is waiting for an admin to rotate the key of epoch {epoch}")]
	GroupNotRotated {
		/// The group.
		group: GroupId,
		/// Its open epoch.
		epoch: Epoch,
	},
	/// This identity does not hold the key of the group epoch.
	#[error("no key for group {group} epoch {epoch}: not a member, or the key has not arrived")]
	NoGroupKey {
		/// The group.
		group: GroupId,
		/// The epoch.
		epoch: Epoch,
	},
}

/// Why a received envelope was rejected.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
	/// It does not open or verify.
	#[error(transparent)]
	Seal(#[from] SealError),
	/// Its hash is not anchored at the finalized block (yet, or ever).
	#[error("not anchored on chain (at the finalized block)")]
	Unanchored,
	/// The anchor names another sender, destination or size class.
	#[error("does not match its on-chain anchor (sender, destination or size class)")]
	AnchorMismatch,
	/// The sender had no valid encryption key when the anchor was recorded.
	#[error("sender {sender} had no valid key at the anchoring block {block}")]
	SenderKeyNotValid {
		/// The sender.
		sender: AccountId32,
		/// The anchoring block.
		block: BlockNumber,
	},
	/// The group epoch's key is not held.
	#[error("no key for group {group} epoch {epoch}: not a member of that epoch, or its key has not arrived")]
	NoGroupKey {
		/// The group.
		group: GroupId,
		/// The epoch.
		epoch: Epoch,
	},
	/// A group key whose envelope the chain's rotation record does not commit to.
	#[error("group key for group {group} epoch {epoch} is not committed on chain for this member")]
	UncommittedGroupKey {
		/// The group.
		group: GroupId,
		/// The epoch.
		epoch: Epoch,
	},
	/// The letter's content is not a Quarks message.
	#[error("content is not a Quarks message")]
	UnknownContent,
	/// The chain could not be asked.
	#[error(transparent)]
	Chain(#[from] ChainError),
	/// A key or the envelope could not be kept.
	#[error("keeping the message failed: {0}")]
	Keep(String),
}

impl ReadError {
	/// Whether reading again later may succeed (the anchor or the group key may still come).
	pub fn may_resolve(&self) -> bool {
		matches!(self, Self::Unanchored | Self::NoGroupKey { .. } | Self::Chain(_))
	}
}

/// A received envelope that passed every check.
#[derive(Clone, Debug)]
pub struct Received {
	/// Its hash.
	pub hash: H256,
	/// Its anchor.
	pub anchor: Anchor,
	/// The opened envelope.
	pub opened: Opened,
	/// What it says.
	pub content: Content,
}

/// A sent envelope.
#[derive(Clone, Debug)]
pub struct Sent {
	/// Its hash.
	pub hash: H256,
	/// Where it went.
	pub destination: Destination<AccountId32>,
	/// The anchoring transaction.
	pub included: Included,
}

fn now_ms() -> u64 {
	SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// A destination as a dynamic value.
pub fn destination_value(destination: &Destination<AccountId32>) -> Value {
	match destination {
		Destination::Direct(account) => Value::unnamed_variant("Direct", [account_value(account)]),
		Destination::Group { group, epoch } => Value::named_variant(
			"Group",
			[("group", Value::u128((*group).into())), ("epoch", Value::u128((*epoch).into()))],
		),
	}
}

fn anchor_call(hash: &H256, destination: &Destination<AccountId32>, class: u8) -> Value {
	Value::unnamed_variant(
		"Messaging",
		[Value::named_variant(
			"anchor",
			[
				("envelope", hash_value(hash)),
				("destination", destination_value(destination)),
				("size_class", Value::u128(class.into())),
			],
		)],
	)
}

/// The encryption key `who` has at the finalized block.
pub async fn current_key(
	chain: &Chain,
	who: &AccountId32,
) -> Result<Option<KeyRecord<BlockNumber>>, ChainError> {
	chain.view("Keys", "current_key", vec![account_value(who)]).await
}

/// The encryption key `who` had at block `at`.
pub async fn key_at(
	chain: &Chain,
	who: &AccountId32,
	at: BlockNumber,
) -> Result<Option<KeyRecord<BlockNumber>>, ChainError> {
	chain.view("Keys", "key_at", vec![account_value(who), Value::u128(at.into())]).await
}

/// The anchor recorded under `hash`, at the finalized block.
pub async fn anchor_of(chain: &Chain, hash: &H256) -> Result<Option<Anchor>, ChainError> {
	chain.runtime_api("HostingApi_anchor", &hash.encode()).await
}

/// A group's state.
pub async fn group_info(chain: &Chain, group: GroupId) -> Result<Option<GroupInfo>, ChainError> {
	chain.view("Groups", "group", vec![Value::u128(group.into())]).await
}

/// The current members of `group`.
pub async fn group_members(chain: &Chain, group: GroupId) -> Result<Vec<AccountId32>, ChainError> {
	chain
		.storage_entries("Groups", "Members", vec![Value::u128(group.into())])
		.await?
		.iter()
		.map(|(key, _)| hosts::last_account(key))
		.collect()
}

/// The rotation record of `group`'s `epoch`.
pub async fn rotation(
	chain: &Chain,
	group: GroupId,
	epoch: Epoch,
) -> Result<Vec<WrappedKey>, ChainError> {
	let keys = vec![Value::u128(group.into()), Value::u128(epoch.into())];
	match chain.storage_value("Groups", "Rotations", keys).await? {
		Some(value) => Vec::<WrappedKey>::decode(&mut &value[..])
			.map_err(|e| ChainError::Decode(format!("rotation: {e}"))),
		None => Ok(Vec::new()),
	}
}

/// One identity's session with the network.
pub struct Messenger {
	/// The node this session talks to.
	pub chain: Chain,
	/// The identity.
	pub keystore: Keystore,
	/// Envelopes sent and read.
	pub store: MailStore,
	pair: sr25519::Pair,
	account: AccountId32,
}

impl Messenger {
	/// A session for `keystore` through `chain`.
	pub fn new(chain: Chain, keystore: Keystore) -> Result<Self, ClientError> {
		let pair = keystore.identity.pair()?;
		let store = MailStore::beside(keystore.path());
		Ok(Self { chain, keystore, store, account: pair.public().into(), pair })
	}

	/// The account.
	pub fn account(&self) -> &AccountId32 {
		&self.account
	}

	/// The account key pair.
	pub fn pair(&self) -> &sr25519::Pair {
		&self.pair
	}

	/// Publishes the identity's newest encryption key, valid for `lifetime` blocks; with
	/// `rotate`, first makes a new one (older secrets stay to read old mail until their
	/// keys expire). The secret is saved before the transaction is sent, so it is never
	/// lost if the chain accepts the key. Returns the version and expiry.
	pub async fn publish_key(
		&mut self,
		lifetime: BlockNumber,
		rotate: bool,
		wait: Wait,
		progress: &mut (dyn FnMut(Progress) + Send),
	) -> Result<(KeyVersion, BlockNumber), ClientError> {
		let identity = &mut self.keystore.identity;
		if rotate || identity.newest().is_none_or(|s| s.version.is_some()) {
			identity.add_encryption_secret();
		}
		self.keystore.save()?;
		let public = self.keystore.identity.newest().map(|s| s.public()).unwrap_or_default();
		let expires_at = self.chain.finalized().await?.saturating_add(lifetime);
		let included = self
			.chain
			.submit(
				&self.pair,
				"Keys",
				"publish_key",
				vec![Value::from_bytes(public), Value::u128(expires_at.into())],
				wait,
				progress,
			)
			.await?;
		let (_, version, _, _, expires_at): (
			AccountId32,
			KeyVersion,
			[u8; 32],
			BlockNumber,
			BlockNumber,
		) = included.event("Keys", "KeyPublished")?;
		let identity = &mut self.keystore.identity;
		identity.published(version, expires_at);
		identity.forget_expired(included.block_number);
		self.keystore.save()?;
		Ok((version, expires_at))
	}

	/// Sends `text` to `to`: seals it to their current key, hands it to the node for
	/// relay and anchors its hash.
	pub async fn send_direct(
		&self,
		to: &AccountId32,
		text: &str,
		wait: Wait,
		progress: &mut (dyn FnMut(Progress) + Send),
	) -> Result<Sent, ClientError> {
		let key =
			current_key(&self.chain, to).await?.ok_or_else(|| ClientError::NoKey(to.clone()))?;
		let letter = Letter { sent_at: now_ms(), content: Content::Text(text.into()).encode() };
		let envelope = seal::seal(
			&self.pair,
			SealFor::Direct { account: to, key: &key.key, version: key.version },
			&letter,
		)?;
		self.dispatch(envelope, wait, progress).await
	}

	/// Sends `text` to `group` under its current epoch's key.
	pub async fn send_group(
		&self,
		group: GroupId,
		text: &str,
		wait: Wait,
		progress: &mut (dyn FnMut(Progress) + Send),
	) -> Result<Sent, ClientError> {
		let info = group_info(&self.chain, group).await?.ok_or(ClientError::NoGroup(group))?;
		if !info.rotated {
			return Err(ClientError::GroupNotRotated { group, epoch: info.epoch });
		}
		let key = self
			.keystore
			.identity
			.group_key(group, info.epoch)
			.ok_or(ClientError::NoGroupKey { group, epoch: info.epoch })?;
		let letter = Letter { sent_at: now_ms(), content: Content::Text(text.into()).encode() };
		let envelope = seal::seal(
			&self.pair,
			SealFor::Group { group, epoch: info.epoch, key: &key },
			&letter,
		)?;
		self.dispatch(envelope, wait, progress).await
	}

	/// Keeps `envelope`, hands it to the node and anchors it.
	async fn dispatch(
		&self,
		envelope: Vec<u8>,
		wait: Wait,
		progress: &mut (dyn FnMut(Progress) + Send),
	) -> Result<Sent, ClientError> {
		let decoded =
			Envelope::<AccountId32>::decode_checked(&envelope).map_err(SealError::Malformed)?;
		let hash = self.store.put(&envelope)?;
		self.relay(&envelope).await?;
		progress(Progress::Relaying);
		let included = self
			.chain
			.submit(
				&self.pair,
				"Messaging",
				"anchor",
				vec![
					hash_value(&hash),
					destination_value(&decoded.destination),
					Value::u128(decoded.size_class.into()),
				],
				wait,
				progress,
			)
			.await?;
		Ok(Sent { hash, destination: decoded.destination, included })
	}

	async fn relay(&self, envelope: &[u8]) -> Result<H256, ChainError> {
		self.chain
			.rpc()
			.request(
				"quarks_submitEnvelope",
				subxt::rpcs::rpc_params![
					array_bytes::bytes2hex("0x", envelope),
					Option::<String>::None
				],
			)
			.await
	}

	/// Creates a group of the signer and `members` (each needs a valid key) and posts
	/// its first key. Waits for finality so the group can be used at once.
	pub async fn create_group(
		&mut self,
		members: &[AccountId32],
		progress: &mut (dyn FnMut(Progress) + Send),
	) -> Result<GroupId, ClientError> {
		let members = Value::unnamed_composite(members.iter().map(account_value));
		let included = self
			.chain
			.submit(&self.pair, "Groups", "create_group", vec![members], Wait::Finalized, progress)
			.await?;
		let (group, _, _): (GroupId, AccountId32, u32) =
			included.event("Groups", "GroupCreated")?;
		self.rotate_group(group, progress).await?;
		Ok(group)
	}

	/// Adds `who` to `group` and rotates its key (the signer must be an admin).
	pub async fn add_member(
		&mut self,
		group: GroupId,
		who: &AccountId32,
		progress: &mut (dyn FnMut(Progress) + Send),
	) -> Result<Epoch, ClientError> {
		self.change_membership("add_member", group, who, progress).await
	}

	/// Removes `who` from `group` and rotates its key, so `who` cannot read what follows.
	pub async fn remove_member(
		&mut self,
		group: GroupId,
		who: &AccountId32,
		progress: &mut (dyn FnMut(Progress) + Send),
	) -> Result<Epoch, ClientError> {
		self.change_membership("remove_member", group, who, progress).await
	}

	async fn change_membership(
		&mut self,
		call: &str,
		group: GroupId,
		who: &AccountId32,
		progress: &mut (dyn FnMut(Progress) + Send),
	) -> Result<Epoch, ClientError> {
		self.chain
			.submit(
				&self.pair,
				"Groups",
				call,
				vec![Value::u128(group.into()), account_value(who)],
				Wait::Finalized,
				progress,
			)
			.await?;
		self.rotate_group(group, progress).await
	}

	/// Leaves `group`; an admin must then rotate its key for the others.
	pub async fn leave_group(
		&self,
		group: GroupId,
		progress: &mut (dyn FnMut(Progress) + Send),
	) -> Result<Included, ClientError> {
		Ok(self
			.chain
			.submit(
				&self.pair,
				"Groups",
				"leave",
				vec![Value::u128(group.into())],
				Wait::Finalized,
				progress,
			)
			.await?)
	}

	/// Posts a fresh key for `group`'s open epoch: one key envelope per current member,
	/// anchored in the same transaction as the rotation that commits to them. Returns the
	/// epoch; an epoch already rotated is left alone.
	pub async fn rotate_group(
		&mut self,
		group: GroupId,
		progress: &mut (dyn FnMut(Progress) + Send),
	) -> Result<Epoch, ClientError> {
		let info = group_info(&self.chain, group).await?.ok_or(ClientError::NoGroup(group))?;
		if info.rotated {
			return Ok(info.epoch);
		}
		let epoch = info.epoch;
		let mut key = [0u8; 32];
		OsRng.fill_bytes(&mut key);
		let letter =
			Letter { sent_at: now_ms(), content: Content::GroupKey { group, epoch, key }.encode() };

		let mut wrapped = Vec::new();
		let mut envelopes = Vec::new();
		for member in group_members(&self.chain, group).await? {
			let record = current_key(&self.chain, &member)
				.await?
				.ok_or_else(|| ClientError::NoKey(member.clone()))?;
			let envelope = seal::seal(
				&self.pair,
				SealFor::Direct { account: &member, key: &record.key, version: record.version },
				&letter,
			)?;
			let commitment = hash_of(&envelope);
			wrapped.push(Value::named_composite([
				("member", account_value(&member)),
				("key_version", Value::u128(record.version.into())),
				("commitment", hash_value(&commitment)),
			]));
			envelopes.push((member, commitment, envelope));
		}

		// Kept before anything is sent: a rotation the chain accepts is never unreadable.
		self.keystore.identity.add_group_key(GroupKey { group, epoch, key });
		self.keystore.save()?;
		let mut calls = vec![Value::unnamed_variant(
			"Groups",
			[Value::named_variant(
				"rotate_key",
				[
					("group", Value::u128(group.into())),
					("epoch", Value::u128(epoch.into())),
					("wrapped", Value::unnamed_composite(wrapped)),
				],
			)],
		)];
		for (member, commitment, envelope) in &envelopes {
			self.store.put(envelope)?;
			self.relay(envelope).await?;
			let decoded =
				Envelope::<AccountId32>::decode_checked(envelope).map_err(SealError::Malformed)?;
			calls.push(anchor_call(
				commitment,
				&Destination::Direct(member.clone()),
				decoded.size_class,
			));
		}
		progress(Progress::Relaying);
		self.chain
			.submit(
				&self.pair,
				"Utility",
				"batch_all",
				vec![Value::unnamed_composite(calls)],
				Wait::Finalized,
				progress,
			)
			.await?;
		Ok(epoch)
	}

	/// Checks and opens a received envelope: anchored at the finalized block, matching
	/// its anchor, the sender's key valid at the anchoring block, decrypted and signed. A
	/// group key is kept if the chain commits to it. The envelope is kept locally.
	pub async fn read(&mut self, bytes: &[u8]) -> Result<Received, ReadError> {
		let envelope =
			Envelope::<AccountId32>::decode_checked(bytes).map_err(SealError::Malformed)?;
		let hash = hash_of(bytes);
		let anchor = anchor_of(&self.chain, &hash).await?.ok_or(ReadError::Unanchored)?;
		if !envelope.matches(&anchor) {
			return Err(ReadError::AnchorMismatch);
		}
		if key_at(&self.chain, &envelope.sender, anchor.anchored_at).await?.is_none() {
			return Err(ReadError::SenderKeyNotValid {
				sender: envelope.sender,
				block: anchor.anchored_at,
			});
		}
		let identity = &self.keystore.identity;
		let opened = match envelope.destination {
			Destination::Direct(_) => seal::open(
				bytes,
				OpenWith::Direct { me: &self.account, secret: &|v| identity.secret_for(v) },
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
			let committed = rotation(&self.chain, *group, *epoch)
				.await?
				.iter()
				.any(|w| w.member == self.account && w.commitment == hash);
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
		Ok(Received { hash, anchor, opened, content })
	}

	/// Records delivery receipts for `hashes` (single anchors) not acknowledged before, at
	/// most 128 per transaction, and remembers them so none is sent twice.
	pub async fn acknowledge(
		&self,
		hashes: &[H256],
		wait: Wait,
		progress: &mut (dyn FnMut(Progress) + Send),
	) -> Result<Vec<Included>, ClientError> {
		let fresh: Vec<H256> =
			hashes.iter().filter(|h| !self.store.acknowledged(h)).copied().collect();
		let mut out = Vec::new();
		for chunk in fresh.chunks(128) {
			let items = chunk.iter().map(|hash| {
				Value::named_composite([
					("anchor", hash_value(hash)),
					("envelope", hash_value(hash)),
					("proof", Value::unnamed_variant("None", [])),
				])
			});
			out.push(
				self.chain
					.submit(
						&self.pair,
						"Messaging",
						"acknowledge_batch",
						vec![Value::unnamed_composite(items)],
						wait,
						progress,
					)
					.await?,
			);
			for hash in chunk {
				self.store.mark_acknowledged(hash)?;
			}
		}
		Ok(out)
	}

	/// Connections to the mailbox at every host this identity chose.
	pub async fn mailboxes(&self) -> Result<Vec<Mailbox>, ClientError> {
		let mut out = Vec::new();
		for host in hosts::chosen(&self.chain, &self.account).await? {
			out.push(Mailbox::connect(host, self.pair.clone(), self.chain.genesis()).await?);
		}
		Ok(out)
	}

	/// Every envelope stored for this identity at its chosen hosts, as it arrives: each
	/// host's push subscription, preceded by a fetch of what it already keeps, and
	/// renewed after a dropped connection (subscriptions do not survive a reconnect).
	/// The same envelope may come from several hosts.
	pub async fn follow(&self) -> Result<UnboundedReceiver<MailboxEntry>, ClientError> {
		let (tx, rx) = unbounded_channel();
		for mailbox in self.mailboxes().await? {
			let tx = tx.clone();
			tokio::spawn(async move {
				loop {
					// Subscribe before fetching so nothing falls between the two.
					let subscription = mailbox.subscribe().await;
					for entry in mailbox.fetch().await.unwrap_or_default() {
						if tx.send(entry).is_err() {
							return;
						}
					}
					if let Ok(mut subscription) = subscription {
						while let Some(Ok(entry)) = subscription.next().await {
							if tx.send(entry).is_err() {
								return;
							}
						}
					}
					tokio::time::sleep(Duration::from_secs(1)).await;
				}
			});
		}
		Ok(rx)
	}

	/// Fetches the mail kept at every chosen host, one entry per envelope (hosts keep
	/// copies of the same envelope), key envelopes first so group mail opens.
	pub async fn fetch(&self) -> Result<Vec<MailboxEntry>, ClientError> {
		let mut entries: Vec<MailboxEntry> = Vec::new();
		for mailbox in self.mailboxes().await? {
			for entry in mailbox.fetch().await? {
				if !entries.iter().any(|e| e.hash == entry.hash) {
					entries.push(entry);
				}
			}
		}
		entries.sort_by_key(|e| (is_group(&e.envelope), e.anchored_at));
		Ok(entries)
	}
}

fn is_group(bytes: &[u8]) -> bool {
	Envelope::<AccountId32>::decode_checked(bytes)
		.is_ok_and(|e| matches!(e.destination, Destination::Group { .. }))
}
