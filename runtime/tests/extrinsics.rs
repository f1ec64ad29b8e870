//! Property tests of the decoder every transaction meets first: a node decodes each
//! extrinsic a peer gossips or an RPC caller submits (`author_submitExtrinsic`) as this
//! runtime's `UncheckedExtrinsic`, call arguments included, before checking anything.
//! Inputs are random bytes and mutations of signed and bare extrinsics of every call of
//! our pallets. Properties: nothing panics within the depth limit the runtime applies, and
//! whatever decodes re-encodes to exactly its input.
//!
//!     cargo test -p quarks-runtime --test extrinsics                   (CI: 20,000 inputs)
//!     DECODER_INPUTS=1000000 cargo test --release -p quarks-runtime --test extrinsics

use codec::{DecodeLimit, Encode};
use frame_support::MAX_EXTRINSIC_DEPTH;
use pallet_quarks_messaging::{AnchorLeaf, InclusionProof, ReceiptItem};
use quarks_primitives::Destination;
use quarks_runtime::{
	AccountId, Address, Hash, Runtime, RuntimeCall, TxExtension, UncheckedExtrinsic,
};
use sp_runtime::{generic::Era, MultiSignature};

include!("../../primitives/fuzz/inputs.rs");

fn who(byte: u8) -> AccountId {
	AccountId::new([byte; 32])
}

/// One call of every dispatchable of our pallets, with arguments of each shape.
fn calls() -> Vec<RuntimeCall> {
	use pallet_quarks_groups::Call as Groups;
	use pallet_quarks_hosts::Call as Hosts;
	use pallet_quarks_keys::Call as Keys;
	use pallet_quarks_messaging::Call as Messaging;
	use pallet_validator_set::Call as Validators;
	let key_package = || vec![4u8; 300].try_into().expect("within MaxKeyPackageLen");
	let receipt = ReceiptItem {
		sender: who(1),
		root: Hash::repeat_byte(1),
		leaf: AnchorLeaf {
			envelope: Hash::repeat_byte(2),
			destination: Destination::Group { group: 3, epoch: 4 },
			size_class: 2,
		},
		proof: InclusionProof { leaf_index: 2, leaf_count: 5, siblings: vec![Hash::zero(); 3] },
		host: Some(who(6)),
	};
	vec![
		RuntimeCall::Keys(Keys::add_device {
			device: [1; 32],
			proof: [2; 64],
			key_package: key_package(),
			expires_at: 100,
		}),
		RuntimeCall::Keys(Keys::publish_key_package {
			device: [1; 32],
			key_package: key_package(),
			expires_at: 100,
		}),
		RuntimeCall::Keys(Keys::remove_device { device: [1; 32] }),
		RuntimeCall::Hosts(Hosts::admit_host {
			operator: who(2),
			endpoint: b"http://127.0.0.1:9944".to_vec(),
			retention: 1000,
			capacity: 1 << 30,
			user_quota: 1 << 26,
		}),
		RuntimeCall::Hosts(Hosts::remove_host { operator: who(2) }),
		RuntimeCall::Hosts(Hosts::update_host {
			endpoint: b"http://[::1]:9944".to_vec(),
			retention: 1000,
			capacity: 1 << 30,
			user_quota: 1 << 26,
		}),
		RuntimeCall::Hosts(Hosts::choose_hosts { hosts: vec![who(2), who(3)] }),
		RuntimeCall::Groups(Groups::create_group { members: vec![who(4), who(5)] }),
		RuntimeCall::Groups(Groups::add_member { group: 7, who: who(6) }),
		RuntimeCall::Groups(Groups::remove_member { group: 7, who: who(6) }),
		RuntimeCall::Groups(Groups::leave { group: 7 }),
		RuntimeCall::Groups(Groups::set_admin { group: 7, who: who(5), admin: true }),
		RuntimeCall::Groups(Groups::commit {
			group: 7,
			epoch: 2,
			commit: vec![9; 300].try_into().expect("within MaxCommitBytes"),
			roster: vec![[1; 32], [2; 32]],
			welcome: Some(Hash::repeat_byte(9)),
			restart: false,
			authenticator: Hash::repeat_byte(8),
		}),
		RuntimeCall::Messaging(Messaging::anchor { root: Hash::repeat_byte(8), count: 5 }),
		RuntimeCall::Messaging(Messaging::acknowledge {
			items: vec![receipt.clone(), receipt].try_into().expect("within MaxReceiptBatch"),
		}),
		RuntimeCall::Bounties(pallet_quarks_bounties::Call::offer {
			root: Hash::repeat_byte(9),
			per_receipt: 1_000_000,
			receipts: 3,
		}),
		RuntimeCall::ValidatorSet(Validators::remove_validator { validator: who(7) }),
		RuntimeCall::ValidatorSet(Validators::recover_finality { best_finalized: 9, delay: 3 }),
	]
}

fn extension(nonce: u32) -> TxExtension {
	(
		frame_system::AuthorizeCall::<Runtime>::new(),
		frame_system::CheckNonZeroSender::<Runtime>::new(),
		frame_system::CheckSpecVersion::<Runtime>::new(),
		frame_system::CheckTxVersion::<Runtime>::new(),
		frame_system::CheckGenesis::<Runtime>::new(),
		frame_system::CheckEra::<Runtime>::from(Era::mortal(64, 10)),
		frame_system::CheckNonce::<Runtime>::from(nonce),
		frame_system::CheckWeight::<Runtime>::new(),
		pallet_transaction_payment::ChargeTransactionPayment::<Runtime>::from(0),
		frame_system::WeightReclaim::<Runtime>::new(),
	)
}

/// Every call signed (as our client sends them) and bare (as a hostile peer may).
fn seeds() -> Vec<Vec<u8>> {
	let calls = calls();
	let signed = calls.iter().zip(0u32..).map(|(call, nonce)| {
		UncheckedExtrinsic::new_signed(
			call.clone(),
			Address::Id(who(1)),
			MultiSignature::Sr25519(sp_core::sr25519::Signature::from_raw([3; 64])),
			extension(nonce),
		)
	});
	let bare = calls.iter().cloned().map(UncheckedExtrinsic::new_bare);
	signed.chain(bare).map(|extrinsic| extrinsic.encode()).collect()
}

/// Decodes `bytes` as the node does and checks the round trip; true if it decoded.
fn check(bytes: &[u8]) -> bool {
	let Ok(extrinsic) =
		UncheckedExtrinsic::decode_all_with_depth_limit(MAX_EXTRINSIC_DEPTH, &mut &bytes[..])
	else {
		return false;
	};
	assert_eq!(extrinsic.encode(), bytes, "a second encoding decoded to the same extrinsic");
	true
}

#[test]
fn hostile_extrinsics_never_panic_and_decode_canonically() {
	let seeds = seeds();
	for seed in &seeds {
		assert!(check(seed), "a valid extrinsic must decode");
	}
	let decoded = hostile_inputs(&seeds).filter(|bytes| check(bytes)).count();
	// Mutations must reach the call arguments (more decode than the seeds themselves), or
	// the test proves nothing.
	assert!(decoded > seeds.len(), "no mutated extrinsic decoded");
}
