//! Benchmarks of the hosts pallet, each call at its worst case.

use super::*;
use alloc::vec::Vec;
use frame_benchmarking::v2::*;
use frame_support::traits::{Consideration, EnsureOrigin, Get};
use frame_system::RawOrigin;

fn endpoint<T: Config>() -> Vec<u8> {
	let mut url = b"wss://".to_vec();
	url.resize(T::MaxEndpointLen::get() as usize, b'h');
	url
}

fn admit<T: Config>(operator: &T::AccountId) {
	let origin = T::AdminOrigin::try_successful_origin().expect("admin origin for benchmarks");
	Pallet::<T>::admit_host(
		origin,
		operator.clone(),
		endpoint::<T>(),
		T::MaxRetention::get(),
		1 << 40,
		1 << 30,
	)
	.expect("benchmark setup admits");
}

#[benchmarks]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn admit_host() {
		let origin = T::AdminOrigin::try_successful_origin().expect("admin origin for benchmarks");
		let operator: T::AccountId = account("host", 0, 0);

		#[extrinsic_call]
		_(
			origin as T::RuntimeOrigin,
			operator.clone(),
			endpoint::<T>(),
			T::MaxRetention::get(),
			1 << 40,
			1 << 30,
		);

		assert!(Hosts::<T>::contains_key(&operator));
	}

	#[benchmark]
	fn remove_host() {
		let operator: T::AccountId = account("host", 0, 0);
		admit::<T>(&operator);
		let origin = T::AdminOrigin::try_successful_origin().expect("admin origin for benchmarks");

		#[extrinsic_call]
		_(origin as T::RuntimeOrigin, operator.clone());

		assert!(!Hosts::<T>::contains_key(&operator));
	}

	#[benchmark]
	fn update_host() {
		let operator: T::AccountId = whitelisted_caller();
		admit::<T>(&operator);

		#[extrinsic_call]
		_(
			RawOrigin::Signed(operator.clone()),
			endpoint::<T>(),
			T::MaxRetention::get(),
			1 << 41,
			1 << 31,
		);

		assert_eq!(Hosts::<T>::get(&operator).map(|r| r.capacity), Some(1 << 41));
	}

	#[benchmark]
	fn choose_hosts(n: Linear<1, { T::MaxHostsPerUser::get() }>) {
		let hosts: Vec<T::AccountId> = (0..n).map(|i| account("host", i, 0)).collect();
		hosts.iter().for_each(admit::<T>);
		let who: T::AccountId = whitelisted_caller();
		T::Consideration::ensure_successful(&who, Pallet::<T>::choice_footprint());

		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()), hosts);

		assert_eq!(Choices::<T>::get(&who).map(|c| c.len() as u32), Some(n));
	}

	#[benchmark]
	fn clear_hosts() {
		let hosts: Vec<T::AccountId> =
			(0..T::MaxHostsPerUser::get()).map(|i| account("host", i, 0)).collect();
		hosts.iter().for_each(admit::<T>);
		let who: T::AccountId = whitelisted_caller();
		T::Consideration::ensure_successful(&who, Pallet::<T>::choice_footprint());
		Pallet::<T>::choose_hosts(RawOrigin::Signed(who.clone()).into(), hosts)
			.expect("benchmark setup chooses");

		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()));

		assert!(Choices::<T>::get(&who).is_none());
		assert!(Deposits::<T>::get(&who).is_none());
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}
