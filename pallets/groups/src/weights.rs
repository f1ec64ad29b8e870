//! Weights for `pallet_quarks_groups`.
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

/// Weight functions needed for `pallet_quarks_groups`.
pub trait WeightInfo {
	fn create_group(n: u32, ) -> Weight;
	fn add_member() -> Weight;
	fn remove_member() -> Weight;
	fn leave() -> Weight;
	fn set_admin() -> Weight;
	fn rotate_key(n: u32, ) -> Weight;
}

/// Weights for `pallet_quarks_groups` on the Quarks reference hardware.
pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
	/// Storage: `Groups::NextGroupId` (r:1 w:1), `Groups::Groups` (r:0 w:1), `Groups::Members` (r:0 w:n+1)
	fn create_group(n: u32, ) -> Weight {
		Weight::from_parts(20_000_000, 3_000)
			.saturating_add(Weight::from_parts(5_000_000, 2_500).saturating_mul(n.into()))
			.saturating_add(T::DbWeight::get().reads(1_u64))
			.saturating_add(T::DbWeight::get().writes(2_u64))
			.saturating_add(T::DbWeight::get().writes((n as u64).saturating_add(1)))
	}
	/// Storage: `Groups::Groups` (r:1 w:1), `Groups::Members` (r:2 w:1)
	fn add_member() -> Weight {
		Weight::from_parts(30_000_000, 3_000)
			.saturating_add(T::DbWeight::get().reads(3_u64))
			.saturating_add(T::DbWeight::get().writes(2_u64))
	}
	/// Storage: `Groups::Groups` (r:1 w:1), `Groups::Members` (r:2 w:1)
	fn remove_member() -> Weight {
		Weight::from_parts(30_000_000, 3_000)
			.saturating_add(T::DbWeight::get().reads(3_u64))
			.saturating_add(T::DbWeight::get().writes(2_u64))
	}
	/// Storage: `Groups::Groups` (r:1 w:1), `Groups::Members` (r:1 w:1)
	fn leave() -> Weight {
		Weight::from_parts(25_000_000, 3_000)
			.saturating_add(T::DbWeight::get().reads(2_u64))
			.saturating_add(T::DbWeight::get().writes(2_u64))
	}
	/// Storage: `Groups::Groups` (r:1 w:1), `Groups::Members` (r:2 w:1)
	fn set_admin() -> Weight {
		Weight::from_parts(25_000_000, 3_000)
			.saturating_add(T::DbWeight::get().reads(3_u64))
			.saturating_add(T::DbWeight::get().writes(2_u64))
	}
	/// Storage: `Groups::Groups` (r:1 w:1), `Groups::Members` (r:n+1 w:0), `Keys::Keys` (r:n w:0), `Groups::Rotations` (r:0 w:1)
	fn rotate_key(n: u32, ) -> Weight {
		Weight::from_parts(30_000_000, 3_000)
			.saturating_add(Weight::from_parts(5_000_000, 2_500).saturating_mul(n.into()))
			.saturating_add(T::DbWeight::get().reads(2_u64))
			.saturating_add(T::DbWeight::get().reads((2 * n as u64).into()))
			.saturating_add(T::DbWeight::get().writes(2_u64))
	}
}

// For backwards compatibility and tests.
impl WeightInfo for () {
	fn create_group(n: u32, ) -> Weight {
		Weight::from_parts(20_000_000, 3_000)
			.saturating_add(Weight::from_parts(5_000_000, 2_500).saturating_mul(n.into()))
			.saturating_add(RocksDbWeight::get().reads(1_u64))
			.saturating_add(RocksDbWeight::get().writes(2_u64))
			.saturating_add(RocksDbWeight::get().writes((n as u64).saturating_add(1)))
	}
	fn add_member() -> Weight {
		Weight::from_parts(30_000_000, 3_000)
			.saturating_add(RocksDbWeight::get().reads(3_u64))
			.saturating_add(RocksDbWeight::get().writes(2_u64))
	}
	fn remove_member() -> Weight {
		Weight::from_parts(30_000_000, 3_000)
			.saturating_add(RocksDbWeight::get().reads(3_u64))
			.saturating_add(RocksDbWeight::get().writes(2_u64))
	}
	fn leave() -> Weight {
		Weight::from_parts(25_000_000, 3_000)
			.saturating_add(RocksDbWeight::get().reads(2_u64))
			.saturating_add(RocksDbWeight::get().writes(2_u64))
	}
	fn set_admin() -> Weight {
		Weight::from_parts(25_000_000, 3_000)
			.saturating_add(RocksDbWeight::get().reads(3_u64))
			.saturating_add(RocksDbWeight::get().writes(2_u64))
	}
	fn rotate_key(n: u32, ) -> Weight {
		Weight::from_parts(30_000_000, 3_000)
			.saturating_add(Weight::from_parts(5_000_000, 2_500).saturating_mul(n.into()))
			.saturating_add(RocksDbWeight::get().reads(2_u64))
			.saturating_add(RocksDbWeight::get().reads((2 * n as u64).into()))
			.saturating_add(RocksDbWeight::get().writes(2_u64))
	}
}
