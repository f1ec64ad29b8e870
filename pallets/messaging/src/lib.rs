//! # Quarks Messaging Pallet
//!
//! The notary of Quarks messages. A sender anchors the hash of an encrypted envelope —
//! never its content — with its destination, key epoch and size class; the recipient
//! acknowledges delivery on chain. Anyone can later show who sent which ciphertext when,
//! and that it was delivered; hosts delete mail once it is acknowledged.
//!
//! ## Terminology
//!
//! - **Envelope hash**: BLAKE2-256 of the sealed envelope the client built.
//! - **Anchor**: the on-chain record of one envelope hash, or of a *batch*: the Merkle root
//!   ([`quarks_primitives::merkle`]) over many envelope hashes for one destination, so
//!   anchoring scales past one extrinsic per message. The anchor's key is the envelope hash
//!   or the batch root.
//! - **Receipt**: a recipient's acknowledgement of one envelope. For a direct message the
//!   recipient is the addressee; for a group message, any member of its key epoch.
//! - **Retention**: anchors and receipts stay in state for [`Config::Retention`] blocks
//!   after the block that recorded them, then are pruned; their events stay in the blocks.
//!   At most [`Config::MaxAnchorsPerBlock`] anchors and [`Config::MaxReceiptsPerBlock`]
//!   receipts are recorded per block, so state is bounded by
//!   `Retention × (MaxAnchorsPerBlock + MaxReceiptsPerBlock)` records.
//!
//! ## Relay
//!
//! The pallet's offchain worker is the relay that guarantees delivery to hosts: it carries
//! envelopes clients handed to this node to every host each recipient chose, retrying
//! until each host confirms or the message expires (see the `relay` module).
//!
//! ## Calls
//!
//! By any signed account with a valid encryption key: [`Pallet::anchor`],
//! [`Pallet::anchor_batch`]. By a recipient: [`Pallet::acknowledge`],
//! [`Pallet::acknowledge_batch`].

#![cfg_attr(not(feature = "std"), no_std)]
#![deny(missing_docs)]

extern crate alloc;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
#[cfg(test)]
mod mock;
mod relay;
#[cfg(test)]
mod tests;
pub mod weights;

pub use pallet::*;
pub use quarks_primitives::{
	hosting::HostInspect, merkle::InclusionProof, AnchorRecord, Destination, GroupInspect,
	KeyInspect, SizeClass, SIZE_CLASSES,
};
pub use weights::WeightInfo;

/// Log target of the relay.
pub const LOG_TARGET: &str = "runtime::quarks-relay";

#[frame_support::pallet]
pub mod pallet {
	use super::*;
	use alloc::vec::Vec;
	use codec::{Decode, DecodeWithMemTracking, Encode};
	use frame_support::pallet_prelude::*;
	use frame_system::pallet_prelude::*;
	use scale_info::TypeInfo;
	use sp_core::H256;
	use sp_runtime::{
		traits::{CheckedSub, Saturating, Zero},
		TryRuntimeError,
	};

	/// An anchor record as stored for a runtime.
	pub type AnchorOf<T> = AnchorRecord<<T as frame_system::Config>::AccountId, BlockNumberFor<T>>;

	/// One acknowledgement in a batch of receipts.
	#[derive(Encode, Decode, DecodeWithMemTracking, Clone, PartialEq, Eq, Debug, TypeInfo)]
	pub struct ReceiptItem {
		/// The anchor: the envelope hash, or the root of the batch holding it.
		pub anchor: H256,
		/// The envelope hash.
		pub envelope: H256,
		/// For an envelope in a batch, its inclusion proof.
		pub proof: Option<InclusionProof>,
	}

	#[pallet::pallet]
	pub struct Pallet<T>(_);

	#[pallet::config]
	pub trait Config: frame_system::Config<RuntimeEvent: From<Event<Self>>> {
		/// Accounts' encryption keys: senders and direct recipients need a valid one.
		type Keys: KeyInspect<Self::AccountId, BlockNumberFor<Self>>;

		/// Groups, their members and key epochs.
		type Groups: GroupInspect<Self::AccountId>;

		/// Hosts and users' choices of hosts, for the relay.
		type Hosts: HostInspect<Self::AccountId, BlockNumberFor<Self>>;

		/// Most envelopes in one batch anchor.
		#[pallet::constant]
		type MaxBatchSize: Get<u32>;

		/// Most receipts in one `acknowledge_batch`.
		#[pallet::constant]
		type MaxReceiptBatch: Get<u32>;

		/// Most anchors recorded per block.
		#[pallet::constant]
		type MaxAnchorsPerBlock: Get<u32>;

		/// Most receipts recorded per block.
		#[pallet::constant]
		type MaxReceiptsPerBlock: Get<u32>;

		/// Blocks anchors and receipts stay in state.
		#[pallet::constant]
		type Retention: Get<BlockNumberFor<Self>>;

		/// Weights of this pallet's calls, from its benchmarks.
		type WeightInfo: WeightInfo;

		/// Sets up senders and recipients for the benchmarks.
		#[cfg(feature = "runtime-benchmarks")]
		type BenchmarkHelper: BenchmarkHelper<Self::AccountId>;
	}

	/// Sets up what the benchmarks need from other pallets.
	#[cfg(feature = "runtime-benchmarks")]
	pub trait BenchmarkHelper<AccountId> {
		/// Give `sender` and `recipient` valid encryption keys.
		fn setup_sender_and_recipient(sender: &AccountId, recipient: &AccountId);
	}

	/// Anchors, by envelope hash or batch root.
	#[pallet::storage]
	pub type Anchors<T: Config> = StorageMap<_, Identity, H256, AnchorOf<T>>;

	/// Receipts: the block at which an account acknowledged an envelope.
	#[pallet::storage]
	pub type Receipts<T: Config> =
		StorageDoubleMap<_, Identity, H256, Blake2_128Concat, T::AccountId, BlockNumberFor<T>>;

	/// The anchors recorded in a block, pruned `Retention` blocks later.
	#[pallet::storage]
	pub type AnchorsAt<T: Config> = StorageMap<
		_,
		Twox64Concat,
		BlockNumberFor<T>,
		BoundedVec<H256, T::MaxAnchorsPerBlock>,
		ValueQuery,
	>;

	/// The receipts recorded in a block, pruned `Retention` blocks later.
	#[pallet::storage]
	pub type ReceiptsAt<T: Config> = StorageMap<
		_,
		Twox64Concat,
		BlockNumberFor<T>,
		BoundedVec<(H256, T::AccountId), T::MaxReceiptsPerBlock>,
		ValueQuery,
	>;

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// An envelope, or a batch of envelopes, was anchored.
		Anchored {
			/// The sender.
			sender: T::AccountId,
			/// The envelope hash, or the batch root.
			anchor: H256,
			/// Where the envelopes go.
			destination: Destination<T::AccountId>,
			/// Padded size class.
			size_class: SizeClass,
			/// Envelopes anchored: 1, or the batch size.
			count: u32,
		},
		/// A recipient acknowledged an envelope; hosts may delete it for this recipient.
		Delivered {
			/// The anchor holding the envelope.
			anchor: H256,
			/// The envelope hash.
			envelope: H256,
			/// The recipient.
			recipient: T::AccountId,
		},
	}

	#[pallet::error]
	pub enum Error<T> {
		/// The sender has no valid encryption key.
		SenderHasNoKey,
		/// The direct recipient has no valid encryption key.
		RecipientHasNoKey,
		/// The sender is not a member of the group.
		NotGroupMember,
		/// The epoch is not the group's current, rotated one.
		EpochNotUsable,
		/// The size class is not one of `SIZE_CLASSES`.
		InvalidSizeClass,
		/// A batch must hold 2 to `MaxBatchSize` envelopes.
		InvalidBatchSize,
		/// This hash is already anchored.
		AlreadyAnchored,
		/// This block already holds `MaxAnchorsPerBlock` anchors; try the next one.
		BlockAnchorsFull,
		/// No anchor with this hash (never anchored, or pruned).
		UnknownAnchor,
		/// The envelope is not the anchored one, or its inclusion proof does not verify.
		NotInAnchor,
		/// The caller is not a recipient of the envelope.
		NotRecipient,
		/// The caller already acknowledged this envelope.
		AlreadyAcknowledged,
		/// This block already holds `MaxReceiptsPerBlock` receipts; try the next one.
		BlockReceiptsFull,
		/// A receipt batch is empty, longer than `MaxReceiptBatch`, or repeats an envelope.
		InvalidReceiptBatch,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		/// Prune what was recorded `Retention` blocks ago: at most `MaxAnchorsPerBlock`
		/// anchors and `MaxReceiptsPerBlock` receipts.
		fn on_initialize(now: BlockNumberFor<T>) -> Weight {
			let Some(recorded) = now.checked_sub(&T::Retention::get()) else {
				return Weight::zero();
			};
			let anchors = AnchorsAt::<T>::take(recorded);
			let receipts = ReceiptsAt::<T>::take(recorded);
			for anchor in &anchors {
				Anchors::<T>::remove(anchor);
			}
			for (envelope, who) in &receipts {
				Receipts::<T>::remove(envelope, who);
			}
			T::WeightInfo::prune(anchors.len() as u32, receipts.len() as u32)
		}

		/// Relay envelopes handed to this node to their recipients' hosts.
		fn offchain_worker(now: BlockNumberFor<T>) {
			relay::run::<T>(now);
		}

		fn integrity_test() {
			assert!(T::MaxBatchSize::get() >= 2, "a batch holds at least two envelopes");
			assert!(T::MaxReceiptBatch::get() >= 1, "receipt batches need room");
			assert!(T::MaxAnchorsPerBlock::get() >= 1, "blocks must take anchors");
			assert!(
				T::MaxReceiptsPerBlock::get() >= T::MaxReceiptBatch::get(),
				"a full receipt batch must fit in a block"
			);
			assert!(!T::Retention::get().is_zero(), "anchors must be kept for a while");
		}

		#[cfg(feature = "try-runtime")]
		fn try_state(_n: BlockNumberFor<T>) -> Result<(), TryRuntimeError> {
			Self::do_try_state()
		}
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Anchor the hash of one encrypted envelope for `destination`.
		///
		/// The origin must be signed by the sender, who needs a valid encryption key. A
		/// direct recipient needs one too; for a group the sender must be a member and
		/// `epoch` its current, rotated epoch. Emits [`Event::Anchored`].
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::anchor())]
		pub fn anchor(
			origin: OriginFor<T>,
			envelope: H256,
			destination: Destination<T::AccountId>,
			size_class: SizeClass,
		) -> DispatchResult {
			let sender = ensure_signed(origin)?;
			Self::record_anchor(sender, envelope, destination, size_class, 1)
		}

		/// Anchor a batch of `count` envelopes for one `destination` by the Merkle `root`
		/// over their hashes ([`quarks_primitives::merkle::batch_root`]).
		///
		/// Checks as [`Pallet::anchor`], and `count` must be 2 to `MaxBatchSize`.
		/// Emits [`Event::Anchored`] with the count.
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::anchor_batch())]
		pub fn anchor_batch(
			origin: OriginFor<T>,
			root: H256,
			count: u32,
			destination: Destination<T::AccountId>,
			size_class: SizeClass,
		) -> DispatchResult {
			let sender = ensure_signed(origin)?;
			ensure!((2..=T::MaxBatchSize::get()).contains(&count), Error::<T>::InvalidBatchSize);
			Self::record_anchor(sender, root, destination, size_class, count)
		}

		/// Acknowledge delivery of `envelope`, anchored under `anchor` (itself, or the root
		/// of its batch with the inclusion `proof`).
		///
		/// The origin must be a recipient: the direct addressee, or a member of the group
		/// epoch. Emits [`Event::Delivered`].
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::acknowledge())]
		pub fn acknowledge(
			origin: OriginFor<T>,
			anchor: H256,
			envelope: H256,
			proof: Option<InclusionProof>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::record_receipts(&who, &[ReceiptItem { anchor, envelope, proof }])
		}

		/// Acknowledge several envelopes at once; all or none are recorded.
		///
		/// The origin must be a recipient of each; `items` holds 1 to `MaxReceiptBatch`
		/// distinct envelopes. Emits [`Event::Delivered`] for each.
		#[pallet::call_index(3)]
		#[pallet::weight(T::WeightInfo::acknowledge_batch(items.len() as u32))]
		pub fn acknowledge_batch(origin: OriginFor<T>, items: Vec<ReceiptItem>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			ensure!(
				!items.is_empty() && items.len() as u32 <= T::MaxReceiptBatch::get(),
				Error::<T>::InvalidReceiptBatch
			);
			Self::record_receipts(&who, &items)
		}
	}

	#[pallet::view_functions]
	impl<T: Config> Pallet<T> {
		/// The anchor recorded under `hash` (an envelope hash or a batch root), if kept.
		pub fn anchor_of(hash: H256) -> Option<AnchorOf<T>> {
			Anchors::<T>::get(hash)
		}

		/// The block at which `recipient` acknowledged `envelope`, if kept.
		pub fn receipt_of(envelope: H256, recipient: T::AccountId) -> Option<BlockNumberFor<T>> {
			Receipts::<T>::get(envelope, recipient)
		}

		/// Whether `proof` shows `envelope` in the batch anchored under `root`.
		pub fn verify_inclusion(root: H256, envelope: H256, proof: InclusionProof) -> bool {
			Anchors::<T>::get(root).is_some_and(|a| a.covers(&root, &envelope, Some(&proof)))
		}
	}

	impl<T: Config> Pallet<T> {
		/// The accounts an envelope for `destination` is for: the addressee, or the members
		/// that received the key of the group epoch.
		pub fn recipients(destination: &Destination<T::AccountId>) -> Vec<T::AccountId> {
			match destination {
				Destination::Direct(recipient) => alloc::vec![recipient.clone()],
				Destination::Group { group, epoch } => T::Groups::members_at(*group, *epoch),
			}
		}

		fn now() -> BlockNumberFor<T> {
			frame_system::Pallet::<T>::block_number()
		}

		fn record_anchor(
			sender: T::AccountId,
			anchor: H256,
			destination: Destination<T::AccountId>,
			size_class: SizeClass,
			count: u32,
		) -> DispatchResult {
			ensure!((size_class as usize) < SIZE_CLASSES.len(), Error::<T>::InvalidSizeClass);
			ensure!(T::Keys::valid_key(&sender).is_some(), Error::<T>::SenderHasNoKey);
			match &destination {
				Destination::Direct(recipient) => {
					ensure!(T::Keys::valid_key(recipient).is_some(), Error::<T>::RecipientHasNoKey)
				}
				Destination::Group { group, epoch } => {
					ensure!(T::Groups::is_member(*group, &sender), Error::<T>::NotGroupMember);
					ensure!(
						T::Groups::usable_epoch(*group) == Some(*epoch),
						Error::<T>::EpochNotUsable
					);
				}
			}
			ensure!(!Anchors::<T>::contains_key(anchor), Error::<T>::AlreadyAnchored);
			let now = Self::now();
			let mut recorded = AnchorsAt::<T>::get(now);
			recorded.try_push(anchor).map_err(|_| Error::<T>::BlockAnchorsFull)?;

			AnchorsAt::<T>::insert(now, recorded);
			let record = AnchorRecord {
				sender: sender.clone(),
				destination: destination.clone(),
				size_class,
				count,
				anchored_at: now,
			};
			Anchors::<T>::insert(anchor, record);
			Self::deposit_event(Event::Anchored { sender, anchor, destination, size_class, count });
			Ok(())
		}

		fn check_receipt(who: &T::AccountId, item: &ReceiptItem) -> DispatchResult {
			let anchor = Anchors::<T>::get(item.anchor).ok_or(Error::<T>::UnknownAnchor)?;
			ensure!(
				anchor.covers(&item.anchor, &item.envelope, item.proof.as_ref()),
				Error::<T>::NotInAnchor
			);
			let recipient = match &anchor.destination {
				Destination::Direct(recipient) => recipient == who,
				Destination::Group { group, epoch } => T::Groups::was_member(*group, *epoch, who),
			};
			ensure!(recipient, Error::<T>::NotRecipient);
			ensure!(
				!Receipts::<T>::contains_key(item.envelope, who),
				Error::<T>::AlreadyAcknowledged
			);
			Ok(())
		}

		/// Checks every receipt in `items` (distinct envelopes, each valid for `who`) and
		/// that they fit in this block, then records them all.
		fn record_receipts(who: &T::AccountId, items: &[ReceiptItem]) -> DispatchResult {
			for (i, item) in items.iter().enumerate() {
				ensure!(
					!items[..i].iter().any(|other| other.envelope == item.envelope),
					Error::<T>::InvalidReceiptBatch
				);
				Self::check_receipt(who, item)?;
			}
			let now = Self::now();
			let mut recorded = ReceiptsAt::<T>::get(now);
			for item in items {
				recorded
					.try_push((item.envelope, who.clone()))
					.map_err(|_| Error::<T>::BlockReceiptsFull)?;
			}

			ReceiptsAt::<T>::insert(now, recorded);
			for item in items {
				Receipts::<T>::insert(item.envelope, who, now);
				Self::deposit_event(Event::Delivered {
					anchor: item.anchor,
					envelope: item.envelope,
					recipient: who.clone(),
				});
			}
			Ok(())
		}

		/// Invariants: every anchor and receipt is listed under the block that recorded it,
		/// within retention, and every listed entry exists.
		pub fn do_try_state() -> Result<(), TryRuntimeError> {
			let oldest = Self::now().saturating_sub(T::Retention::get());
			for (hash, record) in Anchors::<T>::iter() {
				ensure!(record.anchored_at >= oldest, "anchor outlived retention");
				ensure!(
					AnchorsAt::<T>::get(record.anchored_at).contains(&hash),
					"anchor missing from its block's list"
				);
				ensure!(record.count >= 1, "anchor of no envelope");
			}
			for (at, hashes) in AnchorsAt::<T>::iter() {
				for hash in hashes {
					ensure!(
						Anchors::<T>::get(hash).is_some_and(|a| a.anchored_at == at),
						"listed anchor missing"
					);
				}
			}
			for (envelope, who, at) in Receipts::<T>::iter() {
				ensure!(at >= oldest, "receipt outlived retention");
				ensure!(
					ReceiptsAt::<T>::get(at).contains(&(envelope, who)),
					"receipt missing from its block's list"
				);
			}
			Ok(())
		}
	}
}
