//! One identity's session with the network: its keystore, this device's MLS state, its
//! connection to a node and its local mail store. What a session does lives with its
//! concern: [`crate::send`], [`crate::inbox`], [`crate::conversations`],
//! [`crate::proofs`], [`crate::contacts`].

use crate::{
	chain::{
		account_value,
		vocabulary::{self, Call},
		ChainError, Included, Progress, Qrk, Wait,
	},
	database::Database,
	error::ClientError,
	hosts::{self, Mailbox},
	keystore::Keystore,
	mls::{Device, MlsError},
	queries,
	store::MailStore,
	BlockNumber,
};
use parking_lot::Mutex;
use quarks_primitives::{DeviceKey, GroupId};
use sp_core::{crypto::AccountId32, sr25519, Pair as _};
use std::{
	collections::{HashMap, HashSet},
	path::PathBuf,
	time::{Duration, Instant},
};
use subxt::dynamic::Value;

use crate::chain::Chain;

/// One identity's session with the network.
pub struct Messenger {
	/// The node this session talks to.
	pub chain: Chain,
	/// The identity.
	pub keystore: Keystore,
	/// Envelopes sent and read, with their anchors and message keys.
	pub store: MailStore,
	/// Conversations and their messages.
	pub database: Database,
	pair: sr25519::Pair,
	account: AccountId32,
	device: Mutex<Device>,
	device_path: PathBuf,
	/// (sender, device, block) bindings already checked: a past binding never changes.
	bindings: Mutex<HashSet<(AccountId32, DeviceKey, BlockNumber)>>,
	/// When mail last made this device read a group's commits from the chain.
	caught_up: Mutex<HashMap<GroupId, Instant>>,
	/// When this device last restarted each group.
	restarted: Mutex<HashMap<GroupId, Instant>>,
}

/// Mail ahead of this device's epoch makes it read the group's commits from the chain at
/// most this often: mail claiming any epoch is free to send.
const CATCH_UP_EVERY: Duration = Duration::from_secs(1);

impl Messenger {
	/// A session for `keystore` through `chain`; this device's MLS state is read from
	/// beside the keystore, or started there.
	pub fn new(chain: Chain, keystore: Keystore) -> Result<Self, ClientError> {
		let pair = keystore.identity.pair()?;
		let account: AccountId32 = pair.public().into();
		let identity = &keystore.identity;
		let store = MailStore::beside(keystore.path(), identity.state_key);
		let database = Database::beside(keystore.path(), identity.state_key)?;
		// The 1:1 conversations a client before the database kept in the mail store.
		let old = store.old_conversations()?;
		for (peer, group) in &old {
			database.add_conversation(*group, Some(peer), 0)?;
		}
		if !old.is_empty() {
			store.remove_old_conversations()?;
		}
		// The finality this device proved, so a restart does not trust its node anew.
		let mut checkpoint = keystore.path().as_os_str().to_owned();
		checkpoint.push(".finality");
		chain.keep_checkpoint(PathBuf::from(checkpoint))?;
		let mut device_path = keystore.path().as_os_str().to_owned();
		device_path.push(".mls");
		let device_path = PathBuf::from(device_path);
		let device = if device_path.exists() {
			Device::open(&device_path, &identity.state_key)?
		} else {
			let device = Device::from_seed(account.clone(), identity.device_seed)?;
			device.save(&device_path, &identity.state_key)?;
			device
		};
		if device.account() != &account {
			return Err(
				MlsError::State("the device state belongs to another account".into()).into()
			);
		}
		Ok(Self {
			chain,
			keystore,
			store,
			database,
			account,
			pair,
			device: Mutex::new(device),
			device_path,
			bindings: Mutex::default(),
			caught_up: Mutex::default(),
			restarted: Mutex::default(),
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

	/// This device's key: its MLS credential.
	pub fn device_key(&self) -> DeviceKey {
		self.device.lock().signature_key()
	}

	/// Runs `change` on this device's MLS state and saves it once it succeeded (a failed
	/// change leaves the state as it was).
	pub(crate) fn with_device<R, E: From<MlsError>>(
		&self,
		change: impl FnOnce(&mut Device) -> Result<R, E>,
	) -> Result<R, E> {
		let mut device = self.device.lock();
		let result = change(&mut device)?;
		device.save(&self.device_path, &self.keystore.identity.state_key)?;
		Ok(result)
	}

	/// Reads this device's MLS state.
	pub(crate) fn device<R>(&self, read: impl FnOnce(&Device) -> R) -> R {
		read(&self.device.lock())
	}

	/// Whether mail of `group` may make this device read the chain for the group's
	/// commits now; if so, counts it.
	pub(crate) fn catch_up_due(&self, group: GroupId) -> bool {
		due(&self.caught_up, group, CATCH_UP_EVERY)
	}

	/// Whether this device may restart `group` now, at most once `every`; if so, counts it.
	pub(crate) fn restart_due(&self, group: GroupId, every: Duration) -> bool {
		due(&self.restarted, group, every)
	}

	/// Whether `device` was bound to `sender` at past block `at` (an anchoring block); one
	/// read per binding, however many messages.
	pub async fn device_bound_at(
		&self,
		sender: &AccountId32,
		device: &DeviceKey,
		at: BlockNumber,
	) -> Result<bool, ChainError> {
		let key = (sender.clone(), *device, at);
		if self.bindings.lock().contains(&key) {
			return Ok(true);
		}
		let bound = queries::device_at(&self.chain, sender, device, at).await?.is_some();
		if bound {
			self.bindings.lock().insert(key);
		}
		Ok(bound)
	}

	/// Registers this device on chain with a fresh key package valid for `lifetime`
	/// blocks: binds it to the account (with its proof) if it is not bound yet, else
	/// replaces its key package. Returns the package's expiry block.
	pub async fn register_device(
		&self,
		lifetime: BlockNumber,
		wait: Wait,
		progress: &mut (dyn FnMut(Progress) + Send),
	) -> Result<BlockNumber, ClientError> {
		let device = self.device_key();
		let bound = queries::devices(&self.chain, &self.account).await?.contains(&device);
		let block_ms = self.chain.block_time_ms().await?.max(1);
		let lifetime_secs = u64::from(lifetime).saturating_mul(block_ms) / 1000;
		let package = self.with_device(|d| d.key_package(lifetime_secs))?;
		let expires_at = self.chain.finalized().await?.saturating_add(lifetime);
		let key = Value::from_bytes(device);
		let (call, fields) = if bound {
			let fields = vec![key, Value::from_bytes(&package), Value::u128(expires_at.into())];
			(vocabulary::PUBLISH_KEY_PACKAGE, fields)
		} else {
			let proof = self.device(|d| d.binding_proof())?;
			let fields = vec![
				key,
				Value::from_bytes(proof),
				Value::from_bytes(&package),
				Value::u128(expires_at.into()),
			];
			(vocabulary::ADD_DEVICE, fields)
		};
		self.transact(call, fields, wait, progress).await?;
		Ok(expires_at)
	}

	/// What sending `amount` to `to` would cost this account in fees.
	pub async fn payment_fee(&self, to: &AccountId32, amount: Qrk) -> Result<Qrk, ClientError> {
		Ok(self.chain.fee(&self.pair, vocabulary::TRANSFER, payment(to, amount)).await?)
	}

	/// Sends `amount` to `to` (a newcomer's first funds, say), keeping this account alive.
	pub async fn pay(
		&self,
		to: &AccountId32,
		amount: Qrk,
		progress: &mut (dyn FnMut(Progress) + Send),
	) -> Result<Included, ClientError> {
		let fields = payment(to, amount);
		Ok(self.transact(vocabulary::TRANSFER, fields, Wait::Finalized, progress).await?)
	}

	/// Unbinds `device` (this account's) on chain from the next block on; the
	/// conversations it is in drop it at their next commit ([`Self::sync_groups`]).
	pub async fn remove_device(
		&self,
		device: &DeviceKey,
		progress: &mut (dyn FnMut(Progress) + Send),
	) -> Result<Included, ClientError> {
		let fields = vec![Value::from_bytes(device)];
		Ok(self.transact(vocabulary::REMOVE_DEVICE, fields, Wait::Finalized, progress).await?)
	}

	/// Drops this account's records of devices removed long enough ago (a week), which
	/// returns their part of its deposit, and all of it once none is left.
	pub async fn drop_device_records(
		&self,
		progress: &mut (dyn FnMut(Progress) + Send),
	) -> Result<Included, ClientError> {
		Ok(self.transact(vocabulary::DROP_RECORDS, vec![], Wait::Finalized, progress).await?)
	}

	/// Makes `hosts` the ones that keep this account's mail, checked first as the chain
	/// would check them (one or more, none twice, each admitted), so a refusal costs no fee.
	pub async fn choose_hosts(
		&self,
		hosts: &[AccountId32],
		progress: &mut (dyn FnMut(Progress) + Send),
	) -> Result<(), ClientError> {
		let refuse = |why: String| Err(ClientError::HostChoice(why));
		if hosts.is_empty() {
			return refuse(
				"choose at least one host: mail to an account with none is refused".into(),
			);
		}
		let admitted = hosts::admitted(&self.chain).await?;
		for (i, host) in hosts.iter().enumerate() {
			if hosts[..i].contains(host) {
				return refuse(format!("{host} is named twice"));
			}
			if !admitted.iter().any(|h| h.operator == *host) {
				return refuse(format!(
					"{host} is not an admitted host: `quarks hosts list` shows them"
				));
			}
		}
		hosts::choose(&self.chain, &self.pair, hosts, Wait::Finalized, progress).await?;
		Ok(())
	}

	/// Clears this account's choice of hosts, returning its deposit: no host keeps its
	/// mail from then on.
	pub async fn clear_hosts(
		&self,
		progress: &mut (dyn FnMut(Progress) + Send),
	) -> Result<(), ClientError> {
		hosts::clear(&self.chain, &self.pair, Wait::Finalized, progress).await?;
		Ok(())
	}

	/// Connections to the mailbox at every host this identity chose that can be reached
	/// (all at once); an error only if none can. Where the network allows no private
	/// endpoints, a host whose name resolves to one is not connected to.
	pub async fn mailboxes(&self) -> Result<Vec<Mailbox>, ClientError> {
		let genesis = self.chain.genesis();
		let public_only = !hosts::private_endpoints_allowed(&self.chain).await?;
		let connections =
			hosts::chosen(&self.chain, &self.account).await?.into_iter().map(|host| async move {
				if public_only {
					hosts::check_public(&host).await?;
				}
				Mailbox::connect(host, self.pair.clone(), genesis).await
			});
		let mut out = Vec::new();
		let mut failure = None;
		for connected in futures::future::join_all(connections).await {
			match connected {
				Ok(mailbox) => out.push(mailbox),
				Err(e) => failure = Some(e),
			}
		}
		match failure {
			Some(failure) if out.is_empty() => Err(failure.into()),
			_ => Ok(out),
		}
	}

	/// Submits `call(fields)` signed by this identity.
	pub(crate) async fn transact(
		&self,
		call: Call,
		fields: Vec<Value>,
		wait: Wait,
		progress: &mut (dyn FnMut(Progress) + Send),
	) -> Result<Included, ChainError> {
		self.chain.submit(&self.pair, call, fields, wait, progress).await
	}
}

/// `Balances::transfer_keep_alive`'s fields.
fn payment(to: &AccountId32, amount: Qrk) -> Vec<Value> {
	vec![Value::unnamed_variant("Id", [account_value(to)]), Value::u128(amount.0)]
}

/// Whether `group`'s last time in `last` is at least `every` ago (or none); if so, now is
/// its last time.
fn due(last: &Mutex<HashMap<GroupId, Instant>>, group: GroupId, every: Duration) -> bool {
	let mut last = last.lock();
	let due = last.get(&group).is_none_or(|at| at.elapsed() >= every);
	if due {
		last.insert(group, Instant::now());
	}
	due
}
