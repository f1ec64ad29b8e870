//! Storage migrations of the keys pallet.

/// Version 1: devices bound before deposits (at the genesis of a chain started before
/// runtime 113, or before runtime 112) hold theirs.
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
	/// One pass over every account with devices, in the upgrade's block. By the runtime's
	/// database weights (ParityDB: 8 µs a read, 50 µs a write) an account that pays weighs
	/// 232 µs, so about 1,400 of them fit a block of 1-second slots; a network with more
	/// needs a multi-block migration. `scripts/try-runtime.sh` says whether a network's
	/// state fits, before the upgrade is voted in.
	pub struct InnerMigrateV0ToV1<T, KeepFree>(PhantomData<(T, KeepFree)>);

	impl<T: Config, KeepFree: Get<BalanceOf<T>>> InnerMigrateV0ToV1<T, KeepFree> {
		/// Holds `who`'s deposit for `devices`, or changes nothing.
		fn pay(
			who: &T::AccountId,
			devices: &[DeviceRecordOf<T>],
		) -> Result<TicketOf<T>, DispatchError> {
			with_storage_layer(|| {
				let ticket = T::Consideration::new(who, Pallet::<T>::footprint(devices))?;
				let left =
					T::Currency::reducible_balance(who, Preservation::Preserve, Fortitude::Polite);
				ensure!(left >= KeepFree::get(), DispatchError::Other("would keep too little"));
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

		/// The accounts without a deposit, and their balances.
		#[cfg(feature = "try-runtime")]
		fn pre_upgrade() -> Result<Vec<u8>, TryRuntimeError> {
			let unpaid: Vec<(T::AccountId, BalanceOf<T>)> = Devices::<T>::iter_keys()
				.filter(|who| !Deposits::<T>::contains_key(who))
				.map(|who| {
					let balance = T::Currency::balance(&who);
					(who, balance)
				})
				.collect();
			Ok(unpaid.encode())
		}

		/// Each account paid exactly what it now holds, and each left unpaid could not pay.
		#[cfg(feature = "try-runtime")]
		fn post_upgrade(state: Vec<u8>) -> Result<(), TryRuntimeError> {
			let unpaid = Vec::<(T::AccountId, BalanceOf<T>)>::decode(&mut &state[..])
				.map_err(|_| TryRuntimeError::Other("pre_upgrade state"))?;
			for (who, before) in unpaid {
				match Deposits::<T>::get(&who) {
					Some(ticket) => ensure!(
						before.saturating_sub(T::Currency::balance(&who))
							== held::<BalanceOf<T>>(&ticket),
						"an account paid other than what it holds"
					),
					None => {
						let devices = Devices::<T>::get(&who);
						let could_pay = with_transaction(|| {
							let paid = Self::pay(&who, &devices).is_ok();
							TransactionOutcome::Rollback(Ok::<_, DispatchError>(paid))
						})?;
						ensure!(!could_pay, "an account that can pay its deposit holds none");
					}
				}
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
