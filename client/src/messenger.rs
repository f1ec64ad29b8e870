//! One identity's session with the network: its keystore, its connection to a node and
//! its local mail store. What a session does lives with its concern: [`crate::send`],
//! [`crate::inbox`], [`crate::groups`], [`crate::proofs`].

use crate::{
	chain::{Chain, ChainError, Included, Progress, Wait},
	error::ClientError,
	hosts::{self, Mailbox},
	keystore::Keystore,
	queries,
	store::MailStore,
	BlockNumber,
};
use parking_lot::Mutex;
use quarks_primitives::{KeyRecord, KeyVersion};
use sp_core::{crypto::AccountId32, sr25519, Pair as _};
use std::{
	collections::HashMap,
	time::{Duration, Instant},
};
use subxt::dynamic::Value;

/// How long a sender's current key, once read, is taken as still current when reading
/// its mail (the final notarization checks the key at the anchoring block anyway).
const KEY_CACHE: Duration = Duration::from_secs(30);

/// One identity's session with the network.
pub struct Messenger {
	/// The node this session talks to.
	pub chain: Chain,
	/// The identity.
	pub keystore: Keystore,
	/// Envelopes sent and read, with their anchors.
	pub store: MailStore,
	pair: sr25519::Pair,
	account: AccountId32,
	/// Senders' current keys as last read, so a conversation costs no read per message.
	current_keys: Mutex<HashMap<AccountId32, (Option<KeyRecord<BlockNumber>>, Instant)>>,
	/// Key records read for past blocks: which key was valid at a past block never changes.
	past_keys: Mutex<HashMap<AccountId32, Vec<KeyRecord<BlockNumber>>>>,
}

impl Messenger {
	/// A session for `keystore` through `chain`.
	pub fn new(chain: Chain, keystore: Keystore) -> Result<Self, ClientError> {
		let pair = keystore.identity.pair()?;
		let store = MailStore::beside(keystore.path());
		Ok(Self {
			chain,
			keystore,
			store,
			account: pair.public().into(),
			pair,
			current_keys: Mutex::default(),
			past_keys: Mutex::default(),
		})
	}

	/// The account.
	pub fn account(&self) -> &AccountId32 {
		&self.account
	}

	/// The account key pair.
	pub fn pair(&self) -> &sr25519::Pair {
		&self.pair
	}

	/// The current key of sender `who`, read at most every [`KEY_CACHE`], so reading a
	/// conversation costs no chain read per message.
	pub async fn sender_key(
		&self,
		who: &AccountId32,
	) -> Result<Option<KeyRecord<BlockNumber>>, ChainError> {
		if let Some((key, read)) = self.current_keys.lock().get(who) {
			if read.elapsed() < KEY_CACHE {
				return Ok(key.clone());
			}
		}
		let key = queries::current_key(&self.chain, who).await?;
		self.current_keys.lock().insert(who.clone(), (key.clone(), Instant::now()));
		Ok(key)
	}

	/// Whether sender `who` held a valid key at past block `at` (an anchoring block); one
	/// read per key version, however many messages.
	pub async fn key_valid_at(
		&self,
		who: &AccountId32,
		at: BlockNumber,
	) -> Result<bool, ChainError> {
		if self
			.past_keys
			.lock()
			.get(who)
			.is_some_and(|records| records.iter().any(|r| r.is_valid_at(&at)))
		{
			return Ok(true);
		}
		let Some(record) = queries::key_at(&self.chain, who, at).await? else { return Ok(false) };
		self.past_keys.lock().entry(who.clone()).or_default().push(record);
		Ok(true)
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
		self.current_keys.lock().remove(&self.account);
		Ok((version, expires_at))
	}

	/// Connections to the mailbox at every host this identity chose.
	pub async fn mailboxes(&self) -> Result<Vec<Mailbox>, ClientError> {
		let mut out = Vec::new();
		for host in hosts::chosen(&self.chain, &self.account).await? {
			out.push(Mailbox::connect(host, self.pair.clone(), self.chain.genesis()).await?);
		}
		Ok(out)
	}

	/// Submits `pallet::call(fields)` signed by this identity.
	pub(crate) async fn transact(
		&self,
		pallet: &str,
		call: &str,
		fields: Vec<Value>,
		wait: Wait,
		progress: &mut (dyn FnMut(Progress) + Send),
	) -> Result<Included, ChainError> {
		self.chain.submit(&self.pair, pallet, call, fields, wait, progress).await
	}
}
