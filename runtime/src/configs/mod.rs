//! Pallet configurations. Only `impl Config` blocks and their parameters live here;
//! every value that differs from a pallet's usual default says why.

use frame_support::dispatch::DispatchClass;
use frame_support::{
	parameter_types,
	traits::{
		fungible::HoldConsideration, ConstBool, ConstU128, ConstU32, ConstU64, ConstU8,
		LinearStoragePrice, VariantCountOf,
	},
	weights::{
		constants::{ParityDbWeight, WEIGHT_REF_TIME_PER_MILLIS},
		IdentityFee, Weight,
	},
};
use frame_system::{
	limits::{BlockLength, BlockWeights},
	EnsureRoot,
};
use pallet_transaction_payment::{FungibleAdapter, Multiplier, TargetedFeeAdjustment};
use sp_runtime::{
	traits::{AccountIdLookup, BlakeTwo256, Bounded, One},
	FixedPointNumber, Perbill, Perquintill,
};
use sp_version::RuntimeVersion;

use super::{
	AccountId, Aura, Balance, Balances, Block, BlockNumber, Bounties, Groups, Hash, Hosts, Keys,
	Messaging, Nonce, PalletInfo, Runtime, RuntimeCall, RuntimeEvent, RuntimeFreezeReason,
	RuntimeHoldReason, RuntimeOrigin, RuntimeTask, System, DAYS, EXISTENTIAL_DEPOSIT, MICRO_UNIT,
	MILLI_SECS_PER_BLOCK, MILLI_UNIT, MINUTES, SLOT_DURATION, VERSION,
};

const NORMAL_DISPATCH_RATIO: Perbill = Perbill::from_percent(75);

/// Every call but node authorization's signed ones: claiming a node and adding
/// connections would let any account admit peers the privileged origin never listed. The
/// privileged origin (root) is not filtered and manages the allow-list.
pub struct NoSignedPeerAdmission;

impl frame_support::traits::Contains<RuntimeCall> for NoSignedPeerAdmission {
	fn contains(call: &RuntimeCall) -> bool {
		use pallet_node_authorization::Call as Node;
		!matches!(
			call,
			RuntimeCall::NodeAuthorization(
				Node::claim_node { .. }
					| Node::remove_claim { .. }
					| Node::transfer_node { .. }
					| Node::add_connections { .. }
					| Node::remove_connections { .. }
			)
		)
	}
}

/// Most validators the chain supports; Aura and GRANDPA accept as many.
pub const MAX_VALIDATORS: u32 = 32;

parameter_types! {
	pub const BlockHashCount: BlockNumber = 2400;
	pub const Version: RuntimeVersion = VERSION;

	// A third of the slot for computation: block import and GRANDPA gossip must fit in the
	// rest of the slot on small validators.
	pub RuntimeBlockWeights: BlockWeights = BlockWeights::with_sensible_defaults(
		Weight::from_parts(WEIGHT_REF_TIME_PER_MILLIS * MILLI_SECS_PER_BLOCK / 3, u64::MAX),
		NORMAL_DISPATCH_RATIO,
	);
	pub RuntimeBlockLength: BlockLength = BlockLength::builder()
		.max_length(5 * 1024 * 1024)
		.modify_max_length_for_class(DispatchClass::Normal, |max| *max = NORMAL_DISPATCH_RATIO * *max)
		.build();
	// Not registered in the SS58 registry; chosen so Quarks addresses differ from every
	// Substrate chain that uses the generic prefix 42.
	pub const SS58Prefix: u16 = 7777;
}

impl frame_system::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type RuntimeOrigin = RuntimeOrigin;
	type RuntimeCall = RuntimeCall;
	type RuntimeTask = RuntimeTask;
	type PalletInfo = PalletInfo;
	type BaseCallFilter = NoSignedPeerAdmission;
	type Block = Block;
	type BlockWeights = RuntimeBlockWeights;
	type BlockLength = RuntimeBlockLength;
	type BlockHashCount = BlockHashCount;
	type AccountId = AccountId;
	type Lookup = AccountIdLookup<AccountId, ()>;
	type Nonce = Nonce;
	type Hash = Hash;
	type Hashing = BlakeTwo256;
	// The node stores its state in ParityDB only.
	type DbWeight = ParityDbWeight;
	type Version = Version;
	type AccountData = pallet_balances::AccountData<Balance>;
	type OnNewAccount = ();
	type OnKilledAccount = ();
	type SystemWeightInfo = frame_system::weights::SubstrateWeight<Runtime>;
	type ExtensionsWeightInfo = frame_system::SubstrateExtensionsWeight<Runtime>;
	type SS58Prefix = SS58Prefix;
	type OnSetCode = ();
	type MaxConsumers = ConstU32<16>;
	type SingleBlockMigrations = ();
	type MultiBlockMigrator = ();
	type PreInherents = ();
	type PostInherents = ();
	type PostTransactions = ();
}

impl pallet_aura::Config for Runtime {
	type AuthorityId = super::AuraId;
	type DisabledValidators = ();
	type MaxAuthorities = ConstU32<MAX_VALIDATORS>;
	type AllowMultipleBlocksPerSlot = ConstBool<false>;
	type SlotDuration = pallet_aura::MinimumPeriodTimesTwo<Runtime>;
}

impl pallet_grandpa::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type WeightInfo = ();
	type MaxAuthorities = ConstU32<MAX_VALIDATORS>;
	type MaxNominators = ConstU32<0>;
	type MaxSetIdSessionEntries = ConstU64<0>;
	// No equivocation reporting: validators are admitted by the privileged origin and
	// removed by it, not slashed.
	type KeyOwnerProof = sp_core::Void;
	type EquivocationReportSystem = ();
}

impl pallet_timestamp::Config for Runtime {
	type Moment = u64;
	type OnTimestampSet = Aura;
	type MinimumPeriod = ConstU64<{ SLOT_DURATION / 2 }>;
	type WeightInfo = pallet_timestamp::weights::SubstrateWeight<Runtime>;
}

impl pallet_balances::Config for Runtime {
	type MaxLocks = ConstU32<50>;
	type MaxReserves = ();
	type ReserveIdentifier = [u8; 8];
	type Balance = Balance;
	type RuntimeEvent = RuntimeEvent;
	type DustRemoval = ();
	type ExistentialDeposit = ConstU128<EXISTENTIAL_DEPOSIT>;
	type AccountStore = System;
	type WeightInfo = pallet_balances::weights::SubstrateWeight<Runtime>;
	type FreezeIdentifier = RuntimeFreezeReason;
	type MaxFreezes = VariantCountOf<RuntimeFreezeReason>;
	type RuntimeHoldReason = RuntimeHoldReason;
	type RuntimeFreezeReason = RuntimeFreezeReason;
	type DoneSlashHandler = ();
}

parameter_types! {
	/// Blocks fuller than this (of their normal-class weight) raise the fee multiplier.
	pub const TargetBlockFullness: Perquintill = Perquintill::from_percent(25);
	/// How fast: about +0.075 % per full block, so a minute of full 1-second blocks
	/// raises fees by about 5 % and a quarter of an hour doubles them.
	pub AdjustmentVariable: Multiplier = Multiplier::saturating_from_rational(1, 1_000);
	/// Fees never fall below the weight's own price.
	pub MinimumMultiplier: Multiplier = Multiplier::one();
	pub MaximumMultiplier: Multiplier = Bounded::max_value();
}

impl pallet_transaction_payment::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type OnChargeTransaction = FungibleAdapter<Balances, ()>;
	type OperationalFeeMultiplier = ConstU8<5>;
	type WeightToFee = IdentityFee<Balance>;
	type LengthToFee = IdentityFee<Balance>;
	// Whoever fills blocks pays more the longer they do (issue 12: blockspace griefing).
	type FeeMultiplierUpdate = TargetedFeeAdjustment<
		Runtime,
		TargetBlockFullness,
		AdjustmentVariable,
		MinimumMultiplier,
		MaximumMultiplier,
	>;
	type WeightInfo = pallet_transaction_payment::weights::SubstrateWeight<Runtime>;
}

impl pallet_sudo::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type RuntimeCall = RuntimeCall;
	type WeightInfo = pallet_sudo::weights::SubstrateWeight<Runtime>;
}

impl pallet_utility::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type RuntimeCall = RuntimeCall;
	type PalletsOrigin = super::OriginCaller;
	type WeightInfo = pallet_utility::weights::SubstrateWeight<Runtime>;
}

/// The privileged origin of the chain. `Root` is reached through `Sudo` today; a council
/// replaces it by changing this one type.
pub type PrivilegedOrigin = EnsureRoot<AccountId>;

impl pallet_node_authorization::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type MaxWellKnownNodes = ConstU32<64>;
	type MaxPeerIdLength = ConstU32<128>;
	type AddOrigin = PrivilegedOrigin;
	type RemoveOrigin = PrivilegedOrigin;
	type SwapOrigin = PrivilegedOrigin;
	type ResetOrigin = PrivilegedOrigin;
	// The pallet ships no benchmarks; its calls are rare, privileged and O(MaxWellKnownNodes).
	type WeightInfo = ();
}

parameter_types! {
	/// A validator set of one cannot tolerate a fault but lets a development chain run.
	pub const MinValidators: u32 = 1;
}

impl pallet_validator_set::Config for Runtime {
	type AuraId = super::AuraId;
	type GrandpaId = super::GrandpaId;
	type AuthoritySet = pallet_validator_set::AuraGrandpa<Runtime>;
	type AddRemoveOrigin = PrivilegedOrigin;
	type MinValidators = MinValidators;
	type MaxValidators = ConstU32<MAX_VALIDATORS>;
	type WeightInfo = pallet_validator_set::weights::SubstrateWeight<Runtime>;
	#[cfg(feature = "runtime-benchmarks")]
	type BenchmarkHelper = BenchmarkKeys;
}

/// Distinct raw keys for validator-set benchmarks.
#[cfg(feature = "runtime-benchmarks")]
pub struct BenchmarkKeys;
#[cfg(feature = "runtime-benchmarks")]
impl pallet_validator_set::BenchmarkHelper<super::AuraId, super::GrandpaId> for BenchmarkKeys {
	fn keys(i: u32) -> (super::AuraId, super::GrandpaId) {
		let mut raw = [0u8; 32];
		raw[..4].copy_from_slice(&i.to_le_bytes());
		(
			sp_core::sr25519::Public::from_raw(raw).into(),
			sp_core::ed25519::Public::from_raw(raw).into(),
		)
	}
}

parameter_types! {
	/// Key packages are published for at most 180 days; clients renew them before.
	pub const MaxKeyLifetime: BlockNumber = 180 * DAYS;
	/// How long anchors, receipts and undelivered mail are kept: one week. Hosts may not
	/// keep mail longer than the chain keeps the anchors they check it against.
	pub const MessageRetention: BlockNumber = 7 * DAYS;
}

parameter_types! {
	/// Held per deposit (a device list, a host choice, a group, a member's place): as
	/// much as the least an account keeps, so state is never cheaper than an account.
	pub const DepositBase: Balance = MILLI_UNIT;
	/// Held per byte of state a deposit pays for: 1 QRK a megabyte.
	pub const DepositPerByte: Balance = MICRO_UNIT;
	pub const DevicesHold: RuntimeHoldReason =
		RuntimeHoldReason::Keys(pallet_quarks_keys::HoldReason::Devices);
	pub const ChoiceHold: RuntimeHoldReason =
		RuntimeHoldReason::Hosts(pallet_quarks_hosts::HoldReason::Choice);
	pub const GroupHold: RuntimeHoldReason =
		RuntimeHoldReason::Groups(pallet_quarks_groups::HoldReason::Group);
	/// What the migrations that take deposits for state kept from before them leave an
	/// account spendable, at least: twenty calls' fees (about 0.0005 QRK each), so none is
	/// left unable to give its state back.
	pub const MigrationKeepsFree: Balance = 10 * MILLI_UNIT;
}

/// What a deposit holds for a footprint of state: `DepositBase` and `DepositPerByte`.
pub type StorageDeposit = LinearStoragePrice<DepositBase, DepositPerByte, Balance>;

impl pallet_quarks_keys::Config for Runtime {
	type MaxKeyLifetime = MaxKeyLifetime;
	// Anchors are checked against the devices bound at their block while they are kept.
	type KeptAfterEnd = MessageRetention;
	// Eight devices in use and as many removed within the retention.
	type MaxDevices = ConstU32<16>;
	// An X25519/Ed25519 last-resort key package with a basic credential is about 300
	// bytes; room for larger capabilities and extensions.
	type MaxKeyPackageLen = ConstU32<1024>;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Currency = Balances;
	type Consideration = HoldConsideration<AccountId, Balances, DevicesHold, StorageDeposit>;
	type WeightInfo = pallet_quarks_keys::weights::SubstrateWeight<Runtime>;
}

impl pallet_quarks_hosts::Config for Runtime {
	type AdminOrigin = PrivilegedOrigin;
	type MaxEndpointLen = ConstU32<128>;
	// Three hosts keep mail available when one is down, without tripling much more.
	type MaxHostsPerUser = ConstU32<3>;
	type MaxRetention = MessageRetention;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Currency = Balances;
	type Consideration = HoldConsideration<AccountId, Balances, ChoiceHold, StorageDeposit>;
	type WeightInfo = pallet_quarks_hosts::weights::SubstrateWeight<Runtime>;
}

impl pallet_quarks_groups::Config for Runtime {
	type Devices = Keys;
	// A commit's roster names every member's devices; 256 members keep it inside a block.
	type MaxMembers = ConstU32<256>;
	// Four devices per member of a full group (a roster is 32 bytes a device).
	type MaxLeaves = ConstU32<1024>;
	// The largest mail class: a commit went as mail before it went in the call, and one
	// adding about 180 devices at once fills it (docs/performance.md).
	type MaxCommitBytes = ConstU32<65_536>;
	// Commit records stay as long as the anchors of their epoch's messages, unless a
	// group churns through more than 64 epochs in that time.
	type MaxKeptCommits = ConstU32<64>;
	type CommitRetention = MessageRetention;
	// Updates come seconds apart at most, so a member churning the group's records leaves
	// at least ten minutes of epochs (64 records) whose receipts can be checked, and an
	// update on demand waits a few seconds at most.
	type MinUpdateInterval = ConstU32<{ 10 * MINUTES / 60 }>;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Currency = Balances;
	type Consideration = HoldConsideration<AccountId, Balances, GroupHold, StorageDeposit>;
	type WeightInfo = pallet_quarks_groups::weights::SubstrateWeight<Runtime>;
	#[cfg(feature = "runtime-benchmarks")]
	type BenchmarkHelper = benchmark_helpers::BoundDevices;
}

impl pallet_quarks_messaging::Config for Runtime {
	type Devices = Keys;
	type Groups = Groups;
	type Hosts = Hosts;
	type OnDelivered = Bounties;
	// A sender's whole block of sends, however many conversations (proofs 12 deep).
	type MaxBatchSize = ConstU32<4096>;
	type MaxReceiptBatch = ConstU32<256>;
	// Senders per block, each with up to MaxBatchSize leaves, and receipts per block: 1024
	// and 2048 every 3 seconds whatever the slot, so pruning a block's records (a block's
	// computation scales with the slot too) fits in a later block (docs/protocol.md).
	type MaxAnchorsPerBlock = ConstU32<{ (1024 * MILLI_SECS_PER_BLOCK / 3000) as u32 }>;
	type MaxReceiptsPerBlock = ConstU32<{ (2048 * MILLI_SECS_PER_BLOCK / 3000) as u32 }>;
	type Retention = MessageRetention;
	type WeightInfo = pallet_quarks_messaging::weights::SubstrateWeight<Runtime>;
	#[cfg(feature = "runtime-benchmarks")]
	type BenchmarkHelper = benchmark_helpers::BoundDevices;
}

parameter_types! {
	/// The least share of a bounty: what an operator's account needs to exist, so any
	/// share can be paid to it.
	pub const MinBounty: Balance = EXISTENTIAL_DEPOSIT;
}

impl pallet_quarks_bounties::Config for Runtime {
	type RuntimeHoldReason = RuntimeHoldReason;
	type Currency = Balances;
	type Anchors = Messaging;
	type Retention = MessageRetention;
	type MaxAnchorsPerBlock = <Runtime as pallet_quarks_messaging::Config>::MaxAnchorsPerBlock;
	// A receipt from each member of a full group.
	type MaxReceiptsPerLeaf = <Runtime as pallet_quarks_groups::Config>::MaxMembers;
	type MinBounty = MinBounty;
	type WeightInfo = pallet_quarks_bounties::weights::SubstrateWeight<Runtime>;
	#[cfg(feature = "runtime-benchmarks")]
	type BenchmarkHelper = benchmark_helpers::BoundDevices;
}

/// Benchmark set-up through the real keys pallet's storage.
#[cfg(feature = "runtime-benchmarks")]
mod benchmark_helpers {
	use super::*;
	use quarks_primitives::{DeviceKey, DeviceRecord};

	pub struct BoundDevices;

	fn bind(who: &AccountId, device: DeviceKey) {
		use pallet_quarks_keys::{DeviceOwner, Devices};
		let record = DeviceRecord { key: device, added: System::block_number(), removed: None };
		Devices::<Runtime>::try_mutate(who, |devices| devices.try_push(record))
			.expect("benchmark accounts bind at most MaxDevices devices");
		DeviceOwner::<Runtime>::insert(device, who);
	}

	impl pallet_quarks_groups::BenchmarkHelper<AccountId> for BoundDevices {
		fn bind_device(who: &AccountId, device: DeviceKey) {
			bind(who, device);
		}
	}

	impl pallet_quarks_messaging::BenchmarkHelper<AccountId> for BoundDevices {
		fn setup_sender_and_recipient(sender: &AccountId, recipient: &AccountId) {
			// A device key per account, as distinct as the accounts.
			for who in [sender, recipient] {
				bind(who, *AsRef::<[u8; 32]>::as_ref(who));
			}
		}

		fn choose_hosts(user: &AccountId) -> AccountId {
			use alloc::vec::Vec;
			use frame_support::{traits::Get, BoundedVec};
			use pallet_quarks_hosts::{Choices, HostRecord, Hosts as HostRecords};
			let most = <Runtime as pallet_quarks_hosts::Config>::MaxHostsPerUser::get();
			let operators: Vec<AccountId> =
				(0..most).map(|i| AccountId::new([i as u8 + 1; 32])).collect();
			for operator in &operators {
				let endpoint = BoundedVec::truncate_from(b"wss://host.example".to_vec());
				let record =
					HostRecord { endpoint, retention: 100, capacity: 1 << 40, user_quota: 1 << 30 };
				HostRecords::<Runtime>::insert(operator, record);
			}
			Choices::<Runtime>::insert(user, BoundedVec::truncate_from(operators.clone()));
			// The last of the choice: the most a receipt's check compares.
			operators.last().cloned().expect("a user may choose a host")
		}
	}

	impl pallet_quarks_bounties::BenchmarkHelper<AccountId> for BoundDevices {
		fn anchor(sender: &AccountId, root: sp_core::H256, count: u32) {
			let anchored_at = System::block_number();
			pallet_quarks_messaging::Anchors::<Runtime>::insert(
				sender,
				root,
				quarks_primitives::AnchorRecord { count, anchored_at },
			);
		}
	}
}
