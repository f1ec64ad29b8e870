//! Storage migrations of the keys pallet.

/// Version 1: devices bound before deposits (at the genesis of a chain started on runtime
/// 108 to 112, or before runtime 112) hold theirs.
pub mod v1 {
	use crate::{BalanceOf, Config, Deposits, DeviceRecordOf, Devices, Pallet, TicketOf};
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

	/// Takes its deposit ([`Pallet::footprint`]) from every account whose devices hold
	/// none and that keeps at least `KeepFree` spendable after it, for the fees of giving
	/// its state back (`remove_device`, `drop_records`). Any other account keeps its
	/// devices, unpaid as before, and pays when it next adds a device.
	///
	/// One pass over every account with devices, in the new runtime's first block. By the
	/// runtime's database weights (ParityDB: 8 µs a read, 50 µs a write) an account that
	/// pays weighs 232 µs, so about 1,400 of them fit a block of 1-second slots; a network
	/// with more needs a multi-block migration. `scripts/try-runtime.sh` says whether a
	/// network's state fits, before the upgrade is voted in.
	pub struct InnerMigrateV0ToV1<T, KeepFree>(PhantomData<(T, KeepFree)>);

	/// What an account may spend and still exist.
	fn spendable<T: Config>(who: &T::AccountId) -> BalanceOf<T> {
		T::Currency::reducible_balance(who, Preservation::Preserve, Fortitude::Polite)
	}

	impl<T: Config, KeepFree: Get<BalanceOf<T>>> InnerMigrateV0ToV1<T, KeepFree> {
		/// Holds `who`'s deposit for `devices`, or changes nothing.
		fn pay(
			who: &T::AccountId,
			devices: &[DeviceRecordOf<T>],
		) -> Result<TicketOf<T>, DispatchError> {
			let too_little = DispatchError::Other("would keep too little");
			ensure!(spendable::<T>(who) >= KeepFree::get(), too_little);
			// The price is known once the deposit is held: an account it leaves short is
			// given it back by the storage layer.
			with_storage_layer(|| {
				let ticket = T::Consideration::new(who, Pallet::<T>::footprint(devices))?;
				ensure!(spendable::<T>(who) >= KeepFree::get(), too_little);
				Ok(ticket)
			})
		}
	}

	impl<T: Config, KeepFree: Get<BalanceOf<T>>> UncheckedOnRuntimeUpgrade
		for InnerMigrateV0ToV1<T, KeepFree>
	{
		fn on_runtime_upgrade() -> Weight {
			let (mut accounts, mut tried, mut paid) = (0u64, 0u64, 0u64);
			for (who, devices) in Devices::<T>::iter() {
				accounts = accounts.saturating_add(1);
				if Deposits::<T>::contains_key(&who) {
					continue;
				}
				tried = tried.saturating_add(1);
				if let Ok(ticket) = Self::pay(&who, &devices) {
					Deposits::<T>::insert(&who, ticket);
					paid = paid.saturating_add(1);
				}
			}
			log::info!(
				target: "runtime::keys",
				"v1: {paid} of {tried} accounts without a deposit for their devices paid it \
				 ({accounts} accounts with devices)"
			);
			// Each account: its devices and deposit read. Each unpaid one: its balance and
			// holds read. Each that pays: those written, and its deposit and event.
			T::DbWeight::get().reads_writes(
				accounts.saturating_mul(2).saturating_add(tried.saturating_mul(2)),
				paid.saturating_mul(4),
			)
		}

		/// The accounts without a deposit, with their balances and what they could spend.
		#[cfg(feature = "try-runtime")]
		fn pre_upgrade() -> Result<Vec<u8>, TryRuntimeError> {
			let unpaid: Vec<(T::AccountId, BalanceOf<T>, BalanceOf<T>)> = Devices::<T>::iter_keys()
				.filter(|who| !Deposits::<T>::contains_key(who))
				.map(|who| (who.clone(), T::Currency::balance(&who), spendable::<T>(&who)))
				.collect();
			Ok(unpaid.encode())
		}

		/// Each account that paid paid exactly what it holds and keeps `KeepFree`
		/// spendable; each left unpaid could not hold its deposit and keep that much.
		#[cfg(feature = "try-runtime")]
		fn post_upgrade(state: Vec<u8>) -> Result<(), TryRuntimeError> {
			let unpaid = Vec::<(T::AccountId, BalanceOf<T>, BalanceOf<T>)>::decode(&mut &state[..])
				.map_err(|_| TryRuntimeError::Other("pre_upgrade state"))?;
			for (who, balance, could_spend) in unpaid {
				let Some(ticket) = Deposits::<T>::get(&who) else {
					// What the deposit would be, from a hold taken and given back.
					let footprint = Pallet::<T>::footprint(&Devices::<T>::get(&who));
					let price = with_transaction(|| {
						let price = T::Consideration::new(&who, footprint)
							.map(|t| held::<BalanceOf<T>>(&t));
						TransactionOutcome::Rollback(Ok::<_, DispatchError>(price))
					})?;
					if let Ok(price) = price {
						ensure!(
							could_spend < price.saturating_add(KeepFree::get()),
							"an account that could pay its deposit holds none"
						);
					}
					continue;
				};
				let paid = balance.saturating_sub(T::Currency::balance(&who));
				ensure!(
					paid == held::<BalanceOf<T>>(&ticket),
					"an account paid other than it holds"
				);
				ensure!(
					spendable::<T>(&who) >= KeepFree::get(),
					"an account paid and kept too little"
				);
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
