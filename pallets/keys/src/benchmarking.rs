//! Benchmarks of the keys pallet: each call at its worst case, a full history.

use super::*;
use frame_benchmarking::v2::*;
use frame_support::traits::Get;
use frame_system::{pallet_prelude::BlockNumberFor, RawOrigin};
use sp_runtime::traits::{One, Saturating};

fn key(n: u32) -> EncryptionKey {
	let mut key = [0xAAu8; 32];
	key[..4].copy_from_slice(&n.to_le_bytes());
	key
}

/// Fills `who`'s history with `MaxKeyVersions` versions, one block apart.
fn fill_history<T: Config>(who: &T::AccountId) {
	let lifetime = T::MaxKeyLifetime::get();
	for n in 0..T::MaxKeyVersions::get() {
		let now = frame_system::Pallet::<T>::block_number().saturating_add(One::one());
		frame_system::Pallet::<T>::set_block_number(now);
		Pallet::<T>::publish_key(
			RawOrigin::Signed(who.clone()).into(),
			key(n),
			now.saturating_add(lifetime),
		)
		.expect("benchmark setup publishes");
	}
	// Past the oldest version's keeping, so publishing drops it (the worst case).
	let now = frame_system::Pallet::<T>::block_number()
		.saturating_add(T::KeptAfterEnd::get())
		.saturating_add(One::one());
	frame_system::Pallet::<T>::set_block_number(now);
}

#[benchmarks]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn publish_key() {
		let who: T::AccountId = whitelisted_caller();
		fill_history::<T>(&who);
		let expires_at: BlockNumberFor<T> =
			frame_system::Pallet::<T>::block_number().saturating_add(T::MaxKeyLifetime::get());

		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()), key(u32::MAX), expires_at);

		assert_eq!(Keys::<T>::get(&who).last().map(|r| r.key), Some(key(u32::MAX)));
	}

	#[benchmark]
	fn revoke_key() {
		let who: T::AccountId = whitelisted_caller();
		fill_history::<T>(&who);
		let version = T::MaxKeyVersions::get();

		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()), version);

		assert!(Keys::<T>::get(&who).last().is_some_and(|r| r.revoked));
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}
