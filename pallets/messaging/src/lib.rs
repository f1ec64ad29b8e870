//! # Quarks Messaging Pallet
//!
//! The notary of Quarks messages. A sender anchors its envelopes — never their content —
//! by the Merkle root of a batch whose leaves each bind one envelope hash to its
//! destination and size class; recipients acknowledge delivery per leaf. Anyone can later
//! show who sent which ciphertext when, to whom, and that it was delivered.
//!
//! Delivery itself never waits for this pallet: nodes push envelopes to hosts at once, and
//! the chain notarizes after (docs/protocol.md, "The two clocks").
//!
//! ## Terminology
//!
//! - **Leaf**: [`AnchorLeaf`] — an envelope hash with its destination and size class.
//! - **Anchor**: a sender's record of the root over a batch of 1 to
//!   [`Config::MaxBatchSize`] leaves ([`quarks_primitives::merkle`]), keyed by
//!   (sender, root): no account can pre-claim another's anchor, a group rotation's
//!   included.
//! - **Receipt**: a recipient's acknowledgement of one leaf: for a direct message the
//!   addressee, for a group message any member of its key epoch. It may name the host the
//!   recipient fetched the envelope from, one it chose: a bounty on the anchor pays that
//!   host's operator ([`Config::OnDelivered`], the bounties pallet).
//! - **Retention**: anchors and receipts stay in state for [`Config::Retention`] blocks
//!   after the block that recorded them, then `on_initialize` prunes them; their events
//!   stay in the blocks.
//!
//! ## Capacity and state
//!
//! Each account records at most one anchor and one batch of receipts per block, however
//! many conversations they cover, so network capacity is counted in senders per block,
//! not messages: a block records at most [`Config::MaxAnchorsPerBlock`] anchors (each up to
//! `MaxBatchSize` leaves) and [`Config::MaxReceiptsPerBlock`] receipts. State therefore
//! holds at most `Retention × (MaxAnchorsPerBlock + MaxReceiptsPerBlock)` records, and
//! pruning a block's records fits in a block.
//!
//! ## Relay
//!
//! The pallet's offchain worker is the relay that guarantees delivery to hosts: it carries
//! envelopes clients handed to this node to every host each recipient chose, until each
//! host confirmed (see the `relay_worker` module).
//!
//! ## Calls
//!
//! By any signed account with a valid encryption key: [`Pallet::anchor`].
//! By a recipient: [`Pallet::acknowledge`].

#![cfg_attr(not(feature = "std"), no_std)]
#![deny(missing_docs)]

extern crate alloc;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
#[cfg(test)]
mod mock;
mod relay_worker;
#[cfg(test)]
mod tests;
pub mod weights;

pub use pallet::*;
pub use quarks_primitives::{
	hosting::{HostInspect, MAX_RECEIPTS_READ, MAX_RECEIPT_BLOCKS},
	merkle::{AnchorLeaf, InclusionProof},
	AnchorInspect, AnchorRecord, Destination, DeviceInspect, GroupInspect, OnDelivered, SizeClass,
	SIZE_CLASSES,
};
pub use weights::WeightInfo;

/// Log target of the relay.
pub const LOG_TARGET: &str = "runtime::quarks-relay";

#[frame_support::pallet]
pub mod pallet {
	use super::*;
	use alloc::vec::Vec;
	use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
	use frame_support::pallet_prelude::*;
	use frame_system::pallet_prelude::*;
	use scale_info::TypeInfo;
	use sp_core::H256;
	use sp_runtime::{
		traits::{CheckedSub, One, Saturating, Zero},
		TryRuntimeError,
	};

	/// An anchor record as stored for a runtime.
	pub type AnchorOf<T> = AnchorRecord<BlockNumberFor<T>>;

	/// One acknowledged leaf: the anchor holding it, the leaf, and its inclusion proof.
	#[derive(Encode, Decode, DecodeWithMemTracking, Clone, PartialEq, Eq, Debug, TypeInfo)]
	pub struct ReceiptItem<AccountId> {
		/// The sender who anchored it.
		pub sender: AccountId,
		/// The anchored root.
		pub root: H256,
		/// The leaf: envelope hash, destination, size class.
		pub leaf: AnchorLeaf<AccountId>,
		/// The leaf's proof against the root.
		pub proof: InclusionProof,
		/// The operator of the host the recipient fetched it from: if it is one of the
		/// recipient's chosen hosts, a bounty on the anchor pays it a share
		/// ([`Config::OnDelivered`]).
		pub host: Option<AccountId>,
	}

	/// What the current block has recorded so far, to enforce the per-block bounds.
	#[derive(
		Encode,
		Decode,
		DecodeWithMemTracking,
		Clone,
		Copy,
		Default,
		PartialEq,
		Eq,
		Debug,
		TypeInfo,
		MaxEncodedLen,
	)]
	pub struct BlockUsage<BlockNumber> {
		/// The block counted.
		pub block: BlockNumber,
		/// Anchors recorded in it.
		pub anchors: u32,
		/// Receipts recorded in it.
		pub receipts: u32,
	}

	/// The in-code storage version. A change to a stored type bumps it, with a
	/// `VersionedMigration` from the one before (as the groups pallet's `migrations::v1`).
	pub const STORAGE_VERSION: StorageVersion = StorageVersion::new(0);

	#[pallet::pallet]
	#[pallet::storage_version(STORAGE_VERSION)]
	pub struct Pallet<T>(_);

	#[pallet::config]
	pub trait Config: frame_system::Config<RuntimeEvent: From<Event<Self>>> {
		/// Accounts' devices: a sender needs a bound one to anchor.
		type Devices: DeviceInspect<Self::AccountId>;

		/// Groups, their members and epochs: who may acknowledge a group leaf.
		type Groups: GroupInspect<Self::AccountId>;

		/// Hosts and users' choices of hosts, for the relay and the hosts receipts name.
		type Hosts: HostInspect<Self::AccountId, BlockNumberFor<Self>>;

		/// Told of each receipt that names a host (the bounties pallet pays it).
		type OnDelivered: OnDelivered<Self::AccountId>;

		/// Most leaves under one anchor.
		#[pallet::constant]
		type MaxBatchSize: Get<u32>;

		/// Most receipts in one `acknowledge`.
		#[pallet::constant]
		type MaxReceiptBatch: Get<u32>;

		/// Most anchors (so senders) recorded per block.
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
		/// Have `user` choose as many admitted hosts as a user may; the operator of the
		/// last of them.
		fn choose_hosts(user: &AccountId) -> AccountId;
	}

	/// Anchors, by sender and root.
	#[pallet::storage]
	pub type Anchors<T: Config> =
		StorageDoubleMap<_, Blake2_128Concat, T::AccountId, Identity, H256, AnchorOf<T>>;

	/// Receipts: the block at which an account acknowledged an envelope.
	#[pallet::storage]
	pub type Receipts<T: Config> =
		StorageDoubleMap<_, Identity, H256, Blake2_128Concat, T::AccountId, BlockNumberFor<T>>;

	/// The root each sender anchored in a block, pruned `Retention` blocks later.
	#[pallet::storage]
	pub type AnchorsAt<T: Config> =
		StorageDoubleMap<_, Twox64Concat, BlockNumberFor<T>, Blake2_128Concat, T::AccountId, H256>;

	/// The envelopes each recipient acknowledged in a block, pruned `Retention` blocks later.
	#[pallet::storage]
	pub type ReceiptsAt<T: Config> = StorageDoubleMap<
		_,
		Twox64Concat,
		BlockNumberFor<T>,
		Blake2_128Concat,
		T::AccountId,
		BoundedVec<H256, T::MaxReceiptBatch>,
	>;

	/// Anchors and receipts the current block recorded.
	#[pallet::storage]
	pub type Usage<T: Config> = StorageValue<_, BlockUsage<BlockNumberFor<T>>, ValueQuery>;

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A sender anchored a batch of envelopes.
		Anchored {
			/// The sender.
			sender: T::AccountId,
			/// The root over the batch's leaves.
			root: H256,
			/// Leaves under it.
			count: u32,
		},
		/// A recipient acknowledged an envelope; hosts may delete it for this recipient.
		Delivered {
			/// The sender who anchored it.
			sender: T::AccountId,
			/// The anchor's root.
			root: H256,
			/// The envelope hash.
			envelope: H256,
			/// The recipient.
			recipient: T::AccountId,
		},
	}

	#[pallet::error]
	pub enum Error<T> {
		/// The sender has no device bound.
		SenderHasNoDevice,
		/// An anchor holds 1 to `MaxBatchSize` leaves.
		InvalidBatchSize,
		/// The sender already anchored this root.
		AlreadyAnchored,
		/// The sender already anchored in this block: one anchor per sender per block,
		/// batching every conversation; try the next block.
		AlreadyAnchoredInBlock,
		/// This block already holds `MaxAnchorsPerBlock` anchors; try the next one.
		BlockAnchorsFull,
		/// No anchor of this sender under this root (never anchored, or pruned).
		UnknownAnchor,
		/// The leaf's inclusion proof does not verify under the anchor.
		NotInAnchor,
		/// The caller is not a recipient of the leaf's destination.
		NotRecipient,
		/// The caller already acknowledged this envelope.
		AlreadyAcknowledged,
		/// The caller already acknowledged in this block: one batch per account per block.
		AlreadyAcknowledgedInBlock,
		/// This block already holds `MaxReceiptsPerBlock` receipts; try the next one.
		BlockReceiptsFull,
		/// A receipt batch is empty or repeats an envelope.
		InvalidReceiptBatch,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		/// Prune what was recorded `Retention` blocks ago: at most `MaxAnchorsPerBlock`
		/// anchors and `MaxReceiptsPerBlock` receipts.
		fn on_initialize(now: BlockNumberFor<T>) -> Weight {
			let Some(recorded) = now.checked_sub(&T::Retention::get()) else {
				return T::WeightInfo::prune(0, 0);
			};
			let mut anchors = 0u32;
			for (sender, root) in AnchorsAt::<T>::drain_prefix(recorded) {
				Anchors::<T>::remove(&sender, root);
				anchors.saturating_inc();
			}
			let mut receipts = 0u32;
			for (who, envelopes) in ReceiptsAt::<T>::drain_prefix(recorded) {
				for envelope in envelopes {
					Receipts::<T>::remove(envelope, &who);
					receipts.saturating_inc();
				}
			}
			T::WeightInfo::prune(anchors, receipts)
		}

		/// Relay envelopes handed to this node to their recipients' hosts.
		fn offchain_worker(now: BlockNumberFor<T>) {
			relay_worker::run::<T>(now);
		}

		fn integrity_test() {
			assert!(T::MaxBatchSize::get() >= 1, "an anchor holds at least one leaf");
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
		/// Anchor a batch of `count` envelopes by `root`, the Merkle root over their leaves
		/// ([`quarks_primitives::merkle::batch_root`] of [`AnchorLeaf`] values; a single
		/// envelope is a batch of one).
		///
		/// The origin must be signed by the sender, who needs a bound device and
		/// may anchor once per block. `count` is 1 to `MaxBatchSize`. Emits
		/// [`Event::Anchored`].
		#[pallet::call_index(4)]
		#[pallet::weight(T::WeightInfo::anchor().max(Pallet::<T>::slot_share(1, T::MaxAnchorsPerBlock::get())))]
		pub fn anchor(origin: OriginFor<T>, root: H256, count: u32) -> DispatchResult {
			let sender = ensure_signed(origin)?;
			ensure!((1..=T::MaxBatchSize::get()).contains(&count), Error::<T>::InvalidBatchSize);
			ensure!(T::Devices::has_device(&sender), Error::<T>::SenderHasNoDevice);
			let now = Self::now();
			ensure!(
				!AnchorsAt::<T>::contains_key(now, &sender),
				Error::<T>::AlreadyAnchoredInBlock
			);
			ensure!(!Anchors::<T>::contains_key(&sender, root), Error::<T>::AlreadyAnchored);
			let mut usage = Self::usage(now);
			ensure!(usage.anchors < T::MaxAnchorsPerBlock::get(), Error::<T>::BlockAnchorsFull);

			usage.anchors.saturating_inc();
			Usage::<T>::put(usage);
			AnchorsAt::<T>::insert(now, &sender, root);
			Anchors::<T>::insert(&sender, root, AnchorRecord { count, anchored_at: now });
			Self::deposit_event(Event::Anchored { sender, root, count });
			Ok(())
		}

		/// Acknowledge delivery of 1 to `MaxReceiptBatch` distinct envelopes, each by its
		/// leaf and inclusion proof in its sender's anchor; all or none are recorded.
		///
		/// The origin must be a recipient of each leaf: the direct addressee, or a member
		/// of the group epoch. One batch per account per block. Emits
		/// [`Event::Delivered`] for each.
		#[pallet::call_index(5)]
		#[pallet::weight(
			T::WeightInfo::acknowledge(items.len() as u32)
				.max(Pallet::<T>::slot_share(items.len() as u32, T::MaxReceiptsPerBlock::get()))
				.saturating_add(
					T::OnDelivered::weight()
						.saturating_mul(items.iter().filter(|item| item.host.is_some()).count() as u64)
				)
		)]
		pub fn acknowledge(
			origin: OriginFor<T>,
			items: BoundedVec<ReceiptItem<T::AccountId>, T::MaxReceiptBatch>,
		) -> DispatchResultWithPostInfo {
			let who = ensure_signed(origin)?;
			ensure!(!items.is_empty(), Error::<T>::InvalidReceiptBatch);
			let now = Self::now();
			ensure!(
				!ReceiptsAt::<T>::contains_key(now, &who),
				Error::<T>::AlreadyAcknowledgedInBlock
			);
			// The hosts a receipt may name, read once for the batch. One it names that the
			// caller did not choose (a choice changed since it fetched), or runs itself, is
			// paid nothing, nor is any for the caller's own envelope; the receipt stands.
			let chosen = match items.iter().any(|item| item.host.is_some()) {
				true => T::Hosts::hosts_of(&who),
				false => Vec::new(),
			};
			for (i, item) in items.iter().enumerate() {
				ensure!(
					!items[..i].iter().any(|other| other.leaf.envelope == item.leaf.envelope),
					Error::<T>::InvalidReceiptBatch
				);
				Self::check_receipt(&who, item)?;
			}
			let mut usage = Self::usage(now);
			let recorded = usage.receipts.saturating_add(items.len() as u32);
			ensure!(recorded <= T::MaxReceiptsPerBlock::get(), Error::<T>::BlockReceiptsFull);

			usage.receipts = recorded;
			Usage::<T>::put(usage);
			let envelopes: BoundedVec<H256, T::MaxReceiptBatch> = items
				.iter()
				.map(|item| item.leaf.envelope)
				.collect::<Vec<_>>()
				.try_into()
				.map_err(|_| Error::<T>::InvalidReceiptBatch)?;
			let count = envelopes.len() as u32;
			ReceiptsAt::<T>::insert(now, &who, envelopes);
			let mut paying = Weight::zero();
			for item in items {
				let paid = item
					.host
					.as_ref()
					.filter(|host| chosen.contains(host) && **host != who && item.sender != who);
				if let Some(host) = paid {
					let used = T::OnDelivered::delivered(&item.sender, &item.root, host);
					paying.saturating_accrue(used);
				}
				Receipts::<T>::insert(item.leaf.envelope, &who, now);
				Self::deposit_event(Event::Delivered {
					sender: item.sender,
					root: item.root,
					envelope: item.leaf.envelope,
					recipient: who.clone(),
				});
			}
			// What the payments weighed, in place of the most they could.
			let base = T::WeightInfo::acknowledge(count)
				.max(Pallet::<T>::slot_share(count, T::MaxReceiptsPerBlock::get()));
			Ok(Some(base.saturating_add(paying)).into())
		}
	}

	#[pallet::view_functions]
	impl<T: Config> Pallet<T> {
		/// The anchor `sender` recorded under `root`, if kept.
		pub fn anchor_of(sender: T::AccountId, root: H256) -> Option<AnchorOf<T>> {
			Anchors::<T>::get(sender, root)
		}

		/// The block at which `recipient` acknowledged `envelope`, if kept.
		pub fn receipt_of(envelope: H256, recipient: T::AccountId) -> Option<BlockNumberFor<T>> {
			Receipts::<T>::get(envelope, recipient)
		}

		/// Whether `proof` shows `leaf` in the anchor `sender` recorded under `root`.
		pub fn verify_inclusion(
			sender: T::AccountId,
			root: H256,
			leaf: AnchorLeaf<T::AccountId>,
			proof: InclusionProof,
		) -> bool {
			Anchors::<T>::get(sender, root).is_some_and(|a| a.covers(&root, &leaf.value(), &proof))
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

		/// The anchors recorded in block `block`: sender, root, record.
		pub fn anchors_in(block: BlockNumberFor<T>) -> Vec<(T::AccountId, H256, AnchorOf<T>)> {
			AnchorsAt::<T>::iter_prefix(block)
				.filter_map(|(sender, root)| {
					Anchors::<T>::get(&sender, root).map(|anchor| (sender, root, anchor))
				})
				.collect()
		}

		/// The receipts recorded in block `block`: (envelope, recipient).
		pub fn receipts_in(block: BlockNumberFor<T>) -> Vec<(H256, T::AccountId)> {
			ReceiptsAt::<T>::iter_prefix(block)
				.flat_map(|(who, envelopes)| envelopes.into_iter().map(move |e| (e, who.clone())))
				.collect()
		}

		/// The receipts recorded in blocks `from..=to`, whole blocks at a time: at most
		/// [`MAX_RECEIPT_BLOCKS`] blocks, stopping after the block that reaches
		/// [`MAX_RECEIPTS_READ`] receipts. Returns them with the last block read (`to`
		/// when every block was; `from - 1`, nothing read, when `from > to`).
		pub fn receipts_from(
			from: BlockNumberFor<T>,
			to: BlockNumberFor<T>,
		) -> (Vec<(H256, T::AccountId)>, BlockNumberFor<T>) {
			let mut receipts = Vec::new();
			if from > to {
				return (receipts, from.saturating_sub(One::one()));
			}
			let last = to.min(from.saturating_add(MAX_RECEIPT_BLOCKS.saturating_sub(1).into()));
			let mut block = from;
			loop {
				receipts.extend(Self::receipts_in(block));
				if block >= last || receipts.len() >= MAX_RECEIPTS_READ {
					return (receipts, block);
				}
				block = block.saturating_add(One::one());
			}
		}

		/// Those of `recipients` whose receipt of `envelope` is kept.
		pub fn acknowledged_by(envelope: H256, recipients: Vec<T::AccountId>) -> Vec<T::AccountId> {
			recipients
				.into_iter()
				.filter(|who| Receipts::<T>::contains_key(envelope, who))
				.collect()
		}

		fn now() -> BlockNumberFor<T> {
			frame_system::Pallet::<T>::block_number()
		}

		/// The least weight `used` of a block's `slots` shared slots (anchors, receipts)
		/// count for: half the slots make half of a normal block's weight. A block's slots
		/// are a shared resource its weight must show, so fees rise (they follow how full
		/// blocks are) before the slots fill, not only after what they cost to execute.
		pub fn slot_share(used: u32, slots: u32) -> Weight {
			let normal = <T as frame_system::Config>::BlockWeights::get()
				.get(DispatchClass::Normal)
				.max_total
				.unwrap_or_else(|| <T as frame_system::Config>::BlockWeights::get().max_block);
			let per_slot = normal.ref_time().div_ceil(u64::from(slots.max(1)).saturating_mul(2));
			Weight::from_parts(per_slot.saturating_mul(u64::from(used)), 0)
		}

		/// What block `now` recorded so far.
		fn usage(now: BlockNumberFor<T>) -> BlockUsage<BlockNumberFor<T>> {
			Some(Usage::<T>::get()).filter(|usage| usage.block == now).unwrap_or(BlockUsage {
				block: now,
				anchors: 0,
				receipts: 0,
			})
		}

		fn check_receipt(who: &T::AccountId, item: &ReceiptItem<T::AccountId>) -> DispatchResult {
			let anchor =
				Anchors::<T>::get(&item.sender, item.root).ok_or(Error::<T>::UnknownAnchor)?;
			ensure!(
				anchor.covers(&item.root, &item.leaf.value(), &item.proof),
				Error::<T>::NotInAnchor
			);
			let recipient = match &item.leaf.destination {
				Destination::Direct(recipient) => recipient == who,
				Destination::Group { group, epoch } => T::Groups::was_member(*group, *epoch, who),
			};
			ensure!(recipient, Error::<T>::NotRecipient);
			ensure!(
				!Receipts::<T>::contains_key(item.leaf.envelope, who),
				Error::<T>::AlreadyAcknowledged
			);
			Ok(())
		}

		/// Invariants: every anchor and receipt is listed under the block that recorded it,
		/// within retention, every listed entry exists, and the block's usage counts them.
		pub fn do_try_state() -> Result<(), TryRuntimeError> {
			let now = Self::now();
			let oldest = now.saturating_sub(T::Retention::get());
			for (sender, root, record) in Anchors::<T>::iter() {
				ensure!(record.anchored_at >= oldest, "anchor outlived retention");
				ensure!(
					AnchorsAt::<T>::get(record.anchored_at, &sender) == Some(root),
					"anchor missing from its block's list"
				);
				ensure!(record.count >= 1, "anchor of no leaf");
			}
			for (at, sender, root) in AnchorsAt::<T>::iter() {
				ensure!(
					Anchors::<T>::get(&sender, root).is_some_and(|a| a.anchored_at == at),
					"listed anchor missing"
				);
			}
			for (envelope, who, at) in Receipts::<T>::iter() {
				ensure!(at >= oldest, "receipt outlived retention");
				ensure!(
					ReceiptsAt::<T>::get(at, &who).is_some_and(|list| list.contains(&envelope)),
					"receipt missing from its block's list"
				);
			}
			let usage = Self::usage(now);
			ensure!(
				usage.anchors as usize == AnchorsAt::<T>::iter_prefix(now).count(),
				"anchor usage miscounted"
			);
			ensure!(
				usage.receipts as usize == Self::receipts_in(now).len(),
				"receipt usage miscounted"
			);
			Ok(())
		}
	}
}

impl<T: Config> AnchorInspect<T::AccountId, frame_system::pallet_prelude::BlockNumberFor<T>>
	for Pallet<T>
{
	fn anchor(sender: &T::AccountId, root: &sp_core::H256) -> Option<AnchorOf<T>> {
		Anchors::<T>::get(sender, root)
	}
}
