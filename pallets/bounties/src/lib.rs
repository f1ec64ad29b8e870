//! # Quarks Bounties Pallet
//!
//! Hosts paid for delivery (the DistributedMessaging seed's bounties). A sender offers a
//! bounty on one of its anchors: so much for each of up to so many receipts of the
//! anchor's envelopes, held from its balance in escrow. Each receipt whose recipient names
//! the host it fetched the envelope from moves one share from the sender's hold to that
//! host's operator, in the receipt's block, so the payment is final exactly when the
//! receipt is. What is left returns to the sender when the anchor is pruned,
//! [`Config::Retention`] blocks after the block that recorded it.
//!
//! ## Terminology
//!
//! - **Bounty**: [`Bounty`] — a share (`per_receipt`) and how many shares are left, held
//!   under [`HoldReason::Bounty`].
//! - **Delivery**: a receipt that names a host; the messaging pallet checks that the host
//!   is one the recipient chose and reports it through [`OnDelivered`]. The recipient signs
//!   the receipt, so a host cannot claim what it did not deliver, and a recipient can only
//!   pay out shares for envelopes addressed to it, once each.
//!
//! A bounty is one pool for its anchor, which batches every conversation of the sender's
//! block: the first receipts take the shares, whichever leaf they acknowledge. A receipt
//! pays nothing for the recipient's own envelope, or to a host the recipient runs itself
//! (the messaging pallet leaves those out), so no one pays itself out of a bounty; a
//! sender who writes to a group pays for the receipts its members choose to send.
//!
//! ## State
//!
//! One bounty per anchor, and a sender anchors at most once per block, so the bounties
//! that expire in a block are at most the anchors a block records
//! ([`Config::MaxAnchorsPerBlock`]): `on_initialize` returns them all in one block.
//!
//! ## Calls
//!
//! By an anchor's sender: [`Pallet::offer`].

#![cfg_attr(not(feature = "std"), no_std)]
#![deny(missing_docs)]

extern crate alloc;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;
pub mod weights;

pub use pallet::*;
pub use quarks_primitives::{AnchorInspect, AnchorRecord, OnDelivered};
pub use weights::WeightInfo;

/// Log target of this pallet.
const LOG_TARGET: &str = "runtime::quarks-bounties";

#[frame_support::pallet]
pub mod pallet {
	use super::*;
	use codec::{Decode, Encode, MaxEncodedLen};
	use frame_support::{
		pallet_prelude::*,
		traits::{
			fungible::{self, Inspect, InspectHold, MutateHold},
			tokens::{Fortitude, Precision, Restriction},
		},
	};
	use frame_system::pallet_prelude::*;
	use scale_info::TypeInfo;
	use sp_core::H256;
	use sp_runtime::{
		traits::{CheckedMul, Saturating, Zero},
		TryRuntimeError,
	};

	/// The balance type of [`Config::Currency`].
	pub type BalanceOf<T> =
		<<T as Config>::Currency as Inspect<<T as frame_system::Config>::AccountId>>::Balance;

	/// A bounty as stored for a runtime.
	pub type BountyOf<T> = Bounty<BalanceOf<T>, BlockNumberFor<T>>;

	/// What a sender offers for the receipts of one anchor's envelopes.
	#[derive(Encode, Decode, Clone, Copy, PartialEq, Eq, Debug, TypeInfo, MaxEncodedLen)]
	pub struct Bounty<Balance, BlockNumber> {
		/// What each receipt that names a host pays that host's operator.
		pub per_receipt: Balance,
		/// Receipts still paid: `per_receipt × left` is held.
		pub left: u32,
		/// The block whose start returns what is left: the anchor's pruning.
		pub expires_at: BlockNumber,
	}

	impl<Balance: Saturating + From<u32> + Copy, BlockNumber> Bounty<Balance, BlockNumber> {
		/// What the sender holds for it.
		pub fn held(&self) -> Balance {
			self.per_receipt.saturating_mul(self.left.into())
		}
	}

	/// The in-code storage version.
	pub const STORAGE_VERSION: StorageVersion = StorageVersion::new(0);

	#[pallet::pallet]
	#[pallet::storage_version(STORAGE_VERSION)]
	pub struct Pallet<T>(_);

	#[pallet::config]
	pub trait Config: frame_system::Config<RuntimeEvent: From<Event<Self>>> {
		/// The overarching hold reason; this pallet's [`HoldReason`] is one of its variants.
		type RuntimeHoldReason: From<HoldReason>;

		/// The balances bounties are held in and paid from.
		type Currency: fungible::MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>
			+ fungible::Mutate<Self::AccountId>;

		/// The anchors bounties are offered on.
		type Anchors: AnchorInspect<Self::AccountId, BlockNumberFor<Self>>;

		/// Blocks an anchor is kept (the messaging pallet's): a bounty lasts as long.
		#[pallet::constant]
		type Retention: Get<BlockNumberFor<Self>>;

		/// Most anchors a block records (the messaging pallet's): so most bounties that
		/// expire in one block.
		#[pallet::constant]
		type MaxAnchorsPerBlock: Get<u32>;

		/// Most receipts paid per leaf of an anchor: a group message has a receipt from
		/// each member.
		#[pallet::constant]
		type MaxReceiptsPerLeaf: Get<u32>;

		/// The least a share may be: each paid share moves balance to a host operator's
		/// account, which it must be able to create.
		#[pallet::constant]
		type MinBounty: Get<BalanceOf<Self>>;

		/// Weights of this pallet's calls, from its benchmarks.
		type WeightInfo: WeightInfo;

		/// Records anchors for the benchmarks.
		#[cfg(feature = "runtime-benchmarks")]
		type BenchmarkHelper: BenchmarkHelper<Self::AccountId>;
	}

	/// Sets up what the benchmarks need from other pallets.
	#[cfg(feature = "runtime-benchmarks")]
	pub trait BenchmarkHelper<AccountId> {
		/// Record `sender`'s anchor of `count` leaves under `root` at the current block.
		fn anchor(sender: &AccountId, root: H256, count: u32);
	}

	/// A reason for this pallet to hold funds.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// Held for a bounty, paid to hosts on delivery, the rest returned on expiry.
		Bounty,
	}

	/// Bounties, by the anchor's sender and root.
	#[pallet::storage]
	pub type Bounties<T: Config> =
		StorageDoubleMap<_, Blake2_128Concat, T::AccountId, Identity, H256, BountyOf<T>>;

	/// The root of each sender's bounty that expires at a block.
	#[pallet::storage]
	pub type Expiring<T: Config> =
		StorageDoubleMap<_, Twox64Concat, BlockNumberFor<T>, Blake2_128Concat, T::AccountId, H256>;

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A sender offered a bounty on its anchor.
		Offered {
			/// The anchor's sender.
			sender: T::AccountId,
			/// The anchor's root.
			root: H256,
			/// What each receipt pays.
			per_receipt: BalanceOf<T>,
			/// How many receipts are paid.
			receipts: u32,
		},
		/// A receipt paid a host's operator one share.
		Paid {
			/// The anchor's sender.
			sender: T::AccountId,
			/// The anchor's root.
			root: H256,
			/// The operator of the host the recipient fetched the envelope from.
			operator: T::AccountId,
			/// The share.
			amount: BalanceOf<T>,
		},
		/// A bounty expired with its anchor; what was left went back to the sender.
		Returned {
			/// The anchor's sender.
			sender: T::AccountId,
			/// The anchor's root.
			root: H256,
			/// What was left.
			amount: BalanceOf<T>,
		},
	}

	#[pallet::error]
	pub enum Error<T> {
		/// No anchor of the caller under this root (never anchored, or pruned).
		UnknownAnchor,
		/// This anchor has a bounty already.
		AlreadyOffered,
		/// A bounty pays 1 to `MaxReceiptsPerLeaf` receipts per leaf of its anchor.
		InvalidReceipts,
		/// Each receipt must pay at least `MinBounty`.
		BelowMinimum,
		/// The caller cannot hold the bounty (its share times its receipts).
		CannotPay,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		/// Returns to their senders what is left of the bounties expiring now: at most
		/// `MaxAnchorsPerBlock`.
		fn on_initialize(now: BlockNumberFor<T>) -> Weight {
			let mut expired = 0u32;
			for (sender, root) in Expiring::<T>::drain_prefix(now) {
				expired.saturating_inc();
				let Some(bounty) = Bounties::<T>::take(&sender, root) else { continue };
				let reason = HoldReason::Bounty.into();
				let released =
					T::Currency::release(&reason, &sender, bounty.held(), Precision::BestEffort);
				let amount = released.unwrap_or_else(|_| {
					log::error!(target: LOG_TARGET, "bounty {root:?} of {sender:?}: not released");
					Zero::zero()
				});
				Self::deposit_event(Event::Returned { sender, root, amount });
			}
			T::WeightInfo::expire(expired)
		}

		fn integrity_test() {
			assert!(T::MaxReceiptsPerLeaf::get() >= 1, "a bounty pays at least one receipt");
			assert!(!T::Retention::get().is_zero(), "a bounty lasts a while");
			assert!(!T::MinBounty::get().is_zero(), "a share moves something");
		}

		#[cfg(feature = "try-runtime")]
		fn try_state(_n: BlockNumberFor<T>) -> Result<(), TryRuntimeError> {
			Self::do_try_state()
		}
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Offer `per_receipt` for each of up to `receipts` receipts of the envelopes under
		/// the caller's anchor `root`, held until paid to the hosts that deliver them, or
		/// until the anchor is pruned. `receipts` is 1 to `MaxReceiptsPerLeaf` per leaf.
		/// Emits [`Event::Offered`].
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::offer())]
		pub fn offer(
			origin: OriginFor<T>,
			root: H256,
			per_receipt: BalanceOf<T>,
			receipts: u32,
		) -> DispatchResult {
			let sender = ensure_signed(origin)?;
			let anchor = T::Anchors::anchor(&sender, &root).ok_or(Error::<T>::UnknownAnchor)?;
			ensure!(!Bounties::<T>::contains_key(&sender, root), Error::<T>::AlreadyOffered);
			let most = anchor.count.saturating_mul(T::MaxReceiptsPerLeaf::get());
			ensure!((1..=most).contains(&receipts), Error::<T>::InvalidReceipts);
			ensure!(per_receipt >= T::MinBounty::get(), Error::<T>::BelowMinimum);
			let total = per_receipt.checked_mul(&receipts.into()).ok_or(Error::<T>::CannotPay)?;
			let expires_at = anchor.anchored_at.saturating_add(T::Retention::get());
			// An anchor kept past its retention (one shortened by an upgrade) takes no
			// bounty; and a sender has one expiry entry a block (for the one anchor it
			// recorded then, unless the retention changed since).
			let now = frame_system::Pallet::<T>::block_number();
			ensure!(expires_at > now, Error::<T>::UnknownAnchor);
			ensure!(!Expiring::<T>::contains_key(expires_at, &sender), Error::<T>::AlreadyOffered);

			T::Currency::hold(&HoldReason::Bounty.into(), &sender, total)
				.map_err(|_| Error::<T>::CannotPay)?;
			Bounties::<T>::insert(
				&sender,
				root,
				Bounty { per_receipt, left: receipts, expires_at },
			);
			Expiring::<T>::insert(expires_at, &sender, root);
			Self::deposit_event(Event::Offered { sender, root, per_receipt, receipts });
			Ok(())
		}
	}

	#[pallet::view_functions]
	impl<T: Config> Pallet<T> {
		/// The bounty on `sender`'s anchor `root`, while any of it is left.
		pub fn bounty_of(sender: T::AccountId, root: H256) -> Option<BountyOf<T>> {
			Bounties::<T>::get(sender, root)
		}
	}

	impl<T: Config> OnDelivered<T::AccountId> for Pallet<T> {
		/// Pays `operator` one share of the bounty on `sender`'s anchor `root`, if any is
		/// left.
		fn delivered(sender: &T::AccountId, root: &H256, operator: &T::AccountId) -> Weight {
			let Some(mut bounty) = Bounties::<T>::get(sender, root) else {
				return T::DbWeight::get().reads(1);
			};
			let paid = T::Currency::transfer_on_hold(
				&HoldReason::Bounty.into(),
				sender,
				operator,
				bounty.per_receipt,
				Precision::Exact,
				Restriction::Free,
				Fortitude::Polite,
			);
			if paid.is_err() {
				// An operator account that cannot take it: the share stays the sender's.
				log::warn!(target: LOG_TARGET, "bounty {root:?}: share not paid to {operator:?}");
				return T::WeightInfo::pay();
			}
			bounty.left.saturating_dec();
			if bounty.left == 0 {
				Bounties::<T>::remove(sender, root);
				Expiring::<T>::remove(bounty.expires_at, sender);
			} else {
				Bounties::<T>::insert(sender, root, bounty);
			}
			Self::deposit_event(Event::Paid {
				sender: sender.clone(),
				root: *root,
				operator: operator.clone(),
				amount: bounty.per_receipt,
			});
			T::WeightInfo::pay()
		}

		fn weight() -> Weight {
			T::WeightInfo::pay()
		}
	}

	impl<T: Config> Pallet<T> {
		/// The invariants: each bounty has shares left, expires in the future and has its
		/// expiry entry, each expiry entry its bounty, and each sender holds exactly what
		/// its bounties have left.
		pub fn do_try_state() -> Result<(), TryRuntimeError> {
			let now = frame_system::Pallet::<T>::block_number();
			let mut held = alloc::collections::BTreeMap::<T::AccountId, BalanceOf<T>>::new();
			for (sender, root, bounty) in Bounties::<T>::iter() {
				ensure!(bounty.left > 0, "a bounty with nothing left is kept");
				ensure!(bounty.expires_at > now, "a bounty outlived its expiry");
				ensure!(
					Expiring::<T>::get(bounty.expires_at, &sender) == Some(root),
					"a bounty has no expiry entry"
				);
				let sum = held.entry(sender).or_insert_with(Zero::zero);
				*sum = sum.saturating_add(bounty.held());
			}
			for (expires_at, sender, root) in Expiring::<T>::iter() {
				ensure!(
					Bounties::<T>::get(&sender, root).is_some_and(|b| b.expires_at == expires_at),
					"an expiry entry has no bounty"
				);
			}
			for (sender, sum) in held {
				ensure!(
					T::Currency::balance_on_hold(&HoldReason::Bounty.into(), &sender) == sum,
					"a sender's hold is not what its bounties have left"
				);
			}
			Ok(())
		}
	}
}
