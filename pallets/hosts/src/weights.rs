//! Weights for `pallet_quarks_hosts`.
//!
//! PROVISIONAL: not yet generated. These figures count each call's storage accesses
//! and charge a conservative execution time; they are replaced by the output of
//! `quarks-node benchmark pallet` (node feature `runtime-benchmarks`) on reference
//! hardware, with the command recorded here.

#![cfg_attr(rustfmt, rustfmt_skip)]
#![allow(unused_parens)]
#![allow(unused_imports)]
#![allow(missing_docs)]

use frame_support::{traits::Get, weights::{Weight, constants::RocksDbWeight}};
use core::marker::PhantomData;

/// Weight functions needed for `pallet_quarks_hosts`.
pub trait WeightInfo {
	fn admit_host() -> Weight;
	fn remove_host() -> Weight;
	fn update_host() -> Weight;
	fn choose_hosts(n: u32, ) -> Weight;
}

/// Weights for `pallet_quarks_hosts` on the Quarks reference hardware.
pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
	/// Storage: `Hosts::Hosts` (r:1 w:1)
	fn admit_host() -> Weight {
		Weight::from_parts(25_000_000, 3_000)
			.saturating_add(T::DbWeight::get().reads(1_u64))
			.saturating_add(T::DbWeight::get().writes(1_u64))
	}
	/// Storage: `Hosts::Hosts` (r:1 w:1)
	fn remove_host() -> Weight {
		Weight::from_parts(20_000_000, 3_000)
			.saturating_add(T::DbWeight::get().reads(1_u64))
			.saturating_add(T::DbWeight::get().writes(1_u64))
	}
	/// Storage: `Hosts::Hosts` (r:1 w:1)
	fn update_host() -> Weight {
		Weight::from_parts(25_000_000, 3_000)
			.saturating_add(T::DbWeight::get().reads(1_u64))
			.saturating_add(T::DbWeight::get().writes(1_u64))
	}
	/// Storage: `Hosts::Hosts` (r:n w:0), `Hosts::Choices` (r:0 w:1)
	fn choose_hosts(n: u32, ) -> Weight {
		Weight::from_parts(20_000_000, 1_000)
			.saturating_add(Weight::from_parts(5_000_000, 3_000).saturating_mul(n.into()))
			.saturating_add(T::DbWeight::get().reads((n as u64).into()))
			.saturating_add(T::DbWeight::get().writes(1_u64))
	}
}

// For backwards compatibility and tests.
impl WeightInfo for () {
	fn admit_host() -> Weight {
		Weight::from_parts(25_000_000, 3_000)
			.saturating_add(RocksDbWeight::get().reads(1_u64))
			.saturating_add(RocksDbWeight::get().writes(1_u64))
	}
	fn remove_host() -> Weight {
		Weight::from_parts(20_000_000, 3_000)
			.saturating_add(RocksDbWeight::get().reads(1_u64))
			.saturating_add(RocksDbWeight::get().writes(1_u64))
	}
	fn update_host() -> Weight {
		Weight::from_parts(25_000_000, 3_000)
			.saturating_add(RocksDbWeight::get().reads(1_u64))
			.saturating_add(RocksDbWeight::get().writes(1_u64))
	}
	fn choose_hosts(n: u32, ) -> Weight {
		Weight::from_parts(20_000_000, 1_000)
			.saturating_add(Weight::from_parts(5_000_000, 3_000).saturating_mul(n.into()))
			.saturating_add(RocksDbWeight::get().reads((n as u64).into()))
			.saturating_add(RocksDbWeight::get().writes(1_u64))
	}
}
