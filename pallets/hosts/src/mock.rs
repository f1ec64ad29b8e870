//! A minimal runtime for the hosts pallet.

use crate as pallet_quarks_hosts;
use frame_support::{derive_impl, parameter_types};
use frame_system::EnsureRoot;
use sp_runtime::BuildStorage;

type Block = frame_system::mocking::MockBlock<Test>;

#[frame_support::runtime]
mod runtime {
	#[runtime::runtime]
	#[runtime::derive(
		RuntimeCall,
		RuntimeEvent,
		RuntimeError,
		RuntimeOrigin,
		RuntimeFreezeReason,
		RuntimeHoldReason,
		RuntimeSlashReason,
		RuntimeLockId,
		RuntimeTask,
		RuntimeViewFunction
	)]
	pub struct Test;

	#[runtime::pallet_index(0)]
	pub type System = frame_system;
	#[runtime::pallet_index(1)]
	pub type Hosts = pallet_quarks_hosts;
}

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
	type Block = Block;
}

parameter_types! {
	pub const MaxEndpointLen: u32 = 64;
	pub const MaxHostsPerUser: u32 = 3;
	pub const MaxRetention: u64 = 10_000;
}

impl pallet_quarks_hosts::Config for Test {
	type AdminOrigin = EnsureRoot<u64>;
	type MaxEndpointLen = MaxEndpointLen;
	type MaxHostsPerUser = MaxHostsPerUser;
	type MaxRetention = MaxRetention;
	type WeightInfo = ();
}

pub fn new_test_ext() -> sp_io::TestExternalities {
	let storage = frame_system::GenesisConfig::<Test>::default()
		.build_storage()
		.expect("mock genesis builds");
	let mut ext = sp_io::TestExternalities::new(storage);
	ext.execute_with(|| {
		System::set_block_number(1);
		// The tests' hosts are on 127.0.0.1, as on the development chains.
		crate::AllowPrivateEndpoints::<Test>::put(true);
	});
	ext
}

/// Runs `test`, then checks the pallet's invariants.
pub fn build_and_execute(test: impl FnOnce()) {
	new_test_ext().execute_with(|| {
		test();
		Hosts::do_try_state().expect("invariants hold after the test");
	})
}
