//! Tests of the messaging pallet.

use crate::{
	mock::*, AnchorRecord, Anchors, AnchorsAt, Destination, Error, Event, ReceiptItem, Receipts,
	SIZE_CLASSES,
};
use frame_support::{assert_noop, assert_ok};
use quarks_primitives::merkle;
use sp_core::H256;
use sp_runtime::DispatchError;

const ALICE: u64 = 1;
const BOB: u64 = 2;
const CAROL: u64 = 3;
const DAVE: u64 = 4;
const NOKEY: u64 = 42;
const GROUP: u64 = 7;

fn h(n: u8) -> H256 {
	H256::repeat_byte(n)
}

fn to_bob() -> Destination<u64> {
	Destination::Direct(BOB)
}

fn anchor(sender: u64, envelope: H256, destination: Destination<u64>) {
	assert_ok!(Messaging::anchor(RuntimeOrigin::signed(sender), envelope, destination, 0));
}

fn ack(who: u64, anchor: H256, envelope: H256, proof: Option<merkle::InclusionProof>) {
	assert_ok!(Messaging::acknowledge(RuntimeOrigin::signed(who), anchor, envelope, proof));
}

#[test]
fn a_direct_anchor_records_sender_destination_and_block() {
	build_and_execute(|| {
		anchor(ALICE, h(1), to_bob());
		assert_eq!(
			Messaging::anchor_of(h(1)),
			Some(AnchorRecord {
				sender: ALICE,
				destination: to_bob(),
				size_class: 0,
				count: 1,
				anchored_at: 1
			})
		);
		System::assert_last_event(
			Event::Anchored {
				sender: ALICE,
				anchor: h(1),
				destination: to_bob(),
				size_class: 0,
				count: 1,
			}
			.into(),
		);
	});
}

#[test]
fn bad_anchors_are_rejected() {
	build_and_execute(|| {
		let try_anchor = |sender, envelope, destination, class| {
			Messaging::anchor(RuntimeOrigin::signed(sender), envelope, destination, class)
		};
		assert_noop!(try_anchor(NOKEY, h(1), to_bob(), 0), Error::<Test>::SenderHasNoKey);
		assert_noop!(
			try_anchor(ALICE, h(1), Destination::Direct(NOKEY), 0),
			Error::<Test>::RecipientHasNoKey
		);
		assert_noop!(
			try_anchor(ALICE, h(1), to_bob(), SIZE_CLASSES.len() as u8),
			Error::<Test>::InvalidSizeClass
		);
		assert_noop!(
			try_anchor(DAVE, h(1), Destination::Group { group: GROUP, epoch: 2 }, 0),
			Error::<Test>::NotGroupMember
		);
		assert_noop!(
			try_anchor(ALICE, h(1), Destination::Group { group: GROUP, epoch: 1 }, 0),
			Error::<Test>::EpochNotUsable
		);
		assert_noop!(
			Messaging::anchor(RuntimeOrigin::none(), h(1), to_bob(), 0),
			DispatchError::BadOrigin
		);
		anchor(ALICE, h(1), to_bob());
		assert_noop!(try_anchor(CAROL, h(1), to_bob(), 0), Error::<Test>::AlreadyAnchored);
	});
}

#[test]
fn expired_sender_key_cannot_anchor() {
	build_and_execute(|| {
		World::set_key(ALICE, None);
		assert_noop!(
			Messaging::anchor(RuntimeOrigin::signed(ALICE), h(1), to_bob(), 0),
			Error::<Test>::SenderHasNoKey
		);
	});
}

#[test]
fn a_group_anchor_needs_the_usable_epoch() {
	build_and_execute(|| {
		anchor(CAROL, h(1), Destination::Group { group: GROUP, epoch: 2 });
		assert_eq!(Messaging::anchor_of(h(1)).map(|a| a.sender), Some(CAROL));
	});
}

#[test]
fn a_block_takes_at_most_max_anchors() {
	build_and_execute(|| {
		for n in 0..MaxAnchorsPerBlock::get() as u8 {
			anchor(ALICE, h(n), to_bob());
		}
		assert_noop!(
			Messaging::anchor(RuntimeOrigin::signed(ALICE), h(99), to_bob(), 0),
			Error::<Test>::BlockAnchorsFull
		);
		run_to_block(2);
		anchor(ALICE, h(99), to_bob());
	});
}

#[test]
fn batches_anchor_many_envelopes_under_one_root() {
	build_and_execute(|| {
		let batch: Vec<H256> = (1..=5).map(h).collect();
		let root = merkle::batch_root(&batch);
		assert_ok!(Messaging::anchor_batch(RuntimeOrigin::signed(ALICE), root, 5, to_bob(), 1));
		System::assert_last_event(
			Event::Anchored {
				sender: ALICE,
				anchor: root,
				destination: to_bob(),
				size_class: 1,
				count: 5,
			}
			.into(),
		);
		for i in 0..5 {
			let proof = merkle::inclusion_proof(&batch, i).expect("in range");
			assert!(Messaging::verify_inclusion(root, batch[i as usize], proof));
		}
		let proof = merkle::inclusion_proof(&batch, 0).expect("in range");
		assert!(!Messaging::verify_inclusion(root, h(9), proof.clone()));
		assert!(!Messaging::verify_inclusion(h(9), batch[0], proof));
	});
}

#[test]
fn batch_sizes_are_bounded() {
	build_and_execute(|| {
		let root = h(1);
		for count in [0, 1, MaxBatchSize::get() + 1] {
			assert_noop!(
				Messaging::anchor_batch(RuntimeOrigin::signed(ALICE), root, count, to_bob(), 0),
				Error::<Test>::InvalidBatchSize
			);
		}
		assert_ok!(Messaging::anchor_batch(
			RuntimeOrigin::signed(ALICE),
			root,
			MaxBatchSize::get(),
			to_bob(),
			0
		));
	});
}

#[test]
fn the_recipient_acknowledges_once() {
	build_and_execute(|| {
		anchor(ALICE, h(1), to_bob());
		run_to_block(3);
		ack(BOB, h(1), h(1), None);
		assert_eq!(Messaging::receipt_of(h(1), BOB), Some(3));
		System::assert_last_event(
			Event::Delivered { anchor: h(1), envelope: h(1), recipient: BOB }.into(),
		);
		assert_noop!(
			Messaging::acknowledge(RuntimeOrigin::signed(BOB), h(1), h(1), None),
			Error::<Test>::AlreadyAcknowledged
		);
	});
}

#[test]
fn bad_receipts_are_rejected() {
	build_and_execute(|| {
		anchor(ALICE, h(1), to_bob());
		let try_ack = |who, anchor, envelope| {
			Messaging::acknowledge(RuntimeOrigin::signed(who), anchor, envelope, None)
		};
		assert_noop!(try_ack(BOB, h(2), h(2)), Error::<Test>::UnknownAnchor);
		assert_noop!(try_ack(BOB, h(1), h(2)), Error::<Test>::NotInAnchor);
		assert_noop!(try_ack(CAROL, h(1), h(1)), Error::<Test>::NotRecipient);
		assert_noop!(try_ack(ALICE, h(1), h(1)), Error::<Test>::NotRecipient);
	});
}

#[test]
fn batched_envelopes_are_acknowledged_with_their_proofs() {
	build_and_execute(|| {
		let batch: Vec<H256> = (1..=3).map(h).collect();
		let root = merkle::batch_root(&batch);
		assert_ok!(Messaging::anchor_batch(RuntimeOrigin::signed(ALICE), root, 3, to_bob(), 0));

		let proof = merkle::inclusion_proof(&batch, 2).expect("in range");
		assert_noop!(
			Messaging::acknowledge(RuntimeOrigin::signed(BOB), root, batch[2], None),
			Error::<Test>::NotInAnchor
		);
		assert_noop!(
			Messaging::acknowledge(RuntimeOrigin::signed(BOB), root, batch[1], Some(proof.clone())),
			Error::<Test>::NotInAnchor
		);
		ack(BOB, root, batch[2], Some(proof));
		assert_eq!(Receipts::<Test>::get(batch[2], BOB), Some(1));
	});
}

#[test]
fn group_receipts_come_from_members_of_the_epoch() {
	build_and_execute(|| {
		let to_group = Destination::Group { group: GROUP, epoch: 2 };
		anchor(ALICE, h(1), to_group);
		ack(BOB, h(1), h(1), None);
		ack(CAROL, h(1), h(1), None);
		// Dave was a member in epoch 1 only.
		assert_noop!(
			Messaging::acknowledge(RuntimeOrigin::signed(DAVE), h(1), h(1), None),
			Error::<Test>::NotRecipient
		);
	});
}

#[test]
fn receipt_batches_are_all_or_nothing() {
	build_and_execute(|| {
		for n in 1..=3 {
			anchor(ALICE, h(n), to_bob());
		}
		let item = |n| ReceiptItem { anchor: h(n), envelope: h(n), proof: None };
		let ack_batch = |items| Messaging::acknowledge_batch(RuntimeOrigin::signed(BOB), items);

		assert_noop!(ack_batch(vec![]), Error::<Test>::InvalidReceiptBatch);
		assert_noop!(ack_batch(vec![item(1); 5]), Error::<Test>::InvalidReceiptBatch);
		assert_noop!(ack_batch(vec![item(1), item(1)]), Error::<Test>::InvalidReceiptBatch);
		assert_noop!(ack_batch(vec![item(1), item(9)]), Error::<Test>::UnknownAnchor);

		assert_ok!(ack_batch(vec![item(1), item(2), item(3)]));
		for n in 1..=3 {
			assert_eq!(Messaging::receipt_of(h(n), BOB), Some(1));
		}
	});
}

#[test]
fn a_block_takes_at_most_max_receipts() {
	build_and_execute(|| {
		let to_group = Destination::Group { group: GROUP, epoch: 2 };
		anchor(ALICE, h(1), to_group.clone());
		anchor(ALICE, h(2), to_group);
		for who in [ALICE, BOB, CAROL] {
			ack(who, h(1), h(1), None);
		}
		ack(ALICE, h(2), h(2), None);
		ack(BOB, h(2), h(2), None);
		assert_noop!(
			Messaging::acknowledge(RuntimeOrigin::signed(CAROL), h(2), h(2), None),
			Error::<Test>::BlockReceiptsFull
		);
		run_to_block(2);
		ack(CAROL, h(2), h(2), None);
	});
}

#[test]
fn anchors_and_receipts_are_pruned_after_retention() {
	build_and_execute(|| {
		anchor(ALICE, h(1), to_bob());
		run_to_block(4);
		ack(BOB, h(1), h(1), None);

		run_to_block(1 + Retention::get() - 1);
		assert!(Anchors::<Test>::contains_key(h(1)));
		run_to_block(1 + Retention::get());
		assert_eq!(Messaging::anchor_of(h(1)), None, "anchor pruned");
		assert!(AnchorsAt::<Test>::get(1).is_empty());
		assert_eq!(Messaging::receipt_of(h(1), BOB), Some(4), "receipt kept for its own retention");
		run_to_block(4 + Retention::get());
		assert_eq!(Messaging::receipt_of(h(1), BOB), None, "receipt pruned");
	});
}

#[test]
fn the_largest_batch_anchors_and_its_last_envelope_is_acknowledged() {
	build_and_execute(|| {
		let batch: Vec<H256> =
			(0..MaxBatchSize::get()).map(|i| H256::from_low_u64_be(i as u64)).collect();
		let root = merkle::batch_root(&batch);
		assert_ok!(Messaging::anchor_batch(
			RuntimeOrigin::signed(ALICE),
			root,
			MaxBatchSize::get(),
			to_bob(),
			0
		));
		let last = MaxBatchSize::get() - 1;
		let proof = merkle::inclusion_proof(&batch, last).expect("in range");
		ack(BOB, root, batch[last as usize], Some(proof));
	});
}

/// The offchain relay against a scripted host.
mod relay {
	use super::*;
	use codec::Encode;
	use frame_support::traits::Hooks;
	use quarks_primitives::{
		envelope::{hash_of, Envelope, ENVELOPE_VERSION},
		hosting::{relay_keys, QueueEntry, RelayItem, ANCHOR_WAIT},
	};
	use sp_core::offchain::{
		testing::{OffchainState, PendingRequest, TestOffchainExt},
		OffchainDbExt, OffchainWorkerExt,
	};
	use sp_runtime::offchain::storage::StorageValueRef;
	use std::sync::Arc;

	type State = Arc<parking_lot::RwLock<OffchainState>>;
	type Item = RelayItem<u64, u64>;

	fn with_offchain(test: impl FnOnce(&State)) {
		let mut ext = new_test_ext();
		let (offchain, state) = TestOffchainExt::new();
		ext.register_extension(OffchainDbExt::new(offchain.clone()));
		ext.register_extension(OffchainWorkerExt::new(offchain));
		ext.execute_with(|| test(&state));
	}

	fn sealed(claimed_sender: u64) -> Vec<u8> {
		Envelope {
			version: ENVELOPE_VERSION,
			sender: claimed_sender,
			destination: to_bob(),
			size_class: 0,
			body: vec![9; SIZE_CLASSES[0] as usize],
		}
		.encode()
	}

	/// What the node's submit RPC does: keep the item and queue it.
	fn queue(envelope: &[u8]) -> H256 {
		let hash = hash_of(envelope);
		let item = Item {
			envelope: envelope.to_vec(),
			batch: None,
			queued_at: System::block_number(),
			deliveries: vec![],
		};
		StorageValueRef::persistent(&relay_keys::item(&hash)).set(&item);
		StorageValueRef::persistent(relay_keys::QUEUE)
			.set(&vec![QueueEntry { envelope: hash, due: 0u64 }]);
		hash
	}

	fn item(hash: &H256) -> Option<Item> {
		StorageValueRef::persistent(&relay_keys::item(hash)).get().expect("item decodes")
	}

	fn queued() -> Vec<QueueEntry<u64>> {
		StorageValueRef::persistent(relay_keys::QUEUE)
			.get()
			.expect("queue decodes")
			.unwrap_or_default()
	}

	/// The host answers the next post of `envelope` with `answer`.
	fn expect_post(state: &State, envelope: &[u8], answer: String) {
		let body = format!(
			"{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"quarks_hostEnvelope\",\"params\":[\"0x{}\",null]}}",
			hex(envelope)
		);
		state.write().expect_request(PendingRequest {
			method: "POST".into(),
			uri: HOST_ENDPOINT.replace("ws://", "http://"),
			headers: vec![("Content-Type".into(), "application/json".into())],
			body: body.into_bytes(),
			response: Some(answer.into_bytes()),
			sent: true,
			..Default::default()
		});
	}

	fn hex(bytes: &[u8]) -> String {
		bytes.iter().map(|b| format!("{b:02x}")).collect()
	}

	fn run(at: u64) {
		System::set_block_number(at);
		Messaging::offchain_worker(at);
	}

	#[test]
	fn retries_with_backoff_until_the_host_confirms() {
		with_offchain(|state| {
			let envelope = sealed(ALICE);
			let hash = queue(&envelope);
			anchor(ALICE, hash, to_bob());

			expect_post(
				state,
				&envelope,
				r#"{"jsonrpc":"2.0","id":1,"error":{"code":1,"message":"busy"}}"#.into(),
			);
			run(1);
			let kept = item(&hash).expect("an unconfirmed envelope is kept");
			assert_eq!(kept.deliveries.len(), 1);
			assert_eq!(kept.deliveries[0].host, HOST);
			assert_eq!(kept.deliveries[0].attempts, 1);
			assert_eq!(queued(), vec![QueueEntry { envelope: hash, due: 2 }]);

			expect_post(state, &envelope, "not json at all".into());
			run(2);
			assert_eq!(item(&hash).expect("kept").deliveries[0].attempts, 2);
			assert_eq!(queued(), vec![QueueEntry { envelope: hash, due: 4 }]);

			// Not due at block 3: no request (an unexpected one would fail the test).
			run(3);
			assert!(item(&hash).is_some());

			expect_post(
				state,
				&envelope,
				format!(r#"{{"jsonrpc":"2.0","id":1,"result":"0x{}"}}"#, hex(hash.as_bytes())),
			);
			run(4);
			assert_eq!(item(&hash), None);
			assert!(queued().is_empty());
		});
	}

	#[test]
	fn a_confirmation_of_another_envelope_does_not_count() {
		with_offchain(|state| {
			let envelope = sealed(ALICE);
			let hash = queue(&envelope);
			anchor(ALICE, hash, to_bob());
			expect_post(
				state,
				&envelope,
				format!(r#"{{"jsonrpc":"2.0","id":1,"result":"0x{}"}}"#, hex(&[7; 32])),
			);
			run(1);
			assert_eq!(item(&hash).expect("kept").deliveries[0].confirmed_at, None);
		});
	}

	#[test]
	fn an_envelope_that_is_not_the_anchored_one_is_dropped_unsent() {
		with_offchain(|_| {
			// Anchored by Alice, but the envelope claims Carol sent it.
			let envelope = sealed(CAROL);
			let hash = queue(&envelope);
			anchor(ALICE, hash, to_bob());
			run(1);
			assert_eq!(item(&hash), None);
			assert!(queued().is_empty());
		});
	}

	#[test]
	fn an_envelope_never_anchored_is_dropped_after_the_wait() {
		with_offchain(|_| {
			let hash = queue(&sealed(ALICE));
			run(1 + u64::from(ANCHOR_WAIT));
			assert!(item(&hash).is_some(), "kept while the anchor may still come");
			run(2 + u64::from(ANCHOR_WAIT));
			assert_eq!(item(&hash), None);
			assert!(queued().is_empty());
		});
	}

	#[test]
	fn an_envelope_past_retention_is_dropped() {
		with_offchain(|_| {
			let hash = queue(&sealed(ALICE));
			anchor(ALICE, hash, to_bob());
			// Retention is 10 blocks in the mock; the anchor is still in state at 11 since
			// this test runs no on_initialize.
			run(11);
			assert_eq!(item(&hash), None);
		});
	}
}
