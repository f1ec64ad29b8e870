//! Conversations as MLS groups (RFC 9420, through `openmls`).
//!
//! Each device of an account is one MLS member: its credential names the account and its
//! Ed25519 signature key is the device's identity, which the account binds on chain. A
//! [`Device`] holds that key and every group the device is in, in an `openmls` storage
//! that [`Device::save`] writes encrypted at rest.
//!
//! The chain orders each group's commits: a member stages a commit ([`Device::commit`],
//! [`Device::update`]) and submits its hash, with the group's devices after it (its
//! roster), for the epoch it builds on; whichever commit the chain records for that epoch
//! is the one every member applies ([`Device::apply_commit`]), and only if it leaves the
//! group with the roster the chain checked. A member whose own commit lost drops it,
//! applies the winner and stages its change again on the new epoch, so members never fork.
//! A device joins from a welcome only into the epoch and roster the chain recorded.
//!
//! Forward secrecy: a message key is deleted once used, and a group keeps the secrets of
//! at most [`PAST_EPOCHS`] earlier epochs (for messages that arrive late). Future secrecy:
//! a member's [`Device::update`] replaces its leaf's keys, so whoever stole its state
//! before cannot follow the group past that commit.

use crate::files;
use aes_gcm::{
	aead::{Aead, KeyInit, OsRng, Payload},
	Aes256Gcm, Nonce,
};
use codec::{Decode, Encode};
use openmls::prelude::{
	tls_codec::{Deserialize as _, Serialize as _},
	BasicCredential, Capabilities, Ciphersuite, CredentialWithKey, ExtensionType, KeyPackage,
	KeyPackageIn, LeafNodeIndex, Lifetime, MlsGroup, MlsGroupCreateConfig, MlsMessageBodyIn,
	MlsMessageIn, MlsMessageOut, ProcessedMessageContent, ProtocolMessage, ProtocolVersion, Sender,
	SenderRatchetConfiguration, StagedWelcome, PURE_CIPHERTEXT_WIRE_FORMAT_POLICY,
};
use openmls_basic_credential::SignatureKeyPair;
use openmls_rust_crypto::{MemoryStorage, RustCrypto};
use openmls_traits::{signatures::Signer, OpenMlsProvider};
use quarks_primitives::{DeviceKey, GroupId, DEVICE_PROOF_TAG};
use rand_core::RngCore;
use sp_core::{crypto::AccountId32, Blake2Hasher, Hasher, Pair as _, H256};
use std::{collections::BTreeMap, fmt::Display, path::Path};
use zeroize::Zeroizing;

/// The one ciphersuite Quarks groups use.
pub const CIPHERSUITE: Ciphersuite = Ciphersuite::MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519;

/// Earlier epochs whose secrets a member keeps, so that a message sent just before a
/// commit can still be read; older epoch secrets are deleted.
pub const PAST_EPOCHS: usize = 2;

/// Messages of one sender that may arrive out of order within an epoch.
const OUT_OF_ORDER_TOLERANCE: u32 = 16;

/// How far ahead in one sender's chain a message may be (bounds the keys a hostile
/// sender can make a member derive and keep).
const MAX_FORWARD_DISTANCE: u32 = 1000;

/// Application messages are padded to a multiple of this many bytes, so their sizes
/// reveal little of the letter.
const PADDING: usize = 256;

/// Format tag and associated data of a saved device state.
const STATE_FORMAT: &[u8] = b"quarks-mls-state/1";

/// One device of an account, as a group sees it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct DeviceId {
	/// The account the credential names.
	pub account: AccountId32,
	/// The device's signature key, which the account binds on chain.
	pub signature_key: [u8; 32],
}

/// A staged commit, to be ordered by the chain before anyone applies it.
#[derive(Clone, Debug)]
pub struct Commit {
	/// The epoch the commit builds on; the chain accepts it only while that epoch is the
	/// group's current one.
	pub epoch: u64,
	/// The commit message, for every current member.
	pub message: Vec<u8>,
	/// What the chain records for the epoch.
	pub hash: H256,
	/// The group's devices after it, in ascending order, which the chain checks.
	pub roster: Vec<DeviceKey>,
	/// The welcome for the devices it adds, if any.
	pub welcome: Option<Vec<u8>>,
}

impl Commit {
	/// What the chain records if it orders this commit.
	pub fn ordered(&self) -> OrderedCommit {
		OrderedCommit { commit: self.hash, roster: roster_hash(&self.roster) }
	}
}

/// What the chain recorded for an epoch: the commit that opened it and the hash of the
/// group's devices after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderedCommit {
	/// The commit's hash ([`commit_hash`]).
	pub commit: H256,
	/// The roster's hash ([`roster_hash`]).
	pub roster: H256,
}

/// What applying an ordered commit changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Applied {
	/// The group's epoch now.
	pub epoch: u64,
	/// Devices the commit added.
	pub added: Vec<DeviceId>,
	/// Devices the commit removed.
	pub removed: Vec<DeviceId>,
	/// This device had staged a different commit for the same epoch; it was dropped and
	/// has to be staged again on the new epoch.
	pub own_commit_lost: bool,
	/// This device was removed and can read nothing of the group from now on.
	pub self_removed: bool,
}

/// An application message, opened and its signature checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Opened {
	/// The device that signed it.
	pub sender: DeviceId,
	/// The epoch it was sent in.
	pub epoch: u64,
	/// What it carries.
	pub plaintext: Vec<u8>,
}

/// Why an MLS operation failed. Nothing is changed by a failed operation.
#[derive(Debug, thiserror::Error)]
pub enum MlsError {
	/// The device is not in the group (never joined, or removed).
	#[error("this device is not in group {0}")]
	NotInGroup(GroupId),
	/// The group already exists on this device.
	#[error("group {0} already exists on this device")]
	GroupExists(GroupId),
	/// Bytes that are not the MLS message or key package they should be.
	#[error("malformed {what}: {reason}")]
	Malformed {
		/// What was expected.
		what: &'static str,
		/// Why it does not parse.
		reason: String,
	},
	/// A commit whose hash is not the one the chain ordered for its epoch.
	#[error("commit {got:?} is not the one the chain ordered ({ordered:?})")]
	NotOrdered {
		/// The commit's hash.
		got: H256,
		/// The hash the chain recorded.
		ordered: H256,
	},
	/// The group's devices after a commit or welcome are not the roster the chain checked.
	#[error("the group's devices are not the roster the chain recorded for epoch {0}")]
	RosterMismatch(u64),
	/// A welcome into another group or epoch than the one it claims.
	#[error("the welcome is for group {group} epoch {epoch}, not the one it was sent for")]
	WrongWelcome {
		/// The group it opens.
		group: GroupId,
		/// The epoch it opens.
		epoch: u64,
	},
	/// A welcome for another device (of the same account, or a device this one replaced).
	#[error("the welcome is for another device")]
	NotForThisDevice,
	/// A device to remove that is not a member.
	#[error("device {0:?} is not a member of the group")]
	NotAMember(DeviceId),
	/// A credential that does not name an account.
	#[error("credential does not name an account")]
	Credential,
	/// `openmls` refused the operation (a bad signature, a message from an epoch whose
	/// secrets are gone, a key already used, a commit that does not apply).
	#[error("{operation} refused: {reason}")]
	Refused {
		/// The operation.
		operation: &'static str,
		/// openmls' reason.
		reason: String,
	},
	/// The saved state cannot be read or written.
	#[error("device state: {0}")]
	State(String),
}

fn refused<E: Display>(operation: &'static str) -> impl FnOnce(E) -> MlsError {
	move |e| MlsError::Refused { operation, reason: e.to_string() }
}

fn malformed<E: Display>(what: &'static str) -> impl FnOnce(E) -> MlsError {
	move |e| MlsError::Malformed { what, reason: e.to_string() }
}

/// `openmls`' crypto from RustCrypto, and storage in memory that [`Device::save`] writes out.
#[derive(Default)]
struct Provider {
	crypto: RustCrypto,
	storage: MemoryStorage,
}

impl OpenMlsProvider for Provider {
	type CryptoProvider = RustCrypto;
	type RandProvider = RustCrypto;
	type StorageProvider = MemoryStorage;

	fn storage(&self) -> &MemoryStorage {
		&self.storage
	}
	fn crypto(&self) -> &RustCrypto {
		&self.crypto
	}
	fn rand(&self) -> &RustCrypto {
		&self.crypto
	}
}

impl Provider {
	fn load(&self, group: GroupId) -> Result<MlsGroup, MlsError> {
		MlsGroup::load(self.storage(), &mls_id(group))
			.map_err(state)?
			.filter(MlsGroup::is_active)
			.ok_or(MlsError::NotInGroup(group))
	}

	/// Runs `operation`; if it fails, puts the storage back as it was, so a refused
	/// message or commit changes nothing (openmls may have written part of its work).
	fn atomically<T>(
		&self,
		operation: impl FnOnce(&Self) -> Result<T, MlsError>,
	) -> Result<T, MlsError> {
		let before = self.storage.values.read().map_err(|_| poisoned())?.clone();
		let result = operation(self);
		if result.is_err() {
			*self.storage.values.write().map_err(|_| poisoned())? = before;
		}
		result
	}
}

fn state<E: Display>(e: E) -> MlsError {
	MlsError::State(e.to_string())
}

fn poisoned() -> MlsError {
	MlsError::State("storage lock poisoned".into())
}

/// The saved state, before encryption.
#[derive(Encode, Decode)]
struct State {
	account: [u8; 32],
	signature_key: Vec<u8>,
	pending: Vec<(GroupId, [u8; 32])>,
	groups: Vec<(GroupId, u64)>,
	values: Vec<(Vec<u8>, Vec<u8>)>,
}

/// One device's MLS identity and groups.
pub struct Device {
	account: AccountId32,
	provider: Provider,
	signer: SignatureKeyPair,
	/// The hash of the commit this device staged in each group, until the chain orders one.
	pending: BTreeMap<GroupId, H256>,
	/// The groups this device is in, with the epoch it joined each at.
	groups: BTreeMap<GroupId, u64>,
}

impl Device {
	/// A new device of `account`, with a fresh signature key.
	pub fn new(account: AccountId32) -> Result<Self, MlsError> {
		let mut seed = Zeroizing::new([0u8; 32]);
		OsRng.fill_bytes(seed.as_mut());
		Self::from_seed(account, *seed)
	}

	/// The device of `account` whose signature key is the Ed25519 key of `seed` (the
	/// keystore keeps the seed; this state keeps the groups).
	pub fn from_seed(account: AccountId32, seed: [u8; 32]) -> Result<Self, MlsError> {
		let provider = Provider::default();
		let public = sp_core::ed25519::Pair::from_seed(&seed).public().0;
		let signer = SignatureKeyPair::from_raw(
			CIPHERSUITE.signature_algorithm(),
			seed.to_vec(),
			public.to_vec(),
		);
		signer.store(provider.storage()).map_err(state)?;
		Ok(Self { account, provider, signer, pending: BTreeMap::new(), groups: BTreeMap::new() })
	}

	/// The account this device belongs to.
	pub fn account(&self) -> &AccountId32 {
		&self.account
	}

	/// This device, as groups see it.
	pub fn id(&self) -> DeviceId {
		DeviceId { account: self.account.clone(), signature_key: self.signature_key() }
	}

	/// The device's signature key, which its account binds on chain.
	pub fn signature_key(&self) -> [u8; 32] {
		let mut key = [0u8; 32];
		key.copy_from_slice(self.signer.public());
		key
	}

	/// The device's proof, for the keys pallet's `add_device`, that its key is this
	/// account's: its signature over [`DEVICE_PROOF_TAG`] and the SCALE-encoded account.
	pub fn binding_proof(&self) -> Result<[u8; 64], MlsError> {
		let mut message = DEVICE_PROOF_TAG.to_vec();
		self.account.encode_to(&mut message);
		self.sign(&message)
	}

	/// The device's Ed25519 signature over `message`: what makes a letter non-repudiable.
	pub fn sign(&self, message: &[u8]) -> Result<[u8; 64], MlsError> {
		let signature = self
			.signer
			.sign(message)
			.map_err(|e| MlsError::Refused { operation: "signing", reason: format!("{e:?}") })?;
		<[u8; 64]>::try_from(signature.as_slice())
			.map_err(|_| MlsError::State("an Ed25519 signature is not 64 bytes".into()))
	}

	/// The groups this device is in.
	pub fn groups(&self) -> impl Iterator<Item = GroupId> + '_ {
		self.groups.keys().copied()
	}

	/// Drops the commit this device staged in `group`, which the chain did not order.
	pub fn drop_staged(&mut self, group: GroupId) -> Result<(), MlsError> {
		if self.pending.remove(&group).is_some() {
			self.provider
				.load(group)?
				.clear_pending_commit(self.provider.storage())
				.map_err(state)?;
		}
		Ok(())
	}

	/// Deletes everything this device holds of `group` (it left).
	pub fn forget(&mut self, group: GroupId) -> Result<(), MlsError> {
		if let Some(mut mls) =
			MlsGroup::load(self.provider.storage(), &mls_id(group)).map_err(state)?
		{
			mls.delete(self.provider.storage()).map_err(state)?;
		}
		self.pending.remove(&group);
		self.groups.remove(&group);
		Ok(())
	}

	/// Whether this device is in `group`.
	pub fn is_in(&self, group: GroupId) -> bool {
		self.groups.contains_key(&group)
	}

	/// The epoch this device joined `group` at, if it is in it: it reads nothing older.
	pub fn joined(&self, group: GroupId) -> Option<u64> {
		self.groups.get(&group).copied()
	}

	fn credential(&self) -> CredentialWithKey {
		CredentialWithKey {
			credential: BasicCredential::new(AsRef::<[u8; 32]>::as_ref(&self.account).to_vec())
				.into(),
			signature_key: self.signer.to_public_vec().into(),
		}
	}

	/// A last-resort key package valid for `lifetime_secs`, through which others add this
	/// device to groups. Its private keys stay until the device replaces it.
	pub fn key_package(&self, lifetime_secs: u64) -> Result<Vec<u8>, MlsError> {
		let bundle = KeyPackage::builder()
			.key_package_lifetime(Lifetime::new(lifetime_secs))
			.mark_as_last_resort()
			.leaf_node_capabilities(
				Capabilities::builder().extensions(vec![ExtensionType::LastResort]).build(),
			)
			.build(CIPHERSUITE, &self.provider, &self.signer, self.credential())
			.map_err(refused("making a key package"))?;
		bundle.key_package().tls_serialize_detached().map_err(malformed("key package"))
	}

	/// How every Quarks group is run; members who join take the same settings.
	fn create_config() -> MlsGroupCreateConfig {
		MlsGroupCreateConfig::builder()
			.ciphersuite(CIPHERSUITE)
			.wire_format_policy(PURE_CIPHERTEXT_WIRE_FORMAT_POLICY)
			.padding_size(PADDING)
			.max_past_epochs(PAST_EPOCHS)
			.sender_ratchet_configuration(SenderRatchetConfiguration::new(
				OUT_OF_ORDER_TOLERANCE,
				MAX_FORWARD_DISTANCE,
			))
			.use_ratchet_tree_extension(true)
			.build()
	}

	/// Creates `group` with this device as its only member, at epoch 0.
	pub fn create_group(&mut self, group: GroupId) -> Result<(), MlsError> {
		if MlsGroup::load(self.provider.storage(), &mls_id(group)).map_err(state)?.is_some() {
			return Err(MlsError::GroupExists(group));
		}
		MlsGroup::new_with_group_id(
			&self.provider,
			&self.signer,
			&Self::create_config(),
			mls_id(group),
			self.credential(),
		)
		.map_err(refused("creating a group"))?;
		self.groups.insert(group, 0);
		Ok(())
	}

	/// Stages a commit adding the devices of `key_packages` and removing `removed`; it
	/// always updates this device's own leaf too.
	pub fn commit(
		&mut self,
		group: GroupId,
		key_packages: &[Vec<u8>],
		removed: &[DeviceId],
	) -> Result<Commit, MlsError> {
		let adds = key_packages
			.iter()
			.map(|bytes| {
				KeyPackageIn::tls_deserialize_exact(bytes.as_slice())
					.map_err(malformed("key package"))?
					.validate(self.provider.crypto(), ProtocolVersion::Mls10)
					.map_err(refused("checking a key package"))
			})
			.collect::<Result<Vec<_>, _>>()?;
		let signer = &self.signer;
		let commit = self.provider.atomically(|provider| {
			let mut mls = provider.load(group)?;
			let removals = removed
				.iter()
				.map(|device| {
					leaf_of(&mls, device).ok_or_else(|| MlsError::NotAMember(device.clone()))
				})
				.collect::<Result<Vec<_>, _>>()?;
			// A commit left staged by an earlier attempt is replaced by this one.
			mls.clear_pending_commit(provider.storage()).map_err(state)?;
			let epoch = mls.epoch().as_u64();
			let gone: Vec<DeviceKey> = removed.iter().map(|d| d.signature_key).collect();
			let mut roster: Vec<DeviceKey> =
				roster_of(&mls)?.into_iter().filter(|key| !gone.contains(key)).collect();
			for add in &adds {
				let key = add.leaf_node().signature_key().as_slice();
				roster.push(<[u8; 32]>::try_from(key).map_err(|_| MlsError::Credential)?);
			}
			roster.sort();
			let bundle = mls
				.commit_builder()
				.force_self_update(true)
				.propose_adds(adds)
				.propose_removals(removals)
				.load_psks(provider.storage())
				.map_err(refused("committing"))?
				.build(provider.rand(), provider.crypto(), signer, |_| true)
				.map_err(refused("committing"))?
				.stage_commit(provider)
				.map_err(refused("committing"))?;
			let (message, welcome, _) = bundle.into_messages();
			let message = to_bytes(&message)?;
			let welcome = welcome.as_ref().map(to_bytes).transpose()?;
			let hash = commit_hash(&message);
			Ok(Commit { epoch, message, hash, roster, welcome })
		})?;
		self.pending.insert(group, commit.hash);
		Ok(commit)
	}

	/// Stages a commit that only replaces this device's leaf keys (future secrecy).
	pub fn update(&mut self, group: GroupId) -> Result<Commit, MlsError> {
		self.commit(group, &[], &[])
	}

	/// Applies the commit the chain `ordered` for the group's current epoch: this device's
	/// own staged commit if it won, or someone else's (dropping this device's own). The
	/// group's devices after it must be the roster the chain checked; otherwise nothing
	/// changes.
	pub fn apply_commit(
		&mut self,
		group: GroupId,
		message: &[u8],
		ordered: OrderedCommit,
	) -> Result<Applied, MlsError> {
		let got = commit_hash(message);
		if got != ordered.commit {
			return Err(MlsError::NotOrdered { got, ordered: ordered.commit });
		}
		let own_staged = self.pending.get(&group) == Some(&ordered.commit);
		let applied = self.provider.atomically(|provider| {
			let mut mls = provider.load(group)?;
			let mut applied = if own_staged {
				let staged = mls
					.pending_commit()
					.ok_or_else(|| MlsError::State("the staged commit is missing".into()))?;
				let (added, removed) = changes(&mls, staged);
				mls.merge_pending_commit(provider).map_err(refused("applying a commit"))?;
				Applied { added, removed, ..Default::default() }
			} else {
				// openmls processes nothing while a commit of ours is staged: the chain chose
				// another, so ours is dropped (and staged again by the caller).
				let own_commit_lost = mls.pending_commit().is_some();
				mls.clear_pending_commit(provider.storage()).map_err(state)?;
				let processed = mls
					.process_message(provider, protocol_message(message)?)
					.map_err(refused("applying a commit"))?;
				let ProcessedMessageContent::StagedCommitMessage(staged) = processed.into_content()
				else {
					return Err(MlsError::Malformed {
						what: "commit",
						reason: "not a commit".into(),
					});
				};
				let (added, removed) = changes(&mls, &staged);
				let self_removed = staged.self_removed();
				mls.merge_staged_commit(provider, *staged).map_err(refused("applying a commit"))?;
				Applied { added, removed, own_commit_lost, self_removed, ..Default::default() }
			};
			applied.epoch = mls.epoch().as_u64();
			if applied.self_removed {
				// Nothing of the group is readable now; a later welcome starts afresh.
				mls.delete(provider.storage()).map_err(state)?;
			} else if roster_hash(&roster_of(&mls)?) != ordered.roster {
				return Err(MlsError::RosterMismatch(applied.epoch));
			}
			Ok(applied)
		})?;
		self.pending.remove(&group);
		if applied.self_removed {
			self.groups.remove(&group);
		}
		Ok(applied)
	}

	/// Joins the group a welcome invites this device to, only if it opens `group` at
	/// `epoch` with the roster the chain `ordered` for that epoch.
	pub fn join(
		&mut self,
		welcome: &[u8],
		group: GroupId,
		epoch: u64,
		ordered: OrderedCommit,
	) -> Result<(), MlsError> {
		let message = MlsMessageIn::tls_deserialize_exact(welcome).map_err(malformed("welcome"))?;
		let MlsMessageBodyIn::Welcome(welcome) = message.extract() else {
			return Err(MlsError::Malformed { what: "welcome", reason: "not a welcome".into() });
		};
		self.provider.atomically(|provider| {
			// What this device kept of an earlier membership gives way to the welcome.
			if let Some(mut earlier) =
				MlsGroup::load(provider.storage(), &mls_id(group)).map_err(state)?
			{
				earlier.delete(provider.storage()).map_err(state)?;
			}
			let staged = StagedWelcome::new_from_welcome(
				provider,
				Self::create_config().join_config(),
				welcome,
				None,
			)
			.map_err(|e| match e {
				openmls::prelude::WelcomeError::NoMatchingKeyPackage => MlsError::NotForThisDevice,
				e => MlsError::Refused { operation: "joining", reason: e.to_string() },
			})?;
			let mls = staged.into_group(provider).map_err(refused("joining"))?;
			let (joined, at) = (quarks_id(mls.group_id().as_slice())?, mls.epoch().as_u64());
			if (joined, at) != (group, epoch) {
				return Err(MlsError::WrongWelcome { group: joined, epoch: at });
			}
			if roster_hash(&roster_of(&mls)?) != ordered.roster {
				return Err(MlsError::RosterMismatch(epoch));
			}
			Ok(())
		})?;
		self.groups.insert(group, epoch);
		Ok(())
	}

	/// Encrypts and signs `plaintext` for the group's current epoch.
	pub fn encrypt(&mut self, group: GroupId, plaintext: &[u8]) -> Result<Vec<u8>, MlsError> {
		let signer = &self.signer;
		self.provider.atomically(|provider| {
			let message = provider
				.load(group)?
				.create_message(provider, signer, plaintext)
				.map_err(refused("encrypting"))?;
			to_bytes(&message)
		})
	}

	/// Opens an application message of the group and checks its signature. Its key is
	/// deleted once used, so the same message cannot be opened twice.
	pub fn decrypt(&mut self, group: GroupId, message: &[u8]) -> Result<Opened, MlsError> {
		self.provider.atomically(|provider| {
			let mut mls = provider.load(group)?;
			let processed = mls
				.process_message(provider, protocol_message(message)?)
				.map_err(refused("decrypting"))?;
			let epoch = processed.epoch().as_u64();
			let sender = match processed.sender() {
				Sender::Member(leaf) => mls.member_at(*leaf),
				_ => None,
			}
			.ok_or(MlsError::Credential)
			.and_then(|m| device_id(&m.credential, &m.signature_key))?;
			match processed.into_content() {
				ProcessedMessageContent::ApplicationMessage(letter) => {
					Ok(Opened { sender, epoch, plaintext: letter.into_bytes() })
				}
				_ => Err(MlsError::Malformed {
					what: "application message",
					reason: "a handshake message; commits go through apply_commit".into(),
				}),
			}
		})
	}

	/// The group's current epoch.
	pub fn epoch(&self, group: GroupId) -> Result<u64, MlsError> {
		Ok(self.provider.load(group)?.epoch().as_u64())
	}

	/// The group's member devices.
	pub fn members(&self, group: GroupId) -> Result<Vec<DeviceId>, MlsError> {
		self.provider
			.load(group)?
			.members()
			.map(|m| device_id(&m.credential, &m.signature_key))
			.collect()
	}

	/// The group's devices, in ascending order: what the chain records a hash of.
	pub fn roster(&self, group: GroupId) -> Result<Vec<DeviceKey>, MlsError> {
		roster_of(&self.provider.load(group)?)
	}

	/// A value every member of the group's current epoch derives alike; members compare
	/// it to know they share one epoch.
	pub fn epoch_authenticator(&self, group: GroupId) -> Result<Vec<u8>, MlsError> {
		Ok(self.provider.load(group)?.epoch_authenticator().as_slice().to_vec())
	}

	/// Writes the device's whole state to `path`, encrypted with `key` (AES-256-GCM under
	/// a fresh nonce), replacing the file atomically. Deleted secrets leave with the old file.
	pub fn save(&self, path: &Path, key: &[u8; 32]) -> Result<(), MlsError> {
		let values = {
			let map = self.provider.storage.values.read().map_err(|_| poisoned())?;
			map.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
		};
		let state = State {
			account: self.account.clone().into(),
			signature_key: self.signer.to_public_vec(),
			pending: self.pending.iter().map(|(group, hash)| (*group, hash.0)).collect(),
			groups: self.groups.iter().map(|(group, epoch)| (*group, *epoch)).collect(),
			values,
		};
		let plaintext = Zeroizing::new(state.encode());
		let mut nonce = [0u8; 12];
		OsRng.fill_bytes(&mut nonce);
		let ciphertext = Aes256Gcm::new(key.into())
			.encrypt(Nonce::from_slice(&nonce), Payload { msg: &plaintext, aad: STATE_FORMAT })
			.map_err(|_| MlsError::State("encryption failed".into()))?;
		let mut file = STATE_FORMAT.to_vec();
		file.extend_from_slice(&nonce);
		file.extend_from_slice(&ciphertext);
		files::write_private(path, &file)
			.map_err(|e| MlsError::State(format!("{}: {e}", path.display())))
	}

	/// Reads a state [`Device::save`] wrote with the same `key`.
	pub fn open(path: &Path, key: &[u8; 32]) -> Result<Self, MlsError> {
		let file =
			std::fs::read(path).map_err(|e| MlsError::State(format!("{}: {e}", path.display())))?;
		let rest = file
			.strip_prefix(STATE_FORMAT)
			.filter(|rest| rest.len() > 12)
			.ok_or_else(|| MlsError::State("not a device state".into()))?;
		let (nonce, ciphertext) = rest.split_at(12);
		let plaintext = Aes256Gcm::new(key.into())
			.decrypt(Nonce::from_slice(nonce), Payload { msg: ciphertext, aad: STATE_FORMAT })
			.map(Zeroizing::new)
			.map_err(|_| MlsError::State("wrong key or damaged file".into()))?;
		let state = State::decode(&mut plaintext.as_slice()).map_err(state)?;
		let provider = Provider::default();
		*provider.storage.values.write().map_err(|_| poisoned())? =
			state.values.into_iter().collect();
		let signer = SignatureKeyPair::read(
			provider.storage(),
			&state.signature_key,
			CIPHERSUITE.signature_algorithm(),
		)
		.ok_or_else(|| MlsError::State("the device's signature key is missing".into()))?;
		Ok(Self {
			account: state.account.into(),
			provider,
			signer,
			pending: state.pending.into_iter().map(|(group, hash)| (group, H256(hash))).collect(),
			groups: state.groups.into_iter().collect(),
		})
	}
}

/// What the chain records for a commit: its BLAKE2-256.
pub fn commit_hash(message: &[u8]) -> H256 {
	Blake2Hasher::hash(message)
}

/// What the chain records for a roster: the BLAKE2-256 of its SCALE encoding (as the
/// groups pallet hashes the roster it is given).
pub fn roster_hash(roster: &[DeviceKey]) -> H256 {
	Blake2Hasher::hash(&roster.encode())
}

fn roster_of(mls: &MlsGroup) -> Result<Vec<DeviceKey>, MlsError> {
	let mut roster = mls
		.members()
		.map(|m| device_id(&m.credential, &m.signature_key).map(|d| d.signature_key))
		.collect::<Result<Vec<_>, _>>()?;
	roster.sort();
	Ok(roster)
}

fn mls_id(group: GroupId) -> openmls::prelude::GroupId {
	openmls::prelude::GroupId::from_slice(&group.to_be_bytes())
}

fn quarks_id(bytes: &[u8]) -> Result<GroupId, MlsError> {
	<[u8; 8]>::try_from(bytes).map(GroupId::from_be_bytes).map_err(|_| MlsError::Malformed {
		what: "welcome",
		reason: "not a Quarks group id".into(),
	})
}

fn to_bytes(message: &MlsMessageOut) -> Result<Vec<u8>, MlsError> {
	message.to_bytes().map_err(malformed("MLS message"))
}

fn protocol_message(bytes: &[u8]) -> Result<ProtocolMessage, MlsError> {
	MlsMessageIn::tls_deserialize_exact(bytes)
		.map_err(malformed("MLS message"))?
		.try_into_protocol_message()
		.map_err(malformed("MLS message"))
}

fn device_id(
	credential: &openmls::prelude::Credential,
	signature_key: &[u8],
) -> Result<DeviceId, MlsError> {
	let account =
		<[u8; 32]>::try_from(credential.serialized_content()).map_err(|_| MlsError::Credential)?;
	let signature_key = <[u8; 32]>::try_from(signature_key).map_err(|_| MlsError::Credential)?;
	Ok(DeviceId { account: account.into(), signature_key })
}

fn leaf_of(mls: &MlsGroup, device: &DeviceId) -> Option<LeafNodeIndex> {
	mls.members()
		.find(|m| device_id(&m.credential, &m.signature_key).ok().as_ref() == Some(device))
		.map(|m| m.index)
}

/// The devices a staged commit adds and removes.
fn changes(
	mls: &MlsGroup,
	staged: &openmls::prelude::StagedCommit,
) -> (Vec<DeviceId>, Vec<DeviceId>) {
	let added = staged
		.add_proposals()
		.filter_map(|add| {
			let leaf = add.add_proposal().key_package().leaf_node();
			device_id(leaf.credential(), leaf.signature_key().as_slice()).ok()
		})
		.collect();
	let removed = staged
		.remove_proposals()
		.filter_map(|remove| mls.member_at(remove.remove_proposal().removed()))
		.filter_map(|m| device_id(&m.credential, &m.signature_key).ok())
		.collect();
	(added, removed)
}

#[cfg(test)]
mod tests;
