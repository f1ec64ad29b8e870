//! The Quarks pallets on a live chain: real node processes on 127.0.0.1.

mod common;

use codec::Encode;
use common::*;
use pallet_quarks_messaging::{AnchorRecord, Call as MessagingCall};
use quarks_primitives::Destination;
use quarks_runtime::{AccountId, BlockNumber, RuntimeCall};
use sp_core::H256;
use sp_io::hashing::{blake2_128, twox_128};
use sp_keyring::Sr25519Keyring;
use std::time::Duration;

fn prefix(pallet: &str, item: &str) -> Vec<u8> {
	[twox_128(pallet.as_bytes()), twox_128(item.as_bytes())].concat()
}

fn anchor_key(envelope: H256) -> Vec<u8> {
	[prefix("Messaging", "Anchors"), envelope.0.to_vec()].concat()
}

fn receipt_key(envelope: H256, recipient: &AccountId) -> Vec<u8> {
	let encoded = recipient.encode();
	[prefix("Messaging", "Receipts"), envelope.0.to_vec(), blake2_128(&encoded).to_vec(), encoded]
		.concat()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_message_is_anchored_and_acknowledged_on_chain() {
	let _machine = exclusive();
	let dir = tempfile::tempdir().expect("temp dir");
	let validators = start_validators(dir.path()).await;
	let refs: Vec<&Node> = validators.iter().collect();
	wait_finalized(&refs, 1).await;
	let (alice, bob) = (&validators[0], &validators[1]);
	let envelope = H256::repeat_byte(0x42);
	let to_bob = Destination::Direct(account(Sr25519Keyring::Bob));

	// Alice and Bob hold genesis encryption keys in the local preset.
	alice
		.submit(
			Sr25519Keyring::Alice,
			RuntimeCall::Messaging(MessagingCall::anchor {
				envelope,
				destination: to_bob.clone(),
				size_class: 0,
			}),
		)
		.await;
	let record: AnchorRecord<AccountId, BlockNumber> =
		wait_for("the anchor is finalized", Duration::from_secs(120), || {
			bob.finalized_storage(anchor_key(envelope))
		})
		.await;
	assert_eq!(record.sender, account(Sr25519Keyring::Alice));
	assert_eq!(record.destination, to_bob);

	bob.submit(
		Sr25519Keyring::Bob,
		RuntimeCall::Messaging(MessagingCall::acknowledge {
			anchor: envelope,
			envelope,
			proof: None,
		}),
	)
	.await;
	let receipt = receipt_key(envelope, &account(Sr25519Keyring::Bob));
	let delivered_at: BlockNumber =
		wait_for("the receipt is finalized", Duration::from_secs(120), || {
			alice.finalized_storage(receipt.clone())
		})
		.await;
	assert!(delivered_at >= record.anchored_at);
}
