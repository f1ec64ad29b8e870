//! Types and traits shared by the Quarks pallets, the runtime and the client.
//!
//! Pallets see each other only through the traits here ([`DeviceInspect`],
//! [`GroupInspect`]); mocks implement them in tests.

#![cfg_attr(not(feature = "std"), no_std)]
#![deny(missing_docs)]

extern crate alloc;

pub mod deposit;
pub mod endpoint;
pub mod envelope;
pub mod groups;
pub mod hosting;
pub mod mailbox;
pub mod merkle;
pub mod relay_queue;

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;

/// A device's MLS signature key (Ed25519): the device's identity in conversations, bound
/// on chain to one account.
pub type DeviceKey = [u8; 32];

/// What a device signs to prove to the chain that its key is its account's: this tag,
/// then the SCALE-encoded account ([`device_proof_payload`]).
pub const DEVICE_PROOF_TAG: &[u8] = b"quarks/device/1";

/// The bytes a device's Ed25519 signature binding it to `account` covers: the raw
/// [`DEVICE_PROOF_TAG`] (no length prefix, unlike the submission's and the batch's tags)
/// followed by the SCALE-encoded account (its 32 bytes).
pub fn device_proof_payload<AccountId: Encode>(account: &AccountId) -> alloc::vec::Vec<u8> {
	let mut payload = DEVICE_PROOF_TAG.to_vec();
	account.encode_to(&mut payload);
	payload
}

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

/// Read access to accounts' devices.
pub trait DeviceInspect<AccountId> {
	/// Whether `who` has a device bound at the current block: an account that can send.
	fn has_device(who: &AccountId) -> bool;
	/// The account `device` is bound to at the current block, if any.
	fn device_owner(device: &DeviceKey) -> Option<AccountId>;
}

/// Read access to the anchors the chain keeps.
pub trait AnchorInspect<AccountId, BlockNumber> {
	/// The anchor `sender` recorded under `root`, while it is kept.
	fn anchor(sender: &AccountId, root: &sp_core::H256) -> Option<AnchorRecord<BlockNumber>>;
}

/// What a receipt that names the host its envelope was fetched from sets off (a bounty
/// paid to that host's operator).
pub trait OnDelivered<AccountId> {
	/// A recipient acknowledged an envelope of `sender`'s anchor `root`, fetched from the
	/// host `operator` runs, one of the recipient's chosen hosts; returns what it weighed.
	fn delivered(
		sender: &AccountId,
		root: &sp_core::H256,
		operator: &AccountId,
	) -> sp_runtime::Weight;
	/// The most [`OnDelivered::delivered`] weighs.
	fn weight() -> sp_runtime::Weight;
}

impl<AccountId> OnDelivered<AccountId> for () {
	fn delivered(_: &AccountId, _: &sp_core::H256, _: &AccountId) -> sp_runtime::Weight {
		sp_runtime::Weight::zero()
	}
	fn weight() -> sp_runtime::Weight {
		sp_runtime::Weight::zero()
	}
}

/// Identifier of a group conversation.
pub type GroupId = u64;

/// A group's epoch: the MLS epoch the chain ordered. Every membership change opens a new
/// epoch, usable once a member's commit for it is ordered.
pub type Epoch = u32;

/// Read access to groups, their members and key epochs.
pub trait GroupInspect<AccountId> {
	/// Whether `who` is a member of `group` now.
	fn is_member(group: GroupId, who: &AccountId) -> bool;
	/// The group's current epoch if its commit is ordered, so messages may use it.
	fn usable_epoch(group: GroupId) -> Option<Epoch>;
	/// Whether `who` was a member in `epoch`.
	fn was_member(group: GroupId, epoch: Epoch, who: &AccountId) -> bool;
	/// The members of `epoch`: its recipients.
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
	/// A group, at the epoch the envelope was encrypted under.
	Group {
		/// The group.
		group: GroupId,
		/// The epoch.
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
