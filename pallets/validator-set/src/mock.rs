//! A runtime with the real Aura and GRANDPA pallets driven by the validator set.

use crate as pallet_validator_set;
use frame_support::{
	derive_impl, parameter_types,
	traits::{ConstBool, ConstU32, ConstU64, OnFinalize, OnInitialize},
};
use frame_system::EnsureRoot;
use sp_consensus_grandpa::AuthorityId as GrandpaId;
use sp_core::{ed25519, sr25519};
use sp_runtime::BuildStorage;

type Block = frame_system::mocking::MockBlock<Test>;
pub type AuraId = sp_consensus_aura::sr25519::AuthorityId;
pub type AccountId = u64;

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
	pub type Timestamp = pallet_timestamp;
	#[runtime::pallet_index(2)]
	pub type Aura = pallet_aura;
	#[runtime::pallet_index(3)]
	pub type Grandpa = pallet_grandpa;
	#[runtime::pallet_index(4)]
	pub type ValidatorSet = pallet_validator_set;
}

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
	type Block = Block;
}

impl pallet_timestamp::Config for Test {
	type Moment = u64;
	type OnTimestampSet = Aura;
	type MinimumPeriod = ConstU64<1_500>;
	type WeightInfo = ();
}

impl pallet_aura::Config for Test {
	type AuthorityId = AuraId;
	type DisabledValidators = ();
	type MaxAuthorities = ConstU32<8>;
	type AllowMultipleBlocksPerSlot = ConstBool<false>;
	type SlotDuration = pallet_aura::MinimumPeriodTimesTwo<Test>;
}

impl pallet_grandpa::Config for Test {
	type RuntimeEvent = RuntimeEvent;
	type WeightInfo = ();
	type MaxAuthorities = ConstU32<8>;
	type MaxNominators = ConstU32<0>;
	type MaxSetIdSessionEntries = ConstU64<0>;
	type KeyOwnerProof = sp_core::Void;
	type EquivocationReportSystem = ();
}

parameter_types! {
	pub const MinValidators: u32 = 2;
	pub const MaxValidators: u32 = 5;
}

impl pallet_validator_set::Config for Test {
	type AuraId = AuraId;
	type GrandpaId = GrandpaId;
	type AuthoritySet = pallet_validator_set::AuraGrandpa<Test>;
	type AddRemoveOrigin = EnsureRoot<AccountId>;
	type MinValidators = MinValidators;
	type MaxValidators = MaxValidators;
	type WeightInfo = ();
	#[cfg(feature = "runtime-benchmarks")]
	type BenchmarkHelper = Keys;
}

/// Distinct test keys for validator number `i`.
pub fn keys(i: u32) -> (AuraId, GrandpaId) {
	let mut seed = [0u8; 32];
	seed[..4].copy_from_slice(&i.to_le_bytes());
	(sr25519::Public::from_raw(seed).into(), ed25519::Public::from_raw(seed).into())
}

/// Benchmark keys are the test keys.
#[cfg(feature = "runtime-benchmarks")]
pub struct Keys;
#[cfg(feature = "runtime-benchmarks")]
impl crate::BenchmarkHelper<AuraId, GrandpaId> for Keys {
	fn keys(i: u32) -> (AuraId, GrandpaId) {
		keys(i)
	}
}

/// Genesis with validators `1..=n` using `keys(account)`.
pub struct ExtBuilder {
	validators: u64,
}

impl Default for ExtBuilder {
	fn default() -> Self {
		Self { validators: 3 }
	}
}

impl ExtBuilder {
	pub fn validators(mut self, n: u64) -> Self {
		self.validators = n;
		self
	}

	pub fn build(self) -> sp_io::TestExternalities {
		let validators: Vec<_> = (1..=self.validators)
			.map(|account| {
				let (aura, grandpa) = keys(account as u32);
				(account, aura, grandpa)
			})
			.collect();
		let storage = RuntimeGenesisConfig {
			aura: pallet_aura::GenesisConfig {
				authorities: validators.iter().map(|v| v.1.clone()).collect(),
			},
			grandpa: pallet_grandpa::GenesisConfig {
				authorities: validators.iter().map(|v| (v.2.clone(), 1)).collect(),
				..Default::default()
			},
			validator_set: pallet_validator_set::GenesisConfig { validators },
			..Default::default()
		}
		.build_storage()
		.expect("mock genesis builds");
		let mut ext = sp_io::TestExternalities::new(storage);
		ext.execute_with(|| System::set_block_number(1));
		ext
	}

	/// Runs `test`, then checks the pallet's invariants.
	pub fn build_and_execute(self, test: impl FnOnce()) {
		self.build().execute_with(|| {
			test();
			ValidatorSet::do_try_state().expect("invariants hold after the test");
		})
	}
}

#[cfg(feature = "runtime-benchmarks")]
pub fn new_test_ext() -> sp_io::TestExternalities {
	ExtBuilder::default().build()
}

/// Finalises the current block (enacting due GRANDPA changes) and starts the next.
pub fn next_block() {
	let n = System::block_number();
	Grandpa::on_finalize(n);
	System::set_block_number(n + 1);
	System::reset_events();
	ValidatorSet::on_initialize(n + 1);
}
