//! # Validator Set Pallet
//!
//! The permissioned validator set of a chain that produces blocks with Aura and
//! finalises them with GRANDPA, changed at runtime by a privileged origin: no node
//! restarts and no new chain spec.
//!
//! ## Terminology
//!
//! - **Validator**: an account admitted to author blocks and vote on finality, together
//!   with its block-authoring (Aura) key and its finality (GRANDPA) key.
//! - **Authority set**: the consensus side the validator set drives, reached through the
//!   [`AuthoritySet`] trait. [`AuraGrandpa`] implements it for `pallet-aura` and
//!   `pallet-grandpa`.
//!
//! ## How a change takes effect
//!
//! A change replaces the Aura authorities at once (the next block is authored by the new
//! set) and schedules a GRANDPA change that is enacted when the block carrying it is
//! finalised. GRANDPA accepts one pending change at a time; when one is already pending
//! the new set is kept and scheduled by `on_initialize` of a later block, so the latest
//! set always reaches finality.
//!
//! ## Calls
//!
//! Callable by [`Config::AddRemoveOrigin`] only:
//! - [`Pallet::add_validator`]: admit an account with its Aura and GRANDPA keys.
//! - [`Pallet::remove_validator`]: remove a validator, keeping at least
//!   [`Config::MinValidators`].
//! - [`Pallet::recover_finality`]: when finality stalled (a validator that is offline
//!   holds more than a third of the votes, so no change can be finalized either), force
//!   the current set as GRANDPA's voters once the change is `delay` blocks deep in the
//!   best chain. Remove the offline validator first, then recover.

#![cfg_attr(not(feature = "std"), no_std)]
#![deny(missing_docs)]

extern crate alloc;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;
mod types;
pub mod weights;

pub use pallet::*;
pub use types::*;
pub use weights::WeightInfo;

#[frame_support::pallet]
pub mod pallet {
	use super::*;
	use alloc::vec::Vec;
	use frame_support::pallet_prelude::*;
	use frame_system::pallet_prelude::*;

	/// The in-code storage version. A change to a stored type bumps it, with a
	/// `VersionedMigration` from the one before (as the groups pallet's `migrations::v1`).
	pub const STORAGE_VERSION: StorageVersion = StorageVersion::new(0);

	#[pallet::pallet]
	#[pallet::storage_version(STORAGE_VERSION)]
	pub struct Pallet<T>(_);

	#[pallet::config]
	pub trait Config: frame_system::Config<RuntimeEvent: From<Event<Self>>> {
		/// Block-authoring key of a validator.
		type AuraId: Member + Parameter + MaxEncodedLen + Ord + MaybeSerializeDeserialize;

		/// Finality-voting key of a validator.
		type GrandpaId: Member + Parameter + MaxEncodedLen + Ord + MaybeSerializeDeserialize;

		/// The consensus authorities this validator set drives.
		type AuthoritySet: AuthoritySet<Self::AuraId, Self::GrandpaId>;

		/// Origin allowed to add and remove validators.
		type AddRemoveOrigin: EnsureOrigin<Self::RuntimeOrigin>;

		/// Fewest validators the set may shrink to.
		#[pallet::constant]
		type MinValidators: Get<u32>;

		/// Most validators the set may hold; at most what the authority set accepts.
		#[pallet::constant]
		type MaxValidators: Get<u32>;

		/// Weights of this pallet's calls, from its benchmarks.
		type WeightInfo: WeightInfo;

		/// Makes validator keys for the benchmarks.
		#[cfg(feature = "runtime-benchmarks")]
		type BenchmarkHelper: BenchmarkHelper<Self::AuraId, Self::GrandpaId>;
	}

	/// The validators, sorted by account.
	#[pallet::storage]
	pub type Validators<T: Config> =
		StorageValue<_, BoundedVec<ValidatorOf<T>, T::MaxValidators>, ValueQuery>;

	/// Set when the current validator set has not yet been scheduled as the GRANDPA voter
	/// set because another GRANDPA change was pending.
	#[pallet::storage]
	pub type FinalityChangeDeferred<T: Config> = StorageValue<_, bool, ValueQuery>;

	#[pallet::genesis_config]
	#[derive(frame_support::DefaultNoBound)]
	pub struct GenesisConfig<T: Config> {
		/// The initial validators: account, Aura key, GRANDPA key. The Aura and GRANDPA
		/// genesis must list the same keys, in the order of the accounts.
		pub validators: Vec<(T::AccountId, T::AuraId, T::GrandpaId)>,
	}

	#[pallet::genesis_build]
	impl<T: Config> BuildGenesisConfig for GenesisConfig<T> {
		fn build(&self) {
			let mut validators: Vec<ValidatorOf<T>> = self
				.validators
				.iter()
				.cloned()
				.map(|(account, aura, grandpa)| Validator { account, aura, grandpa })
				.collect();
			validators.sort_by(|a, b| a.account.cmp(&b.account));
			let bounded = BoundedVec::<_, T::MaxValidators>::try_from(validators)
				.expect("genesis validators exceed MaxValidators");
			// An empty list is the default config (for tooling); a real chain names its set.
			assert!(
				bounded.is_empty() || bounded.len() as u32 >= T::MinValidators::get(),
				"genesis validators are fewer than MinValidators"
			);
			Validators::<T>::put(&bounded);
			Pallet::<T>::check_unique(&bounded).expect("genesis validators are not unique");
			let expected: Vec<T::AuraId> = bounded.iter().map(|v| v.aura.clone()).collect();
			assert!(
				T::AuthoritySet::block_authors() == expected,
				"Aura genesis authorities must be the validators' Aura keys in account order"
			);
		}
	}

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A validator was admitted; it authors from the next block and votes on finality
		/// once the scheduled GRANDPA change is enacted.
		ValidatorAdded {
			/// The validator's account.
			validator: T::AccountId,
			/// Its block-authoring key.
			aura: T::AuraId,
			/// Its finality-voting key.
			grandpa: T::GrandpaId,
		},
		/// A validator was removed.
		ValidatorRemoved {
			/// The validator's account.
			validator: T::AccountId,
		},
		/// The current validator set was scheduled as the next GRANDPA voter set.
		FinalityChangeScheduled {
			/// Number of voters in the scheduled set.
			voters: u32,
		},
		/// GRANDPA already had a change pending; the current set will be scheduled in a
		/// later block.
		FinalityChangeDeferred,
		/// The current set was forced as the GRANDPA voter set, enacted `delay` blocks deep.
		FinalityRecoveryScheduled {
			/// Number of voters in the forced set.
			voters: u32,
			/// Blocks of the best chain after which the set takes over.
			delay: BlockNumberFor<T>,
		},
	}

	#[pallet::error]
	pub enum Error<T> {
		/// The account is already a validator.
		AlreadyValidator,
		/// The account is not a validator.
		NotValidator,
		/// Another validator already uses this Aura key.
		AuraKeyInUse,
		/// Another validator already uses this GRANDPA key.
		GrandpaKeyInUse,
		/// The set already holds `MaxValidators` validators.
		TooManyValidators,
		/// Removing would leave fewer than `MinValidators` validators.
		TooFewValidators,
		/// GRANDPA refused the forced change: another change is pending, the last forced
		/// one was too recent, or the numbers are out of range.
		FinalityRecoveryRefused,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		fn on_initialize(_n: BlockNumberFor<T>) -> Weight {
			if !FinalityChangeDeferred::<T>::get() {
				return T::DbWeight::get().reads(1);
			}
			let validators = Validators::<T>::get();
			Self::schedule_finality_change(&validators);
			T::WeightInfo::schedule_deferred_finality_change(validators.len() as u32)
		}

		fn integrity_test() {
			assert!(T::MinValidators::get() >= 1, "MinValidators must be at least 1");
			assert!(
				T::MinValidators::get() <= T::MaxValidators::get(),
				"MinValidators must not exceed MaxValidators"
			);
			assert!(
				T::MaxValidators::get() <= T::AuthoritySet::max_authorities(),
				"MaxValidators must not exceed what the authority set accepts"
			);
		}

		#[cfg(feature = "try-runtime")]
		fn try_state(_n: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
			Self::do_try_state()
		}
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Admit `validator` with its block-authoring key `aura` and finality key `grandpa`.
		///
		/// The origin must be [`Config::AddRemoveOrigin`]. The account and both keys must be
		/// new to the set, and the set must hold fewer than [`Config::MaxValidators`].
		/// Emits [`Event::ValidatorAdded`].
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::add_validator(T::MaxValidators::get()))]
		pub fn add_validator(
			origin: OriginFor<T>,
			validator: T::AccountId,
			aura: T::AuraId,
			grandpa: T::GrandpaId,
		) -> DispatchResultWithPostInfo {
			T::AddRemoveOrigin::ensure_origin(origin)?;

			let mut validators = Validators::<T>::get();
			let position = validators
				.binary_search_by(|v| v.account.cmp(&validator))
				.err()
				.ok_or(Error::<T>::AlreadyValidator)?;
			ensure!(!validators.iter().any(|v| v.aura == aura), Error::<T>::AuraKeyInUse);
			ensure!(!validators.iter().any(|v| v.grandpa == grandpa), Error::<T>::GrandpaKeyInUse);
			validators
				.try_insert(
					position,
					Validator {
						account: validator.clone(),
						aura: aura.clone(),
						grandpa: grandpa.clone(),
					},
				)
				.map_err(|_| Error::<T>::TooManyValidators)?;

			Self::deposit_event(Event::ValidatorAdded { validator, aura, grandpa });
			Self::apply(&validators);
			Ok(Some(T::WeightInfo::add_validator(validators.len() as u32)).into())
		}

		/// Remove `validator` from the set.
		///
		/// The origin must be [`Config::AddRemoveOrigin`]. The account must be a validator
		/// and the set must keep at least [`Config::MinValidators`] validators.
		/// Emits [`Event::ValidatorRemoved`].
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::remove_validator(T::MaxValidators::get()))]
		pub fn remove_validator(
			origin: OriginFor<T>,
			validator: T::AccountId,
		) -> DispatchResultWithPostInfo {
			T::AddRemoveOrigin::ensure_origin(origin)?;

			let mut validators = Validators::<T>::get();
			let position = validators
				.binary_search_by(|v| v.account.cmp(&validator))
				.map_err(|_| Error::<T>::NotValidator)?;
			ensure!(
				validators.len() as u32 > T::MinValidators::get(),
				Error::<T>::TooFewValidators
			);
			validators.remove(position);

			Self::deposit_event(Event::ValidatorRemoved { validator });
			Self::apply(&validators);
			Ok(Some(T::WeightInfo::remove_validator(validators.len() as u32)).into())
		}

		/// Recover stalled finality: force the current validators as the GRANDPA voter set
		/// once this block is `delay` blocks deep in the best chain, voting on from
		/// `best_finalized` (the last block every honest node finalized).
		///
		/// The origin must be [`Config::AddRemoveOrigin`]. GRANDPA must have no change
		/// pending and no forced change in the last `2 × delay` blocks. Emits
		/// [`Event::FinalityRecoveryScheduled`].
		//
		// Weight: the reads and the one GRANDPA write of `remove_validator`'s finality
		// change, without its set rewrite, so its benchmark bounds this call.
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::remove_validator(T::MaxValidators::get()))]
		pub fn recover_finality(
			origin: OriginFor<T>,
			best_finalized: BlockNumberFor<T>,
			delay: BlockNumberFor<T>,
		) -> DispatchResult {
			T::AddRemoveOrigin::ensure_origin(origin)?;
			let validators = Validators::<T>::get();
			let voters: Vec<T::GrandpaId> = validators.iter().map(|v| v.grandpa.clone()).collect();
			let count = voters.len() as u32;
			let as_u32 = |n: BlockNumberFor<T>| TryInto::<u32>::try_into(n).ok();
			let (Some(from), Some(after)) = (as_u32(best_finalized), as_u32(delay)) else {
				return Err(Error::<T>::FinalityRecoveryRefused.into());
			};
			ensure!(
				best_finalized < frame_system::Pallet::<T>::block_number(),
				Error::<T>::FinalityRecoveryRefused
			);
			T::AuthoritySet::force_finality_change(voters, after, from)
				.map_err(|_| Error::<T>::FinalityRecoveryRefused)?;
			// The forced set is the current one: a deferred standard change has nothing
			// left to schedule.
			FinalityChangeDeferred::<T>::kill();
			Self::deposit_event(Event::FinalityRecoveryScheduled { voters: count, delay });
			Ok(())
		}
	}

	impl<T: Config> Pallet<T> {
		/// The accounts of the current validators, sorted.
		pub fn validator_accounts() -> Vec<T::AccountId> {
			Validators::<T>::get().into_iter().map(|v| v.account).collect()
		}

		/// Store the new set and hand it to the authority set.
		fn apply(validators: &BoundedVec<ValidatorOf<T>, T::MaxValidators>) {
			Validators::<T>::put(validators);
			T::AuthoritySet::set_block_authors(validators.iter().map(|v| v.aura.clone()).collect());
			Self::schedule_finality_change(validators);
		}

		fn schedule_finality_change(validators: &[ValidatorOf<T>]) {
			let voters: Vec<T::GrandpaId> = validators.iter().map(|v| v.grandpa.clone()).collect();
			let count = voters.len() as u32;
			if T::AuthoritySet::schedule_finality_change(voters).is_ok() {
				FinalityChangeDeferred::<T>::kill();
				Self::deposit_event(Event::FinalityChangeScheduled { voters: count });
			} else {
				FinalityChangeDeferred::<T>::put(true);
				Self::deposit_event(Event::FinalityChangeDeferred);
			}
		}

		fn check_unique(validators: &[ValidatorOf<T>]) -> Result<(), &'static str> {
			for (i, v) in validators.iter().enumerate() {
				let rest = validators.get(i.saturating_add(1)..).unwrap_or_default();
				if rest.iter().any(|w| w.account == v.account) {
					return Err("duplicate validator account");
				}
				if rest.iter().any(|w| w.aura == v.aura) {
					return Err("duplicate Aura key");
				}
				if rest.iter().any(|w| w.grandpa == v.grandpa) {
					return Err("duplicate GRANDPA key");
				}
			}
			Ok(())
		}

		/// Invariants: accounts sorted and unique, keys unique, size within bounds, and the
		/// Aura authorities are exactly the validators' Aura keys.
		pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
			let validators = Validators::<T>::get();
			ensure!(
				validators.windows(2).all(|w| w[0].account < w[1].account),
				"validators are not sorted by account"
			);
			Self::check_unique(&validators)?;
			ensure!(
				validators.len() as u32 >= T::MinValidators::get(),
				"fewer validators than MinValidators"
			);
			let auras: Vec<T::AuraId> = validators.iter().map(|v| v.aura.clone()).collect();
			ensure!(
				T::AuthoritySet::block_authors() == auras,
				"Aura authorities differ from the validator set"
			);
			Ok(())
		}
	}
}
