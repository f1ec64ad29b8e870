//! Types and traits shared by the Quarks pallets, the runtime and the client.
//!
//! Pallets see each other only through the traits here ([`KeyInspect`]); mocks
//! implement them in tests.

#![cfg_attr(not(feature = "std"), no_std)]
#![deny(missing_docs)]

extern crate alloc;

pub mod envelope;
pub mod hosting;
pub mod mailbox;
pub mod merkle;
pub mod relay_queue;

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;

/// An X25519 public key: what others encrypt to.
pub type EncryptionKey = [u8; 32];

/// The X25519 points of small order (and their non-canonical encodings), as libsodium lists
/// them: a Diffie-Hellman result with any of them does not depend on the other party's
/// secret, so a message sealed to one is readable by anyone.
pub const LOW_ORDER_X25519: [[u8; 32]; 7] = [
	[0; 32],
	[
		1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0, 0,
	],
	[
		0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f, 0xc4,
		0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49,
		0xb8, 0x00,
	],
	[
		0x5f, 0x9c, 0x95, 0xbc, 0xa3, 0x50, 0x8c, 0x24, 0xb1, 0xd0, 0xb1, 0x55, 0x9c, 0x83, 0xef,
		0x5b, 0x04, 0x44, 0x5c, 0xc4, 0x58, 0x1c, 0x8e, 0x86, 0xd8, 0x22, 0x4e, 0xdd, 0xd0, 0x9f,
		0x11, 0x57,
	],
	[
		0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0x7f,
	],
	[
		0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0x7f,
	],
	[
		0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0x7f,
	],
];

/// Whether `key` is one of [`LOW_ORDER_X25519`], ignoring the top bit as X25519 does.
pub fn is_low_order_x25519(key: &EncryptionKey) -> bool {
	let mut masked = *key;
	masked[31] &= 0x7f;
	LOW_ORDER_X25519.contains(&masked)
}

/// Version of an account's encryption key; the first key is version 1.
pub type KeyVersion = u32;

/// One published version of an account's encryption key.
///
/// A version is valid for blocks `valid_from..valid_until` (end exclusive): it starts when
/// published and ends at its expiry, at its revocation, or when the next version is
/// published, whichever comes first. So at most one version is valid at any block.
#[derive(
	Encode, Decode, DecodeWithMemTracking, Clone, PartialEq, Eq, Debug, TypeInfo, MaxEncodedLen,
)]
pub struct KeyRecord<BlockNumber> {
	/// The version number.
	pub version: KeyVersion,
	/// The X25519 public key.
	pub key: EncryptionKey,
	/// First block at which the key is valid.
	pub valid_from: BlockNumber,
	/// First block at which the key is no longer valid.
	pub valid_until: BlockNumber,
	/// Expiry the owner set when publishing (`valid_until` is earlier if ended early).
	pub expires_at: BlockNumber,
	/// Set when the owner revoked the key.
	pub revoked: bool,
}

impl<BlockNumber: PartialOrd> KeyRecord<BlockNumber> {
	/// Whether this version is valid at block `at`.
	pub fn is_valid_at(&self, at: &BlockNumber) -> bool {
		&self.valid_from <= at && at < &self.valid_until
	}
}

/// A device's MLS signature key (Ed25519): the device's identity in conversations, bound
/// on chain to one account.
pub type DeviceKey = [u8; 32];

/// What a device signs to prove to the chain that its key is its account's: this tag,
/// then the SCALE-encoded account.
pub const DEVICE_PROOF_TAG: &[u8] = b"quarks/device/1";

/// A device an account bound on chain. It is bound from `added` until `removed`.
#[derive(
	Encode, Decode, DecodeWithMemTracking, Clone, PartialEq, Eq, Debug, TypeInfo, MaxEncodedLen,
)]
pub struct DeviceRecord<BlockNumber> {
	/// The device's signature key.
	pub key: DeviceKey,
	/// Block the account bound it.
	pub added: BlockNumber,
	/// Block the account removed it, if it did.
	pub removed: Option<BlockNumber>,
}

impl<BlockNumber: PartialOrd> DeviceRecord<BlockNumber> {
	/// Whether the device was bound to its account at block `at`.
	pub fn is_bound_at(&self, at: &BlockNumber) -> bool {
		&self.added <= at && self.removed.as_ref().is_none_or(|removed| at < removed)
	}
}

/// A device's published MLS key package (a last-resort one, RFC 9420 §10 and the
/// `last_resort` extension), through which others add the device to conversations.
#[derive(
	Encode, Decode, DecodeWithMemTracking, Clone, PartialEq, Eq, Debug, TypeInfo, MaxEncodedLen,
)]
pub struct KeyPackageRecord<Package, BlockNumber> {
	/// The TLS-encoded key package, as `openmls` writes it.
	pub package: Package,
	/// First block at which it may no longer be used.
	pub expires_at: BlockNumber,
}

/// Read access to accounts' encryption keys.
pub trait KeyInspect<AccountId, BlockNumber> {
	/// The key version of `who` valid at the current block, if any.
	fn valid_key(who: &AccountId) -> Option<KeyVersion>;
}

/// Identifier of a group conversation.
pub type GroupId = u64;

/// A group's key epoch. Every membership change opens a new epoch, usable once an admin
/// has posted the group key for it.
pub type Epoch = u32;

/// Read access to groups, their members and key epochs.
pub trait GroupInspect<AccountId> {
	/// Whether `who` is a member of `group` now.
	fn is_member(group: GroupId, who: &AccountId) -> bool;
	/// The group's current epoch if its key has been posted, so messages may use it.
	fn usable_epoch(group: GroupId) -> Option<Epoch>;
	/// Whether `who` received the group key of `epoch`.
	fn was_member(group: GroupId, epoch: Epoch, who: &AccountId) -> bool;
	/// The accounts that received the group key of `epoch`: its recipients.
	fn members_at(group: GroupId, epoch: Epoch) -> alloc::vec::Vec<AccountId>;
}

/// Where an anchored envelope goes.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	Clone,
	PartialEq,
	Eq,
	Hash,
	Debug,
	TypeInfo,
	MaxEncodedLen,
)]
pub enum Destination<AccountId> {
	/// One recipient.
	Direct(AccountId),
	/// A group, at the key epoch the envelope was encrypted under.
	Group {
		/// The group.
		group: GroupId,
		/// The key epoch.
		epoch: Epoch,
	},
}

/// Padded plaintext sizes, in bytes: an envelope reveals only its class index.
pub const SIZE_CLASSES: [u32; 4] = [1024, 4096, 16384, 65536];

/// Index into [`SIZE_CLASSES`].
pub type SizeClass = u8;

/// What the chain records of an anchor: a sender's commitment, by Merkle root, to a batch
/// of envelopes, each leaf binding one envelope to its destination and size class
/// ([`merkle::AnchorLeaf`]). Anchors are keyed by (sender, root), so no account can
/// pre-claim another's.
#[derive(
	Encode, Decode, DecodeWithMemTracking, Clone, PartialEq, Eq, Debug, TypeInfo, MaxEncodedLen,
)]
pub struct AnchorRecord<BlockNumber> {
	/// Leaves under the root: 1 for a single envelope.
	pub count: u32,
	/// The block that recorded the anchor.
	pub anchored_at: BlockNumber,
}

impl<BlockNumber> AnchorRecord<BlockNumber> {
	/// Whether this anchor, recorded under `root`, covers leaf `leaf` ([`merkle::AnchorLeaf`]
	/// value) with inclusion `proof`.
	pub fn covers(
		&self,
		root: &sp_core::H256,
		leaf: &sp_core::H256,
		proof: &merkle::InclusionProof,
	) -> bool {
		proof.leaf_count == self.count && merkle::verify(root, leaf, proof)
	}
}
