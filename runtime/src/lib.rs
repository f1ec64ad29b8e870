//! # Quarks runtime
//!
//! The state machine of the Quarks network: a permissioned chain that notarises
//! encrypted messaging. Blocks are authored by Aura and finalised by GRANDPA; the
//! validator set and the set of nodes allowed to connect are changed at runtime by the
//! privileged origin (`Root`, reached through `Sudo` today).
//!
//! Layout: this file holds the types, the version and the pallet list; `configs/` the
//! pallet configurations; `apis.rs` the runtime APIs; `genesis_config_presets.rs` the
//! genesis presets the node's chain specs name.

#![cfg_attr(not(feature = "std"), no_std)]
// `construct_runtime` and `impl_runtime_apis` expand to a lot of undocumented items.
#![allow(missing_docs)]

#[cfg(feature = "std")]
include!(concat!(env!("OUT_DIR"), "/wasm_binary.rs"));

// The rehearsal's version is for the blob runtime/build.rs builds beside the real one; a
// native build with it (`--all-features`) would make the real blob claim it too.
#[cfg(all(feature = "std", feature = "upgrade-rehearsal"))]
compile_error!("`upgrade-rehearsal` is only for the blob runtime/build.rs builds");

/// The next runtime version, for the upgrade rehearsal (node/tests/upgrade.rs): this
/// runtime with `spec_version` one higher, as a network would be upgraded to.
#[cfg(feature = "std")]
pub mod rehearsal {
	include!(concat!(env!("OUT_DIR"), "/wasm_binary_rehearsal.rs"));
}

extern crate alloc;

use alloc::vec::Vec;

pub mod apis;
#[cfg(feature = "runtime-benchmarks")]
mod benchmarks;
pub mod configs;
pub mod genesis_config_presets;

use sp_runtime::{
	generic, impl_opaque_keys,
	traits::{BlakeTwo256, IdentifyAccount, Verify},
	MultiAddress, MultiSignature,
};
use sp_version::RuntimeVersion;

pub use frame_system::Call as SystemCall;
pub use pallet_balances::Call as BalancesCall;
pub use pallet_timestamp::Call as TimestampCall;
#[cfg(any(feature = "std", test))]
pub use sp_runtime::BuildStorage;

pub use sp_consensus_aura::sr25519::AuthorityId as AuraId;
pub use sp_consensus_grandpa::AuthorityId as GrandpaId;

/// Opaque types: what the node needs to know of blocks without knowing the runtime.
pub mod opaque {
	use super::*;
	use sp_runtime::{generic, traits::Hash as HashT};

	pub use sp_runtime::OpaqueExtrinsic as UncheckedExtrinsic;

	/// Opaque block header type.
	pub type Header = generic::Header<BlockNumber, BlakeTwo256>;
	/// Opaque block type.
	pub type Block = generic::Block<Header, UncheckedExtrinsic>;
	/// Opaque block identifier type.
	pub type BlockId = generic::BlockId<Block>;
	/// Opaque block hash type.
	pub type Hash = <BlakeTwo256 as HashT>::Output;
}

impl_opaque_keys! {
	/// The keys a validator node holds: Aura for authoring, GRANDPA for finality.
	pub struct SessionKeys {
		pub aura: Aura,
		pub grandpa: Grandpa,
	}
}

/// The runtime version, with `spec_version` given as a literal (as `runtime_version`
/// requires), so the upgrade rehearsal can name the next one.
macro_rules! version {
	($spec_version:tt) => {
		#[sp_version::runtime_version]
		pub const VERSION: RuntimeVersion = RuntimeVersion {
			spec_name: alloc::borrow::Cow::Borrowed("quarks"),
			impl_name: alloc::borrow::Cow::Borrowed("quarks-node"),
			authoring_version: 1,
			spec_version: $spec_version,
			impl_version: 1,
			apis: apis::RUNTIME_API_VERSIONS,
			transaction_version: 5,
			system_version: 1,
		};
	};
}

// Bump `spec_version` on every change of runtime logic (and the rehearsal's with it);
// bump `transaction_version` when calls or their encoding change.
#[cfg(not(feature = "upgrade-rehearsal"))]
version!(114);
#[cfg(feature = "upgrade-rehearsal")]
version!(115);

mod block_times {
	/// Target block time. Delivery never waits for blocks; this decides how soon a message
	/// is anchored and final (measured 0.5 s and 1 s p50 on 2 cores, docs/operations.md),
	/// while leaving room for block import and GRANDPA gossip on small validators.
	pub const MILLI_SECS_PER_BLOCK: u64 = 1000;

	/// Aura slot duration; one block per slot.
	pub const SLOT_DURATION: u64 = MILLI_SECS_PER_BLOCK;
}
pub use block_times::*;

// Time in blocks.
pub const MINUTES: BlockNumber = 60_000 / (MILLI_SECS_PER_BLOCK as BlockNumber);
pub const HOURS: BlockNumber = MINUTES * 60;
pub const DAYS: BlockNumber = HOURS * 24;

/// Native token QRK has 12 decimals.
pub const UNIT: Balance = 1_000_000_000_000;
pub const MILLI_UNIT: Balance = 1_000_000_000;
pub const MICRO_UNIT: Balance = 1_000_000;

/// Smallest balance an account may hold.
pub const EXISTENTIAL_DEPOSIT: Balance = MILLI_UNIT;

/// Alias to 512-bit hash when used in the context of a transaction signature on the chain.
pub type Signature = MultiSignature;

/// Account identifier: the public key of a signature scheme (sr25519 by default).
pub type AccountId = <<Signature as Verify>::Signer as IdentifyAccount>::AccountId;

/// Balance of an account.
pub type Balance = u128;

/// Index of a transaction in the chain.
pub type Nonce = u32;

/// A hash of some data used by the chain.
pub type Hash = sp_core::H256;

/// An index to a block.
pub type BlockNumber = u32;

/// The address format for describing accounts.
pub type Address = MultiAddress<AccountId, ()>;

/// Block header type as expected by this runtime.
pub type Header = generic::Header<BlockNumber, BlakeTwo256>;

/// Block type as expected by this runtime.
pub type Block = generic::Block<Header, UncheckedExtrinsic>;

/// A Block signed with a Justification.
pub type SignedBlock = generic::SignedBlock<Block>;

/// BlockId type as expected by this runtime.
pub type BlockId = generic::BlockId<Block>;

/// The extensions checked on every transaction, in order.
pub type TxExtension = (
	frame_system::AuthorizeCall<Runtime>,
	frame_system::CheckNonZeroSender<Runtime>,
	frame_system::CheckSpecVersion<Runtime>,
	frame_system::CheckTxVersion<Runtime>,
	frame_system::CheckGenesis<Runtime>,
	frame_system::CheckEra<Runtime>,
	frame_system::CheckNonce<Runtime>,
	frame_system::CheckWeight<Runtime>,
	pallet_transaction_payment::ChargeTransactionPayment<Runtime>,
	frame_system::WeightReclaim<Runtime>,
);

/// Unchecked extrinsic type as expected by this runtime.
pub type UncheckedExtrinsic =
	generic::UncheckedExtrinsic<Address, RuntimeCall, Signature, TxExtension>;

/// The payload being signed in transactions.
pub type SignedPayload = generic::SignedPayload<RuntimeCall, TxExtension>;

/// Storage migrations this runtime runs on upgrade, each once (versioned).
type Migrations = (
	pallet_quarks_groups::migrations::v1::MigrateV0ToV1<Runtime>,
	pallet_quarks_keys::migrations::v1::MigrateV0ToV1<Runtime, configs::MigrationKeepsFree>,
	pallet_quarks_hosts::migrations::v1::MigrateV0ToV1<Runtime, configs::MigrationKeepsFree>,
);

/// Executive: handles dispatch to the various modules.
pub type Executive = frame_executive::Executive<
	Runtime,
	Block,
	frame_system::ChainContext<Runtime>,
	Runtime,
	AllPalletsWithSystem,
	Migrations,
>;

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
	pub struct Runtime;

	#[runtime::pallet_index(0)]
	pub type System = frame_system;
	#[runtime::pallet_index(1)]
	pub type Timestamp = pallet_timestamp;
	#[runtime::pallet_index(2)]
	pub type Aura = pallet_aura;
	#[runtime::pallet_index(3)]
	pub type Grandpa = pallet_grandpa;
	#[runtime::pallet_index(4)]
	pub type Balances = pallet_balances;
	#[runtime::pallet_index(5)]
	pub type TransactionPayment = pallet_transaction_payment;
	#[runtime::pallet_index(6)]
	pub type Sudo = pallet_sudo;
	#[runtime::pallet_index(7)]
	pub type Utility = pallet_utility;
	#[runtime::pallet_index(8)]
	pub type NodeAuthorization = pallet_node_authorization;
	#[runtime::pallet_index(9)]
	pub type ValidatorSet = pallet_validator_set;

	// Quarks: the notary of the messaging network.
	#[runtime::pallet_index(20)]
	pub type Keys = pallet_quarks_keys;
	#[runtime::pallet_index(21)]
	pub type Hosts = pallet_quarks_hosts;
	#[runtime::pallet_index(22)]
	pub type Groups = pallet_quarks_groups;
	#[runtime::pallet_index(23)]
	pub type Messaging = pallet_quarks_messaging;
	#[runtime::pallet_index(24)]
	pub type Bounties = pallet_quarks_bounties;
}

#[cfg(test)]
mod tests {
	use super::*;
	use frame_support::dispatch::{DispatchClass, GetDispatchInfo};
	use pallet_quarks_messaging::{AnchorLeaf, InclusionProof, ReceiptItem};
	use quarks_primitives::merkle::MAX_PROOF_DEPTH;

	/// The largest receipt batch, each item with the deepest proof a maximal batch anchor
	/// needs and a group destination, must fit in one block by weight and by length.
	#[test]
	fn a_maximal_receipt_batch_fits_in_a_block() {
		use frame_support::traits::Get;
		let max_batch: u32 = <Runtime as pallet_quarks_messaging::Config>::MaxBatchSize::get();
		let depth = (u32::BITS - max_batch.saturating_sub(1).leading_zeros()) as usize;
		assert!(depth <= MAX_PROOF_DEPTH);
		let item = ReceiptItem {
			sender: AccountId::new([1; 32]),
			root: Hash::repeat_byte(1),
			leaf: AnchorLeaf {
				envelope: Hash::repeat_byte(2),
				destination: quarks_primitives::Destination::Direct(AccountId::new([2; 32])),
				size_class: 3,
			},
			proof: InclusionProof {
				leaf_index: max_batch - 1,
				leaf_count: max_batch,
				siblings: vec![Hash::repeat_byte(3); depth],
			},
			host: Some(AccountId::new([4; 32])),
		};
		let items: u32 = <Runtime as pallet_quarks_messaging::Config>::MaxReceiptBatch::get();
		let call = RuntimeCall::Messaging(pallet_quarks_messaging::Call::acknowledge {
			items: vec![item; items as usize].try_into().expect("MaxReceiptBatch items"),
		});

		let weights = configs::RuntimeBlockWeights::get();
		let normal = weights.get(DispatchClass::Normal);
		let max_extrinsic = normal.max_extrinsic.expect("normal extrinsics are limited");
		assert!(call.get_dispatch_info().call_weight.all_lte(max_extrinsic));
		let max_length = *configs::RuntimeBlockLength::get().max.get(DispatchClass::Normal);
		assert!((codec::Encode::encoded_size(&call) as u32) < max_length);
	}

	/// Pruning the most anchors and receipts a block may record fits in one block.
	#[test]
	fn pruning_a_full_block_fits_in_a_block() {
		use frame_support::traits::Get;
		use pallet_quarks_messaging::WeightInfo;
		type Messaging = <Runtime as pallet_quarks_messaging::Config>::WeightInfo;
		let anchors: u32 = <Runtime as pallet_quarks_messaging::Config>::MaxAnchorsPerBlock::get();
		let receipts: u32 =
			<Runtime as pallet_quarks_messaging::Config>::MaxReceiptsPerBlock::get();
		let prune = Messaging::prune(anchors, receipts);
		let block = configs::RuntimeBlockWeights::get().max_block;
		assert!(prune.all_lte(block / 2), "pruning takes at most half a block: {prune:?}");
	}

	/// So is a maximal batch anchor, a commit with a full roster, and dissolving a group
	/// with a full history.
	#[test]
	fn a_maximal_batch_anchor_and_a_full_commit_fit_in_a_block() {
		use frame_support::traits::Get;
		let max_extrinsic = configs::RuntimeBlockWeights::get()
			.get(DispatchClass::Normal)
			.max_extrinsic
			.expect("normal extrinsics are limited");
		let anchor = RuntimeCall::Messaging(pallet_quarks_messaging::Call::anchor {
			root: Hash::repeat_byte(1),
			count: <Runtime as pallet_quarks_messaging::Config>::MaxBatchSize::get(),
		});
		assert!(anchor.get_dispatch_info().call_weight.all_lte(max_extrinsic));

		let leaves: u32 = <Runtime as pallet_quarks_groups::Config>::MaxLeaves::get();
		let roster: Vec<[u8; 32]> = (0..leaves).map(|i| [i as u8; 32]).collect();
		let largest: u32 = <Runtime as pallet_quarks_groups::Config>::MaxCommitBytes::get();
		let commit = RuntimeCall::Groups(pallet_quarks_groups::Call::commit {
			group: 0,
			epoch: 1,
			commit: frame_support::BoundedVec::truncate_from(vec![9; largest as usize]),
			roster,
			welcome: Some(Hash::repeat_byte(9)),
			restart: true,
			authenticator: Hash::repeat_byte(8),
		});
		assert!(commit.get_dispatch_info().call_weight.all_lte(max_extrinsic));
		let max_length = *configs::RuntimeBlockLength::get().max.get(DispatchClass::Normal);
		assert!((codec::Encode::encoded_size(&commit) as u32) < max_length);
		let leave = RuntimeCall::Groups(pallet_quarks_groups::Call::leave { group: 0 });
		assert!(leave.get_dispatch_info().call_weight.all_lte(max_extrinsic));
	}

	/// State built from the `local` genesis preset.
	fn local_preset() -> sp_io::TestExternalities {
		let config: RuntimeGenesisConfig =
			serde_json::from_value(genesis_config_presets::local_config_genesis())
				.expect("the local preset is a genesis config");
		config.build_storage().expect("the local preset builds").into()
	}

	/// Full blocks raise the fee multiplier at the documented rate (about 0.075 % a block,
	/// doubling within a quarter of an hour of 1-second blocks); empty ones bring it back,
	/// never below one.
	#[test]
	fn congestion_raises_fees() {
		use frame_support::traits::Hooks;
		use pallet_transaction_payment::{Multiplier, NextFeeMultiplier};
		use sp_runtime::traits::One;
		let quarter_hour = (15 * 60 * 1000 / MILLI_SECS_PER_BLOCK) as BlockNumber;
		assert_eq!(quarter_hour, 900, "1-second blocks");
		sp_io::TestExternalities::new_empty().execute_with(|| {
			let full = configs::RuntimeBlockWeights::get()
				.get(DispatchClass::Normal)
				.max_total
				.expect("normal blocks are limited");
			let multiplier = || NextFeeMultiplier::<Runtime>::get();
			assert_eq!(multiplier(), Multiplier::one());
			let mut rates = Vec::new();
			for block in 1..=quarter_hour {
				let before = multiplier();
				System::set_block_number(block);
				System::register_extra_weight_unchecked(full, DispatchClass::Normal);
				TransactionPayment::on_finalize(block);
				rates.push((multiplier() / before).to_float());
			}
			let first = rates[0];
			assert!((first - 1.00075).abs() < 1e-5, "one full block: x{first}");
			let doubled = multiplier().to_float();
			assert!((1.9..2.1).contains(&doubled), "a quarter of an hour: x{doubled}");
			let mut empty = 0;
			while multiplier() > Multiplier::one() {
				empty += 1;
				assert!(empty < 4 * quarter_hour, "fees stay up: x{}", multiplier().to_float());
				let block = quarter_hour + empty;
				System::set_block_number(block);
				frame_system::BlockWeight::<Runtime>::kill();
				TransactionPayment::on_finalize(block);
			}
			assert_eq!(multiplier(), Multiplier::one(), "never below one");
			assert!(empty > quarter_hour, "back to one in {empty} empty blocks");
		});
	}

	/// Issue 26, item 9: a block whose receipt slots, or anchor slots, are full is full
	/// enough that fees rise (the receipts of three accounts filled every slot at 24 % of
	/// a normal block, under the 25 % at which fees rise), so nobody fills the shared slots
	/// at the base fee.
	#[test]
	fn full_receipt_or_anchor_slots_raise_fees() {
		use frame_support::traits::{Get, Hooks};
		use pallet_transaction_payment::{Multiplier, NextFeeMultiplier};
		use sp_runtime::traits::One;
		type Messaging = <Runtime as pallet_quarks_messaging::Config>::MaxReceiptBatch;
		let receipt_slots: u32 =
			<Runtime as pallet_quarks_messaging::Config>::MaxReceiptsPerBlock::get();
		let anchor_slots: u32 =
			<Runtime as pallet_quarks_messaging::Config>::MaxAnchorsPerBlock::get();
		let batch: u32 = Messaging::get();
		let acknowledge = |n: u32| {
			RuntimeCall::Messaging(pallet_quarks_messaging::Call::acknowledge {
				items: vec![
					pallet_quarks_messaging::ReceiptItem {
						sender: AccountId::new([1; 32]),
						root: Hash::repeat_byte(1),
						leaf: AnchorLeaf {
							envelope: Hash::repeat_byte(2),
							destination: quarks_primitives::Destination::Direct(AccountId::new(
								[2; 32],
							)),
							size_class: 0,
						},
						proof: InclusionProof { leaf_index: 0, leaf_count: 1, siblings: vec![] },
						host: Some(AccountId::new([3; 32])),
					};
					n as usize
				]
				.try_into()
				.expect("within MaxReceiptBatch"),
			})
			.get_dispatch_info()
			.call_weight
		};
		let full_batches = receipt_slots / batch;
		let receipts = acknowledge(batch).saturating_mul(u64::from(full_batches))
			+ acknowledge(receipt_slots % batch);
		let anchor = RuntimeCall::Messaging(pallet_quarks_messaging::Call::anchor {
			root: Hash::repeat_byte(1),
			count: 1,
		})
		.get_dispatch_info()
		.call_weight;
		let anchors = anchor.saturating_mul(u64::from(anchor_slots));
		let normal = configs::RuntimeBlockWeights::get()
			.get(DispatchClass::Normal)
			.max_total
			.expect("normal blocks are limited");
		for (slots, weight) in [("receipt", receipts), ("anchor", anchors)] {
			assert!(
				weight.ref_time() * 2 >= normal.ref_time(),
				"full {slots} slots weigh {weight:?}, under half of {normal:?}"
			);
			sp_io::TestExternalities::new_empty().execute_with(|| {
				System::set_block_number(1);
				System::register_extra_weight_unchecked(weight, DispatchClass::Normal);
				TransactionPayment::on_finalize(1);
				assert!(
					NextFeeMultiplier::<Runtime>::get() > Multiplier::one(),
					"full {slots} slots raise fees"
				);
			});
		}
	}

	/// The figures the docs give are the runtime's: commit records kept (64, docs/security.md),
	/// how often a member may update (every 10 seconds), mail's retention (7 days).
	#[test]
	fn the_documented_limits_are_the_runtimes() {
		use frame_support::traits::Get;
		type KeptCommits = <Runtime as pallet_quarks_groups::Config>::MaxKeptCommits;
		type Interval = <Runtime as pallet_quarks_groups::Config>::MinUpdateInterval;
		let seconds = |blocks: u32| u64::from(blocks) * MILLI_SECS_PER_BLOCK / 1000;
		assert_eq!(<KeptCommits as Get<u32>>::get(), 64);
		assert_eq!(seconds(<Interval as Get<u32>>::get()), 10);
		assert_eq!(seconds(configs::MessageRetention::get()), 7 * 24 * 60 * 60);
		assert_eq!(
			<Runtime as pallet_quarks_groups::Config>::CommitRetention::get(),
			configs::MessageRetention::get(),
			"commit records last as long as their epoch's anchors"
		);
	}

	/// The deposits docs/operations.md gives ("What a new user needs") are the runtime's.
	#[test]
	fn the_documented_deposits_are_the_runtimes() {
		use frame_support::traits::fungible::InspectHold;
		use quarks_primitives::DeviceRecord;
		use sp_runtime::traits::Convert;
		let qrk = |footprint| configs::StorageDeposit::convert(footprint);
		let bound = || DeviceRecord { key: [0; 32], added: 0, removed: None };
		let removed = DeviceRecord { removed: Some(1), ..bound() };
		let one = qrk(Keys::footprint(&[bound()]));
		assert_eq!(one, 2_444_000_000);
		assert_eq!(qrk(Keys::footprint(&[bound(), bound()])) - one, 1_263_000_000);
		assert_eq!(one - qrk(Keys::footprint(&[removed])), 1_110_000_000);
		assert_eq!(qrk(Hosts::choice_footprint()), 1_273_000_000);
		assert_eq!(qrk(Groups::group_footprint()), 20_601_000_000);
		assert_eq!(qrk(Groups::member_footprint()), 3_293_000_000);
		assert_eq!(configs::DepositBase::get(), 1_000_000_000);

		// What the runtime holds is that figure: a device bound through the call.
		local_preset().execute_with(|| {
			use sp_core::Pair;
			use sp_keyring::Sr25519Keyring::Eve;
			System::set_block_number(1);
			let who = Eve.to_account_id();
			let device = sp_core::ed25519::Pair::from_seed(&[5; 32]);
			let proof = device.sign(&quarks_primitives::device_proof_payload(&who)).0;
			let package = pallet_quarks_keys::KeyPackageOf::<Runtime>::truncate_from(vec![1; 300]);
			frame_support::assert_ok!(Keys::add_device(
				RuntimeOrigin::signed(who.clone()),
				device.public().0,
				proof,
				package,
				100
			));
			let reason = pallet_quarks_keys::HoldReason::Devices.into();
			assert_eq!(Balances::balance_on_hold(&reason, &who), 2_444_000_000);
		});
	}

	/// No signed account admits a peer: node authorization's claims and connections are
	/// filtered for every origin but the privileged one, directly or inside a batch.
	#[test]
	fn only_the_privileged_origin_admits_peers() {
		use frame_support::{assert_ok, traits::Contains};
		use pallet_node_authorization::Call as Node;
		use sp_keyring::Sr25519Keyring::Alice;
		use sp_runtime::traits::Dispatchable;
		local_preset().execute_with(|| {
			System::set_block_number(1);
			let peer = || sp_core::OpaquePeerId::new(vec![7; 38]);
			let claims = [
				Node::claim_node { node: peer() },
				Node::add_connections { node: peer(), connections: vec![] },
				Node::remove_connections { node: peer(), connections: vec![] },
				Node::remove_claim { node: peer() },
				Node::transfer_node { node: peer(), owner: Alice.to_account_id().into() },
			];
			for call in claims {
				let call = RuntimeCall::NodeAuthorization(call);
				assert!(!configs::NoSignedPeerAdmission::contains(&call));
				let filtered = call.clone().dispatch(RuntimeOrigin::signed(Alice.to_account_id()));
				assert_eq!(
					filtered.map_err(|e| e.error),
					Err(frame_system::Error::<Runtime>::CallFiltered.into()),
					"{call:?}"
				);
				let batch =
					RuntimeCall::Utility(pallet_utility::Call::batch_all { calls: vec![call] });
				assert!(batch.dispatch(RuntimeOrigin::signed(Alice.to_account_id())).is_err());
			}
			let listed = RuntimeCall::NodeAuthorization(Node::add_well_known_node {
				node: peer(),
				owner: Alice.to_account_id().into(),
			});
			assert_ok!(listed.dispatch(RuntimeOrigin::root()));
			assert_eq!(
				pallet_node_authorization::Owners::<Runtime>::get(peer()),
				Some(Alice.to_account_id())
			);
		});
	}

	/// A commit anchors its commit and welcome envelopes in the same transaction; someone
	/// who saw the root first and anchored it under their own account does not stop it.
	#[test]
	fn a_pre_claimed_root_does_not_block_a_commit() {
		use frame_support::{assert_ok, traits::UnfilteredDispatchable};
		use sp_keyring::Sr25519Keyring::{Alice, Bob, Charlie, Dave};
		local_preset().execute_with(|| {
			System::set_block_number(1);
			let signed =
				|who: sp_keyring::Sr25519Keyring| RuntimeOrigin::signed(who.to_account_id());
			assert_ok!(Groups::create_group(
				signed(Alice),
				vec![Bob.to_account_id(), Charlie.to_account_id()]
			));
			let root = Hash::repeat_byte(0x77);
			assert_ok!(Messaging::anchor(signed(Dave), root, 2));

			// The genesis-bound devices of the three members.
			let mut roster: Vec<[u8; 32]> = genesis_config_presets::DEV_DEVICE_KEYS
				.iter()
				.filter(|(who, _)| [Alice, Bob, Charlie].contains(who))
				.map(|(_, key)| *key)
				.collect();
			roster.sort();
			let commit = RuntimeCall::Utility(pallet_utility::Call::batch_all {
				calls: vec![
					RuntimeCall::Groups(pallet_quarks_groups::Call::commit {
						group: 0,
						epoch: 1,
						commit: frame_support::BoundedVec::truncate_from(vec![1; 32]),
						roster,
						welcome: Some(Hash::repeat_byte(1)),
						restart: true,
						authenticator: Hash::repeat_byte(2),
					}),
					RuntimeCall::Messaging(pallet_quarks_messaging::Call::anchor {
						root,
						count: 2,
					}),
				],
			});
			assert_ok!(commit.dispatch_bypass_filter(signed(Alice)));
			assert!(pallet_quarks_messaging::Anchors::<Runtime>::contains_key(
				Alice.to_account_id(),
				root
			));
			assert!(pallet_quarks_messaging::Anchors::<Runtime>::contains_key(
				Dave.to_account_id(),
				root
			));
			assert_eq!(Groups::group(0).map(|g| g.committed), Some(true));
		});
	}

	/// Devices and host choices kept from before deposits (the local preset's, from
	/// genesis) pay the documented deposits at the upgrade to keys and hosts version 1.
	#[test]
	fn state_from_before_deposits_pays_at_the_upgrade() {
		use frame_support::traits::{fungible::InspectHold, OnRuntimeUpgrade, StorageVersion};
		let device = pallet_quarks_keys::HoldReason::Devices.into();
		let choice = pallet_quarks_hosts::HoldReason::Choice.into();
		local_preset().execute_with(|| {
			StorageVersion::new(0).put::<Keys>();
			StorageVersion::new(0).put::<Hosts>();
			for (who, _) in genesis_config_presets::DEV_DEVICE_KEYS {
				let who = who.to_account_id();
				assert_eq!(Balances::balance_on_hold(&device, &who), 0);
				assert_eq!(Balances::balance_on_hold(&choice, &who), 0);
			}
			Migrations::on_runtime_upgrade();
			for (who, _) in genesis_config_presets::DEV_DEVICE_KEYS {
				let who = who.to_account_id();
				assert_eq!(Balances::balance_on_hold(&device, &who), 2_444_000_000);
				assert_eq!(Balances::balance_on_hold(&choice, &who), 1_273_000_000);
			}
			Keys::do_try_state().expect("keys consistent");
			Hosts::do_try_state().expect("hosts consistent");
		});
	}

	/// Every Quarks pallet stores at genesis the storage version its code declares, and a
	/// chain one version behind in any pallet is brought to the code's by [`Migrations`]: a
	/// version bumped without its migration fails here.
	#[test]
	fn migrations_bring_every_pallet_to_its_code_version() {
		use frame_support::traits::{GetStorageVersion, OnRuntimeUpgrade, StorageVersion};
		macro_rules! each_pallet {
			($do:ident) => {
				$do!(Groups);
				$do!(Hosts);
				$do!(Keys);
				$do!(Messaging);
				$do!(ValidatorSet);
			};
		}
		macro_rules! at_code_version {
			($pallet:ident) => {
				assert_eq!(
					$pallet::on_chain_storage_version(),
					$pallet::in_code_storage_version(),
					stringify!($pallet)
				);
			};
		}
		macro_rules! one_behind {
			($pallet:ident) => {
				let code: u16 = codec::Decode::decode(
					&mut &codec::Encode::encode(&$pallet::in_code_storage_version())[..],
				)
				.expect("a storage version is a u16");
				StorageVersion::new(code.saturating_sub(1)).put::<$pallet>();
			};
		}
		local_preset().execute_with(|| {
			each_pallet!(at_code_version);
			each_pallet!(one_behind);
			Migrations::on_runtime_upgrade();
			each_pallet!(at_code_version);
		});
	}
}
