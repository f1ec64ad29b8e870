//! Benchmarks of the keys pallet: each call at its worst case, full device records.

use super::*;
use frame_benchmarking::v2::*;
use frame_support::{
	traits::{Consideration, Get},
	BoundedVec,
};
use frame_system::RawOrigin;
use sp_runtime::traits::{One, Saturating, Zero};

/// A device key generated in the keystore, and its proof for `who`.
fn device_and_proof<T: Config>(who: &T::AccountId) -> (DeviceKey, pallet::DeviceProof) {
	let key_type = sp_core::crypto::KeyTypeId(*b"qdev");
	let public = sp_io::crypto::ed25519_generate(key_type, None);
	let message = quarks_primitives::device_proof_payload(who);
	let proof =
		sp_io::crypto::ed25519_sign(key_type, &public, &message).expect("the key was generated");
	(public.0, proof.0)
}

fn full_key_package<T: Config>() -> pallet::KeyPackageOf<T> {
	BoundedVec::truncate_from(alloc::vec![7u8; T::MaxKeyPackageLen::get() as usize])
}

/// Gives `who` enough to hold the deposit of full records, all bound (the most it holds).
fn fund<T: Config>(who: &T::AccountId) {
	let record = DeviceRecord { key: [0; 32], added: Zero::zero(), removed: None };
	let full = alloc::vec![record; T::MaxDevices::get() as usize];
	T::Consideration::ensure_successful(who, Pallet::<T>::footprint(&full));
}

/// Fills `who`'s device records, all but the last removed, then moves past their keeping,
/// so adding one drops a record (the most writes); returns the bound device.
fn fill_devices<T: Config>(who: &T::AccountId) -> DeviceKey {
	fund::<T>(who);
	let lifetime = T::MaxKeyLifetime::get();
	let mut bound = [0u8; 32];
	for n in 0..T::MaxDevices::get() {
		let (device, proof) = device_and_proof::<T>(who);
		let now = frame_system::Pallet::<T>::block_number();
		Pallet::<T>::add_device(
			RawOrigin::Signed(who.clone()).into(),
			device,
			proof,
			full_key_package::<T>(),
			now.saturating_add(lifetime),
		)
		.expect("benchmark setup adds");
		if n.saturating_add(1) < T::MaxDevices::get() {
			Pallet::<T>::remove_device(RawOrigin::Signed(who.clone()).into(), device)
				.expect("benchmark setup removes");
		}
		bound = device;
	}
	let now = frame_system::Pallet::<T>::block_number()
		.saturating_add(T::KeptAfterEnd::get())
		.saturating_add(One::one());
	frame_system::Pallet::<T>::set_block_number(now);
	bound
}

#[benchmarks]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn add_device() {
		let who: T::AccountId = whitelisted_caller();
		fill_devices::<T>(&who);
		let (device, proof) = device_and_proof::<T>(&who);
		let expires_at = frame_system::Pallet::<T>::block_number().saturating_add(One::one());

		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()), device, proof, full_key_package::<T>(), expires_at);

		assert_eq!(DeviceOwner::<T>::get(device), Some(who));
	}

	#[benchmark]
	fn publish_key_package() {
		let who: T::AccountId = whitelisted_caller();
		let device = fill_devices::<T>(&who);
		let expires_at = frame_system::Pallet::<T>::block_number().saturating_add(One::one());

		#[extrinsic_call]
		_(RawOrigin::Signed(who), device, full_key_package::<T>(), expires_at);

		assert_eq!(KeyPackages::<T>::get(device).map(|r| r.expires_at), Some(expires_at));
	}

	#[benchmark]
	fn remove_device() {
		let who: T::AccountId = whitelisted_caller();
		let device = fill_devices::<T>(&who);

		#[extrinsic_call]
		_(RawOrigin::Signed(who), device);

		assert!(KeyPackages::<T>::get(device).is_none());
	}

	/// Every record removed long enough ago, so all go and the whole deposit returns.
	#[benchmark]
	fn drop_records() {
		let who: T::AccountId = whitelisted_caller();
		let device = fill_devices::<T>(&who);
		Pallet::<T>::remove_device(RawOrigin::Signed(who.clone()).into(), device)
			.expect("benchmark setup removes");
		let now = frame_system::Pallet::<T>::block_number()
			.saturating_add(T::KeptAfterEnd::get())
			.saturating_add(One::one());
		frame_system::Pallet::<T>::set_block_number(now);

		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()));

		assert!(Devices::<T>::get(&who).is_empty());
		assert!(Deposits::<T>::get(&who).is_none());
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}
