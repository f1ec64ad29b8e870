//! Benchmarks of the validator set pallet.

use super::*;
use alloc::vec::Vec;
use frame_benchmarking::v2::*;
use frame_support::{
	traits::{EnsureOrigin, Get, Hooks},
	BoundedVec,
};
use sp_runtime::traits::Zero;

/// Installs `n` validators, as genesis would.
fn set_validators<T: Config>(n: u32) -> Vec<T::AccountId> {
	let mut validators: Vec<ValidatorOf<T>> = (0..n)
		.map(|i| {
			let (aura, grandpa) = T::BenchmarkHelper::keys(i);
			Validator { account: account("validator", i, 0), aura, grandpa }
		})
		.collect();
	validators.sort_by(|a, b| a.account.cmp(&b.account));
	T::AuthoritySet::set_block_authors(validators.iter().map(|v| v.aura.clone()).collect());
	let accounts = validators.iter().map(|v| v.account.clone()).collect();
	Validators::<T>::put(BoundedVec::truncate_from(validators));
	accounts
}

#[benchmarks]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn add_validator(v: Linear<1, { T::MaxValidators::get().saturating_sub(1) }>) {
		set_validators::<T>(v);
		let origin = T::AddRemoveOrigin::try_successful_origin()
			.map_err(|_| BenchmarkError::Weightless)
			.expect("AddRemoveOrigin has a successful origin for benchmarks");
		let new: T::AccountId = account("new", 0, 0);
		let (aura, grandpa) = T::BenchmarkHelper::keys(v);

		#[extrinsic_call]
		_(origin as T::RuntimeOrigin, new.clone(), aura, grandpa);

		assert!(Validators::<T>::get().iter().any(|x| x.account == new));
	}

	#[benchmark]
	fn remove_validator(
		v: Linear<{ T::MinValidators::get().saturating_add(1) }, { T::MaxValidators::get() }>,
	) {
		let accounts = set_validators::<T>(v);
		let origin = T::AddRemoveOrigin::try_successful_origin()
			.map_err(|_| BenchmarkError::Weightless)
			.expect("AddRemoveOrigin has a successful origin for benchmarks");
		let gone = accounts[0].clone();

		#[extrinsic_call]
		_(origin as T::RuntimeOrigin, gone.clone());

		assert!(!Validators::<T>::get().iter().any(|x| x.account == gone));
	}

	#[benchmark]
	fn schedule_deferred_finality_change(v: Linear<1, { T::MaxValidators::get() }>) {
		set_validators::<T>(v);
		FinalityChangeDeferred::<T>::put(true);

		#[block]
		{
			Pallet::<T>::on_initialize(Zero::zero());
		}

		assert!(!FinalityChangeDeferred::<T>::get());
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}
