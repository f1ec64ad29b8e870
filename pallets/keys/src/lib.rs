//! # Quarks Keys Pallet
//!
//! Accounts publish the X25519 public key others encrypt to. Keys have versions and an
//! expiry block on chain, so anyone can tell which key of an account was valid at any
//! block — what a recipient checks before trusting a message, and what an auditor checks
//! later.
//!
//! ## Terminology
//!
//! - **Version**: the n-th key an account published; the first is version 1.
//! - **Valid**: a version is valid from the block it was published until its expiry, its
//!   revocation, or the publication of the next version, whichever comes first. At most
//!   one version of an account is valid at any block (see [`KeyRecord`]).
//! - **History**: the last [`Config::MaxKeyVersions`] versions are kept. When the history
//!   is full, publishing drops the oldest version, which must have ended at least
//!   [`Config::KeptAfterEnd`] blocks ago: every anchor made while it was valid has been
//!   pruned by then, so no record an anchor in state may need is ever dropped.
//!
//! ## Calls
//!
//! By any signed account, for its own keys:
//! - [`Pallet::publish_key`]: publish a first key, or rotate to a new version.
//! - [`Pallet::revoke_key`]: end the valid version early.
//!
//! ## Queries
//!
//! View functions [`Pallet::key_at`] ("which key of A was valid at block N") and
//! [`Pallet::current_key`]; other pallets use [`KeyInspect`].

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
use quarks_primitives::is_low_order_x25519;
pub use quarks_primitives::{EncryptionKey, KeyInspect, KeyRecord, KeyVersion};
pub use weights::WeightInfo;

#[frame_support::pallet]
pub mod pallet {
	use super::*;
	use alloc::vec::Vec;
	use frame_support::pallet_prelude::*;
	use frame_system::pallet_prelude::*;
	use sp_runtime::{
		traits::{Saturating, Zero},
		TryRuntimeError,
	};

	/// A key record as stored for a runtime.
	pub type KeyRecordOf<T> = KeyRecord<BlockNumberFor<T>>;

	#[pallet::pallet]
	pub struct Pallet<T>(_);

	#[pallet::config]
	pub trait Config: frame_system::Config<RuntimeEvent: From<Event<Self>>> {
		/// Versions kept per account.
		#[pallet::constant]
		type MaxKeyVersions: Get<u32>;

		/// Longest time, in blocks, a key may be published for.
		#[pallet::constant]
		type MaxKeyLifetime: Get<BlockNumberFor<Self>>;

		/// Blocks an ended version stays in the history: at least as long as anything
		/// checked against it (anchors) stays in state.
		#[pallet::constant]
		type KeptAfterEnd: Get<BlockNumberFor<Self>>;

		/// Weights of this pallet's calls, from its benchmarks.
		type WeightInfo: WeightInfo;
	}

	/// The kept key versions of each account, oldest first.
	#[pallet::storage]
	pub type Keys<T: Config> = StorageMap<
		_,
		Blake2_128Concat,
		T::AccountId,
		BoundedVec<KeyRecordOf<T>, T::MaxKeyVersions>,
		ValueQuery,
	>;

	#[pallet::genesis_config]
	#[derive(frame_support::DefaultNoBound)]
	pub struct GenesisConfig<T: Config> {
		/// Keys valid from genesis, as version 1: account, X25519 key, expiry block.
		pub keys: Vec<(T::AccountId, EncryptionKey, BlockNumberFor<T>)>,
	}

	#[pallet::genesis_build]
	impl<T: Config> BuildGenesisConfig for GenesisConfig<T> {
		fn build(&self) {
			for (who, key, expires_at) in &self.keys {
				assert!(!is_low_order_x25519(key), "genesis key of {who:?} is a low-order point");
				assert!(!expires_at.is_zero(), "genesis key of {who:?} expires at genesis");
				assert!(!Keys::<T>::contains_key(who), "{who:?} has two genesis keys");
				let record = KeyRecord {
					version: 1,
					key: *key,
					valid_from: Zero::zero(),
					valid_until: *expires_at,
					expires_at: *expires_at,
					revoked: false,
				};
				Keys::<T>::insert(who, BoundedVec::truncate_from(alloc::vec![record]));
			}
		}
	}

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// An account published a key version; any earlier version stopped being valid.
		KeyPublished {
			/// The account.
			who: T::AccountId,
			/// The new version.
			version: KeyVersion,
			/// The X25519 public key.
			key: EncryptionKey,
			/// First block at which it is valid.
			valid_from: BlockNumberFor<T>,
			/// Block at which it expires.
			expires_at: BlockNumberFor<T>,
		},
		/// An account revoked its valid key version.
		KeyRevoked {
			/// The account.
			who: T::AccountId,
			/// The revoked version.
			version: KeyVersion,
		},
	}

	#[pallet::error]
	pub enum Error<T> {
		/// The key is a low-order X25519 point (all zeroes among them): a secret shared with
		/// it would not be secret.
		InvalidKey,
		/// The expiry is not after the current block.
		ExpiryInPast,
		/// The expiry is further away than `MaxKeyLifetime`.
		LifetimeTooLong,
		/// This key was already published by the account; a rotation needs a fresh key.
		KeyReused,
		/// The history is full and its oldest version is still valid, or ended less than
		/// `KeptAfterEnd` blocks ago.
		TooManyKeyVersions,
		/// The account has no valid key to revoke.
		NoValidKey,
		/// The given version is not the account's valid one.
		NotValidVersion,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		fn integrity_test() {
			assert!(T::MaxKeyVersions::get() >= 2, "MaxKeyVersions must allow a rotation");
			assert!(
				T::MaxKeyLifetime::get() > BlockNumberFor::<T>::zero(),
				"MaxKeyLifetime must be positive"
			);
		}

		#[cfg(feature = "try-runtime")]
		fn try_state(_n: BlockNumberFor<T>) -> Result<(), TryRuntimeError> {
			Self::do_try_state()
		}
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Publish `key` as the caller's next key version, valid from this block until
		/// `expires_at` (exclusive). The previously valid version, if any, ends now.
		///
		/// The origin must be signed. `expires_at` must be after the current block and at
		/// most `MaxKeyLifetime` ahead; `key` must not be a low-order point nor a key the account
		/// published before. Emits [`Event::KeyPublished`].
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::publish_key())]
		pub fn publish_key(
			origin: OriginFor<T>,
			key: EncryptionKey,
			expires_at: BlockNumberFor<T>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let now = frame_system::Pallet::<T>::block_number();

			ensure!(!is_low_order_x25519(&key), Error::<T>::InvalidKey);
			ensure!(expires_at > now, Error::<T>::ExpiryInPast);
			ensure!(
				expires_at <= now.saturating_add(T::MaxKeyLifetime::get()),
				Error::<T>::LifetimeTooLong
			);
			let mut history = Keys::<T>::get(&who);
			ensure!(history.iter().all(|r| r.key != key), Error::<T>::KeyReused);
			let version = history.last().map_or(1, |r| r.version.saturating_add(1));
			if history.is_full() {
				let kept_until =
					|r: &KeyRecordOf<T>| r.valid_until.saturating_add(T::KeptAfterEnd::get());
				let oldest_unneeded =
					history.first().is_some_and(|r| !r.is_valid_at(&now) && kept_until(r) <= now);
				ensure!(oldest_unneeded, Error::<T>::TooManyKeyVersions);
				history.remove(0);
			}

			if let Some(current) = history.last_mut() {
				if current.is_valid_at(&now) {
					current.valid_until = now;
				}
			}
			let record = KeyRecord {
				version,
				key,
				valid_from: now,
				valid_until: expires_at,
				expires_at,
				revoked: false,
			};
			history.try_push(record).map_err(|_| Error::<T>::TooManyKeyVersions)?;
			Keys::<T>::insert(&who, history);

			Self::deposit_event(Event::KeyPublished {
				who,
				version,
				key,
				valid_from: now,
				expires_at,
			});
			Ok(())
		}

		/// Revoke the caller's valid key `version`: it stops being valid at this block.
		///
		/// The origin must be signed and `version` must be its valid version (naming it
		/// guards against revoking a newer key by mistake). Emits [`Event::KeyRevoked`].
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::revoke_key())]
		pub fn revoke_key(origin: OriginFor<T>, version: KeyVersion) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let now = frame_system::Pallet::<T>::block_number();

			let mut history = Keys::<T>::get(&who);
			let current = history
				.iter_mut()
				.rev()
				.find(|r| r.is_valid_at(&now))
				.ok_or(Error::<T>::NoValidKey)?;
			ensure!(current.version == version, Error::<T>::NotValidVersion);

			current.valid_until = now;
			current.revoked = true;
			Keys::<T>::insert(&who, history);

			Self::deposit_event(Event::KeyRevoked { who, version });
			Ok(())
		}
	}

	#[pallet::view_functions]
	impl<T: Config> Pallet<T> {
		/// The key version of `who` that was valid at block `at`, if it is still kept.
		pub fn key_at(who: T::AccountId, at: BlockNumberFor<T>) -> Option<KeyRecordOf<T>> {
			Keys::<T>::get(&who).into_iter().rev().find(|r| r.is_valid_at(&at))
		}

		/// The key version of `who` valid now, if any.
		pub fn current_key(who: T::AccountId) -> Option<KeyRecordOf<T>> {
			Self::key_at(who, frame_system::Pallet::<T>::block_number())
		}
	}

	impl<T: Config> KeyInspect<T::AccountId, BlockNumberFor<T>> for Pallet<T> {
		fn valid_key(who: &T::AccountId) -> Option<KeyVersion> {
			Self::current_key(who.clone()).map(|r| r.version)
		}
	}

	impl<T: Config> Pallet<T> {
		/// Invariants: per account, versions strictly increase, validity windows are
		/// ordered and disjoint, no window outlives its expiry, and keys are distinct.
		pub fn do_try_state() -> Result<(), TryRuntimeError> {
			for (_, history) in Keys::<T>::iter() {
				for pair in history.windows(2) {
					let (a, b) = (&pair[0], &pair[1]);
					ensure!(a.version < b.version, "key versions must increase");
					ensure!(a.valid_until <= b.valid_from, "validity windows must not overlap");
					ensure!(a.key != b.key, "consecutive versions must differ");
				}
				for r in history.iter() {
					ensure!(
						r.valid_from <= r.valid_until,
						"a window must not end before it starts"
					);
					ensure!(r.valid_until <= r.expires_at, "a key must not outlive its expiry");
				}
			}
			Ok(())
		}
	}
}
