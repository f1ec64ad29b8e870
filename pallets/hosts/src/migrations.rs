//! Storage migrations of the hosts pallet.

/// Version 1: choices made before deposits (at the genesis of a chain started on runtime
/// 108 to 112, or before runtime 112) hold theirs.
pub mod v1 {
	use crate::{BalanceOf, Choices, Config, Deposits, Pallet, TicketOf};
	use core::marker::PhantomData;
	use frame_support::{
		migrations::VersionedMigration,
		pallet_prelude::*,
		storage::with_storage_layer,
		traits::{
			fungible::Inspect,
			tokens::{Fortitude, Preservation},
			Consideration, UncheckedOnRuntimeUpgrade,
		},
	};
	#[cfg(feature = "try-runtime")]
	use {
		alloc::vec::Vec,
		codec::{Decode, Encode},
		frame_support::storage::{with_transaction, TransactionOutcome},
		quarks_primitives::deposit::held,
		sp_runtime::{Saturating, TryRuntimeError},
	};

	/// Takes its deposit ([`Pallet::choice_footprint`]) from every user whose choice holds
	/// none and that keeps at least `KeepFree` spendable after it, for the fee of
	/// `clear_hosts`. Any other user keeps its choice, unpaid as before, and pays when it
	/// next chooses. One pass over every choice, in the new runtime's first block: its
	/// weight and bound are the keys pallet's v1's.
	pub struct InnerMigrateV0ToV1<T, KeepFree>(PhantomData<(T, KeepFree)>);

	/// What a user may spend and still exist.
	fn spendable<T: Config>(who: &T::AccountId) -> BalanceOf<T> {
		T::Currency::reducible_balance(who, Preservation::Preserve, Fortitude::Polite)
	}

	impl<T: Config, KeepFree: Get<BalanceOf<T>>> InnerMigrateV0ToV1<T, KeepFree> {
		/// Holds `who`'s deposit for its choice, or changes nothing.
		fn pay(who: &T::AccountId) -> Result<TicketOf<T>, DispatchError> {
			let too_little = DispatchError::Other("would keep too little");
			ensure!(spendable::<T>(who) >= KeepFree::get(), too_little);
			// As in the keys pallet's v1: the price is known once the deposit is held.
			with_storage_layer(|| {
				let ticket = T::Consideration::new(who, Pallet::<T>::choice_footprint())?;
				ensure!(spendable::<T>(who) >= KeepFree::get(), too_little);
				Ok(ticket)
			})
		}
	}

	impl<T: Config, KeepFree: Get<BalanceOf<T>>> UncheckedOnRuntimeUpgrade
		for InnerMigrateV0ToV1<T, KeepFree>
	{
		fn on_runtime_upgrade() -> Weight {
			let (mut users, mut tried, mut paid) = (0u64, 0u64, 0u64);
			for who in Choices::<T>::iter_keys() {
				users = users.saturating_add(1);
				if Deposits::<T>::contains_key(&who) {
					continue;
				}
				tried = tried.saturating_add(1);
				if let Ok(ticket) = Self::pay(&who) {
					Deposits::<T>::insert(&who, ticket);
					paid = paid.saturating_add(1);
				}
			}
			log::info!(
				target: "runtime::hosts",
				"v1: {paid} of {tried} users without a deposit for their choice paid it \
				 ({users} choices)"
			);
			// As the keys pallet's v1: reads of each choice and deposit, of each unpaid
			// user's balance and holds; writes of those, the deposit and an event.
			T::DbWeight::get().reads_writes(
				users.saturating_mul(2).saturating_add(tried.saturating_mul(2)),
				paid.saturating_mul(4),
			)
		}

		/// The users without a deposit, with their balances and what they could spend.
		#[cfg(feature = "try-runtime")]
		fn pre_upgrade() -> Result<Vec<u8>, TryRuntimeError> {
			let unpaid: Vec<(T::AccountId, BalanceOf<T>, BalanceOf<T>)> = Choices::<T>::iter_keys()
				.filter(|who| !Deposits::<T>::contains_key(who))
				.map(|who| (who.clone(), T::Currency::balance(&who), spendable::<T>(&who)))
				.collect();
			Ok(unpaid.encode())
		}

		/// As the keys pallet's v1: each user that paid paid exactly what it holds and
		/// keeps `KeepFree` spendable; each left unpaid could not do both.
		#[cfg(feature = "try-runtime")]
		fn post_upgrade(state: Vec<u8>) -> Result<(), TryRuntimeError> {
			let unpaid = Vec::<(T::AccountId, BalanceOf<T>, BalanceOf<T>)>::decode(&mut &state[..])
				.map_err(|_| TryRuntimeError::Other("pre_upgrade state"))?;
			for (who, balance, could_spend) in unpaid {
				let Some(ticket) = Deposits::<T>::get(&who) else {
					let price = with_transaction(|| {
						let price = T::Consideration::new(&who, Pallet::<T>::choice_footprint())
							.map(|t| held::<BalanceOf<T>>(&t));
						TransactionOutcome::Rollback(Ok::<_, DispatchError>(price))
					})?;
					if let Ok(price) = price {
						ensure!(
							could_spend < price.saturating_add(KeepFree::get()),
							"a user who could pay its deposit holds none"
						);
					}
					continue;
				};
				let paid = balance.saturating_sub(T::Currency::balance(&who));
				ensure!(paid == held::<BalanceOf<T>>(&ticket), "a user paid other than it holds");
				ensure!(spendable::<T>(&who) >= KeepFree::get(), "a user paid and kept too little");
			}
			Pallet::<T>::do_try_state()
		}
	}

	/// [`InnerMigrateV0ToV1`], run only on a version-0 pallet, which it sets to 1.
	pub type MigrateV0ToV1<T, KeepFree> = VersionedMigration<
		0,
		1,
		InnerMigrateV0ToV1<T, KeepFree>,
		Pallet<T>,
		<T as frame_system::Config>::DbWeight,
	>;
}
