//! Conversations as MLS groups (RFC 9420, through `openmls`).
//!
//! Each device of an account is one MLS member: its credential names the account and its
//! Ed25519 signature key is the device's identity, which the account binds on chain. A
//! [`Device`] holds that key and every group the device is in, in an `openmls` storage
//! that [`Device::save`] writes encrypted at rest.
//!
//! The chain orders each group's commits: a member stages a commit ([`Device::commit`],
//! [`Device::update`]) and submits it, with the group's devices after it (its roster), for
//! the epoch it builds on; whichever commit the chain records for that epoch is the one
//! every member applies ([`Device::apply_commit`]), and only if it leaves the group with the
//! roster the chain checked. A member whose own commit lost drops it, applies the winner
//! and stages its change again on the new epoch, so members never fork. A device joins
//! from a welcome only if it is the one the chain recorded for that epoch (by hash), into
//! the epoch and roster recorded, and only if it is not in the group already.
//!
//! A *restart* ([`Device::restart`]) starts a new MLS group — a *generation*, named by the
//! chain epoch it opens — of the members' devices, which all join from its welcome: a
//! group's first commit is one, and any member orders one when the group cannot go on
//! otherwise (a commit whose message does not apply). Epochs here are the chain's: in the
//! generation started at epoch g, MLS epoch m is chain epoch g - 1 + m.
//!
//! Forward secrecy: a message key is deleted once used, and a group keeps the secrets of
//! at most [`PAST_EPOCHS`] earlier epochs (for messages that arrive late). Future secrecy:
//! a member's [`Device::update`] replaces its leaf's keys, so whoever stole its state
//! before cannot follow the group past that commit.

use crate::files;
use aes_gcm::aead::OsRng;
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
pub use quarks_primitives::groups::{authenticator_hash, commit_hash, roster_hash, welcome_hash};
use quarks_primitives::{device_proof_payload, groups::CommitRecord, DeviceKey, Epoch, GroupId};
use rand_core::RngCore;
use sp_core::{crypto::AccountId32, Pair as _, H256};
use std::{collections::BTreeMap, fmt::Display, path::Path};
use zeroize::Zeroizing;

mod commits;
mod state;

use commits::Staged;
pub use commits::{Applied, Commit, OrderedCommit};

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

/// One device of an account, as a group sees it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct DeviceId {
	/// The account the credential names.
	pub account: AccountId32,
	/// The device's signature key, which the account binds on chain.
	pub signature_key: [u8; 32],
}

/// An application message, opened and its signature checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Opened {
	/// The device that signed it.
	pub sender: DeviceId,
	/// The epoch it was sent in.
	pub epoch: Epoch,
	/// What it carries.
	pub plaintext: Vec<u8>,
}

/// Why an MLS operation failed. Nothing is changed by a failed operation.
#[derive(Debug, thiserror::Error)]
pub enum MlsError {
	/// The device is not in the group (never joined, or removed).
	#[error("this device is not in group {0}")]
	NotInGroup(GroupId),
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
	/// A commit for another epoch than the one this device is at.
	#[error("the commit opens epoch {commit}, but this device is at epoch {device}")]
	WrongEpoch {
		/// The epoch the commit opens.
		commit: Epoch,
		/// This device's epoch.
		device: Epoch,
	},
	/// The chain ordered another member's restart: this device joins it from its welcome.
	#[error("epoch {0} restarts the group: its welcome, not a commit, brings this device in")]
	RestartNeedsWelcome(Epoch),
	/// The group's devices after a commit or welcome are not the roster the chain checked.
	#[error("the group's devices are not the roster the chain recorded for epoch {0}")]
	RosterMismatch(Epoch),
	/// A welcome the chain did not record for the epoch it opens: forged, or stale.
	#[error("the welcome into epoch {0} is not the one the chain recorded")]
	UnorderedWelcome(Epoch),
	/// A commit or welcome that leads to other epoch secrets than the chain recorded.
	#[error("epoch {0}'s secrets are not the ones the chain recorded")]
	AuthenticatorMismatch(Epoch),
	/// A welcome for a device in the group already: it follows the group's commits.
	#[error("this device is in group {group} at epoch {epoch} already")]
	AlreadyIn {
		/// The group.
		group: GroupId,
		/// This device's epoch of it.
		epoch: Epoch,
	},
	/// A welcome into another group or epoch than the one it claims.
	#[error("the welcome is for group {group} epoch {epoch}, not the one it was sent for")]
	WrongWelcome {
		/// The group it opens.
		group: GroupId,
		/// The epoch it opens.
		epoch: Epoch,
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

impl MlsError {
	/// Whether a commit the chain ordered failed to apply for good: its message is not
	/// a commit of this group's epoch, or not one this device can process, or it leaves
	/// another roster than the chain's. Waiting changes none of these; a restart does.
	pub fn is_permanent_for_commit(&self) -> bool {
		matches!(
			self,
			Self::Malformed { .. }
				| Self::NotOrdered { .. }
				| Self::RosterMismatch(_)
				| Self::AuthenticatorMismatch(_)
				| Self::Refused { .. }
				| Self::Credential
		)
	}
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
	/// The MLS group of `group`'s generation `generation`.
	fn load(&self, group: GroupId, generation: Epoch) -> Result<MlsGroup, MlsError> {
		MlsGroup::load(self.storage(), &mls_id(group, generation))
			.map_err(state)?
			.filter(MlsGroup::is_active)
			.ok_or(MlsError::NotInGroup(group))
	}

	/// Deletes the MLS group of `group`'s generation `generation`, if it is stored.
	fn delete(&self, group: GroupId, generation: Epoch) -> Result<(), MlsError> {
		if let Some(mut mls) =
			MlsGroup::load(self.storage(), &mls_id(group, generation)).map_err(state)?
		{
			mls.delete(self.storage()).map_err(state)?;
		}
		Ok(())
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

/// A device's place in one group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
struct Membership {
	/// The epoch it joined at: it reads nothing older.
	joined: Epoch,
	/// The epoch whose restart started the MLS group it is in.
	generation: Epoch,
	/// The generation before, kept (read only) until the next restart, so letters sent
	/// just before a restart still open.
	previous: Option<Epoch>,
}

impl Membership {
	/// The chain epoch of MLS epoch `mls` of this generation.
	fn chain_epoch(&self, mls: u64) -> Epoch {
		chain_epoch(self.generation, mls)
	}
}

/// The chain epoch of MLS epoch `mls` of the generation started at `generation`.
fn chain_epoch(generation: Epoch, mls: u64) -> Epoch {
	let mls = Epoch::try_from(mls).unwrap_or(Epoch::MAX);
	generation.saturating_sub(1).saturating_add(mls)
}

/// One device's MLS identity and groups.
pub struct Device {
	account: AccountId32,
	provider: Provider,
	signer: SignatureKeyPair,
	/// What this device staged in each group, until the chain orders a commit there.
	staged: BTreeMap<GroupId, Staged>,
	/// The groups this device is in.
	groups: BTreeMap<GroupId, Membership>,
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
		Ok(Self { account, provider, signer, staged: BTreeMap::new(), groups: BTreeMap::new() })
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
	/// account's: its signature over [`device_proof_payload`].
	pub fn binding_proof(&self) -> Result<[u8; 64], MlsError> {
		self.sign(&device_proof_payload(&self.account))
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

	fn membership(&self, group: GroupId) -> Result<Membership, MlsError> {
		self.groups.get(&group).copied().ok_or(MlsError::NotInGroup(group))
	}

	/// The MLS group this device is in for `group`, with its membership.
	fn current(&self, group: GroupId) -> Result<(MlsGroup, Membership), MlsError> {
		let membership = self.membership(group)?;
		Ok((self.provider.load(group, membership.generation)?, membership))
	}

	/// Drops what this device staged in `group`, which the chain did not order.
	pub fn drop_staged(&mut self, group: GroupId) -> Result<(), MlsError> {
		let Some(staged) = self.staged.get(&group).copied() else { return Ok(()) };
		match staged.restart {
			Some(generation) => self.provider.delete(group, generation)?,
			None => {
				if let Ok((mut mls, _)) = self.current(group) {
					mls.clear_pending_commit(self.provider.storage()).map_err(state)?;
				}
			}
		}
		self.staged.remove(&group);
		Ok(())
	}

	/// Deletes everything this device holds of `group` (it left).
	pub fn forget(&mut self, group: GroupId) -> Result<(), MlsError> {
		self.drop_staged(group)?;
		if let Some(membership) = self.groups.remove(&group) {
			self.provider.delete(group, membership.generation)?;
			if let Some(previous) = membership.previous {
				self.provider.delete(group, previous)?;
			}
		}
		Ok(())
	}

	/// Whether this device is in `group`.
	pub fn is_in(&self, group: GroupId) -> bool {
		self.groups.contains_key(&group)
	}

	/// The epoch this device joined `group` at, if it is in it: it reads nothing older.
	pub fn joined(&self, group: GroupId) -> Option<Epoch> {
		self.groups.get(&group).map(|m| m.joined)
	}

	fn credential(&self) -> CredentialWithKey {
		CredentialWithKey {
			credential: BasicCredential::new(AsRef::<[u8; 32]>::as_ref(&self.account).to_vec())
				.into(),
			signature_key: self.signer.to_public_vec().into(),
		}
	}

	/// Whether `bytes` is a key package this device could add for `account`'s bound
	/// `device`: well formed, valid (signed, not expired, our ciphersuite), and naming
	/// that device's key and that account. The chain takes any bytes; a member's junk
	/// package must not stop every commit of every group the member is in.
	pub fn usable_key_package(
		&self,
		bytes: &[u8],
		account: &AccountId32,
		device: &DeviceKey,
	) -> bool {
		let Ok(package) = KeyPackageIn::tls_deserialize_exact(bytes) else { return false };
		let Ok(package) = package.validate(self.provider.crypto(), ProtocolVersion::Mls10) else {
			return false;
		};
		let leaf = package.leaf_node();
		package.ciphersuite() == CIPHERSUITE
			&& leaf.signature_key().as_slice() == device.as_slice()
			&& device_id(leaf.credential(), leaf.signature_key().as_slice())
				.is_ok_and(|id| &id.account == account)
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

	/// Encrypts and signs `plaintext` for the group's current epoch.
	pub fn encrypt(&mut self, group: GroupId, plaintext: &[u8]) -> Result<Vec<u8>, MlsError> {
		let signer = &self.signer;
		let membership = self.membership(group)?;
		self.provider.atomically(|provider| {
			let message = provider
				.load(group, membership.generation)?
				.create_message(provider, signer, plaintext)
				.map_err(refused("encrypting"))?;
			to_bytes(&message)
		})
	}

	/// Opens an application message of the group (of its current generation, or of the
	/// one before if it was sent there) and checks its signature. Its key is deleted once
	/// used, so the same message cannot be opened twice.
	pub fn decrypt(&mut self, group: GroupId, message: &[u8]) -> Result<Opened, MlsError> {
		let membership = self.membership(group)?;
		let message = protocol_message(message)?;
		let generation = membership
			.previous
			.filter(|previous| *message.group_id() == mls_id(group, *previous))
			.unwrap_or(membership.generation);
		self.provider.atomically(|provider| {
			let mut mls = provider.load(group, generation)?;
			let processed =
				mls.process_message(provider, message).map_err(refused("decrypting"))?;
			let epoch = chain_epoch(generation, processed.epoch().as_u64());
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
	pub fn epoch(&self, group: GroupId) -> Result<Epoch, MlsError> {
		let (mls, membership) = self.current(group)?;
		Ok(membership.chain_epoch(mls.epoch().as_u64()))
	}

	/// The group's member devices.
	pub fn members(&self, group: GroupId) -> Result<Vec<DeviceId>, MlsError> {
		self.current(group)?
			.0
			.members()
			.map(|m| device_id(&m.credential, &m.signature_key))
			.collect()
	}

	/// The group's devices, in ascending order: what the chain records a hash of.
	pub fn roster(&self, group: GroupId) -> Result<Vec<DeviceKey>, MlsError> {
		roster_of(&self.current(group)?.0)
	}

	/// A value every member of the group's current epoch derives alike; members compare
	/// it to know they share one epoch.
	pub fn epoch_authenticator(&self, group: GroupId) -> Result<Vec<u8>, MlsError> {
		Ok(self.current(group)?.0.epoch_authenticator().as_slice().to_vec())
	}
}

fn roster_of(mls: &MlsGroup) -> Result<Vec<DeviceKey>, MlsError> {
	let mut roster = mls
		.members()
		.map(|m| device_id(&m.credential, &m.signature_key).map(|d| d.signature_key))
		.collect::<Result<Vec<_>, _>>()?;
	roster.sort();
	Ok(roster)
}

/// The MLS group id of `group`'s generation `generation`: the group id, and from the
/// second generation on the generation after it (version-1 states named the first
/// generation by the group id alone).
fn mls_id(group: GroupId, generation: Epoch) -> openmls::prelude::GroupId {
	let mut id = group.to_be_bytes().to_vec();
	if generation != 1 {
		id.extend(generation.to_be_bytes());
	}
	openmls::prelude::GroupId::from_slice(&id)
}

/// The group and generation an MLS group id names.
fn quarks_id(bytes: &[u8]) -> Result<(GroupId, Epoch), MlsError> {
	let malformed =
		|| MlsError::Malformed { what: "welcome", reason: "not a Quarks group id".into() };
	let (group, generation) = bytes.split_at_checked(8).ok_or_else(malformed)?;
	let group = <[u8; 8]>::try_from(group).map(GroupId::from_be_bytes).map_err(|_| malformed())?;
	let generation = match generation {
		[] => 1,
		rest => <[u8; 4]>::try_from(rest)
			.map(Epoch::from_be_bytes)
			.ok()
			.filter(|generation| *generation != 1)
			.ok_or_else(malformed)?,
	};
	Ok((group, generation))
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

#[cfg(test)]
mod tests;
