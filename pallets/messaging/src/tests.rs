//! Tests of the messaging pallet.

use crate::{
	mock::*, AnchorLeaf, AnchorRecord, Anchors, AnchorsAt, Destination, Error, Event, ReceiptItem,
	Receipts, ReceiptsAt, MAX_RECEIPT_BLOCKS,
};
use frame_support::{assert_noop, assert_ok, BoundedVec};
use quarks_primitives::merkle::{self, InclusionProof};
use sp_core::H256;
use sp_runtime::DispatchError;

const ALICE: u64 = 1;
const BOB: u64 = 2;
const CAROL: u64 = 3;
const DAVE: u64 = 4;
const NODEVICE: u64 = 42;
const GROUP: u64 = 7;

fn h(n: u8) -> H256 {
	H256::repeat_byte(n)
}

fn to(who: u64) -> Destination<u64> {
	Destination::Direct(who)
}

fn leaf(envelope: H256, destination: Destination<u64>) -> AnchorLeaf<u64> {
	AnchorLeaf { envelope, destination, size_class: 0 }
}

/// A batch of leaves with its root and the proof of each leaf.
struct Batch {
	root: H256,
	leaves: Vec<AnchorLeaf<u64>>,
	proofs: Vec<InclusionProof>,
}

impl Batch {
	fn of(leaves: Vec<AnchorLeaf<u64>>) -> Self {
		let values: Vec<H256> = leaves.iter().map(|l| l.value()).collect();
		let proofs = (0..values.len() as u32)
			.map(|i| merkle::inclusion_proof(&values, i).expect("in range"))
			.collect();
		Batch { root: merkle::batch_root(&values), leaves, proofs }
	}

	fn anchor(&self, sender: u64) {
		assert_ok!(Messaging::anchor(
			RuntimeOrigin::signed(sender),
			self.root,
			self.leaves.len() as u32
		));
	}

	fn receipt(&self, sender: u64, i: usize) -> ReceiptItem<u64> {
		ReceiptItem {
			sender,
			root: self.root,
			leaf: self.leaves[i].clone(),
			proof: self.proofs[i].clone(),
			host: None,
		}
	}
}

fn acknowledge(who: u64, items: Vec<ReceiptItem<u64>>) -> sp_runtime::DispatchResult {
	Messaging::acknowledge(RuntimeOrigin::signed(who), BoundedVec::truncate_from(items))
		.map(drop)
		.map_err(|e| e.error)
}

fn next_block() {
	run_to_block(System::block_number() + 1);
}

#[test]
fn an_anchor_records_its_root_and_count_under_the_sender() {
	build_and_execute(|| {
		let batch = Batch::of(vec![leaf(h(1), to(BOB)), leaf(h(2), to(CAROL))]);
		batch.anchor(ALICE);
		assert_eq!(
			Messaging::anchor_of(ALICE, batch.root),
			Some(AnchorRecord { count: 2, anchored_at: 1 })
		);
		assert_eq!(AnchorsAt::<Test>::get(1, ALICE), Some(batch.root));
		System::assert_last_event(
			Event::Anchored { sender: ALICE, root: batch.root, count: 2 }.into(),
		);
		assert!(Messaging::verify_inclusion(
			ALICE,
			batch.root,
			batch.leaves[1].clone(),
			batch.proofs[1].clone()
		));
	});
}

#[test]
fn bad_anchors_are_rejected_and_change_nothing() {
	build_and_execute(|| {
		let try_anchor =
			|sender, root, count| Messaging::anchor(RuntimeOrigin::signed(sender), root, count);
		assert_noop!(try_anchor(NODEVICE, h(1), 1), Error::<Test>::SenderHasNoDevice);
		assert_noop!(try_anchor(ALICE, h(1), 0), Error::<Test>::InvalidBatchSize);
		assert_noop!(
			try_anchor(ALICE, h(1), MaxBatchSize::get() + 1),
			Error::<Test>::InvalidBatchSize
		);
		assert_noop!(Messaging::anchor(RuntimeOrigin::root(), h(1), 1), DispatchError::BadOrigin);

		assert_ok!(try_anchor(ALICE, h(1), 1));
		assert_noop!(try_anchor(ALICE, h(2), 1), Error::<Test>::AlreadyAnchoredInBlock);
		next_block();
		assert_noop!(try_anchor(ALICE, h(1), 1), Error::<Test>::AlreadyAnchored);
	});
}

#[test]
fn each_sender_anchors_once_per_block_and_a_block_takes_max_anchors() {
	build_and_execute(|| {
		for sender in 1..=MaxAnchorsPerBlock::get() as u64 {
			assert_ok!(Messaging::anchor(RuntimeOrigin::signed(sender), h(sender as u8), 1));
		}
		assert_noop!(
			Messaging::anchor(RuntimeOrigin::signed(9), h(9), 1),
			Error::<Test>::BlockAnchorsFull
		);
		next_block();
		assert_ok!(Messaging::anchor(RuntimeOrigin::signed(9), h(9), 1));
	});
}

#[test]
fn no_account_can_pre_claim_another_senders_root() {
	build_and_execute(|| {
		// Alice's group rotation and a message, seen pending by Carol, who anchors the
		// same root first under her own account.
		let batch = Batch::of(vec![
			leaf(h(1), Destination::Group { group: GROUP, epoch: 2 }),
			leaf(h(2), to(BOB)),
		]);
		batch.anchor(CAROL);
		batch.anchor(ALICE);
		assert_eq!(Messaging::anchor_of(ALICE, batch.root).map(|a| a.count), Some(2));

		// Receipts name the real sender's anchor; Carol's copy proves nothing of Alice.
		assert_ok!(acknowledge(BOB, vec![batch.receipt(ALICE, 0), batch.receipt(ALICE, 1)]));
		System::assert_last_event(
			Event::Delivered { sender: ALICE, root: batch.root, envelope: h(2), recipient: BOB }
				.into(),
		);
		assert_eq!(Messaging::receipt_of(h(1), BOB), Some(1));
	});
}

#[test]
fn one_batch_of_mixed_destinations_is_acknowledged_per_leaf() {
	build_and_execute(|| {
		let group = Destination::Group { group: GROUP, epoch: 2 };
		let batch =
			Batch::of(vec![leaf(h(1), to(BOB)), leaf(h(2), group.clone()), leaf(h(3), to(CAROL))]);
		batch.anchor(ALICE);

		assert_ok!(acknowledge(BOB, vec![batch.receipt(ALICE, 0), batch.receipt(ALICE, 1)]));
		assert_ok!(acknowledge(CAROL, vec![batch.receipt(ALICE, 2), batch.receipt(ALICE, 1)]));
		next_block();
		// Each leaf only to its own recipients: Bob's message is not Carol's, and Dave was
		// a member in epoch 1, not 2.
		assert_noop!(
			acknowledge(CAROL, vec![batch.receipt(ALICE, 0)]),
			Error::<Test>::NotRecipient
		);
		assert_noop!(acknowledge(DAVE, vec![batch.receipt(ALICE, 1)]), Error::<Test>::NotRecipient);
		assert_eq!(Messaging::receipt_of(h(1), BOB), Some(1));
		assert_eq!(Messaging::receipt_of(h(2), BOB), Some(1));
		assert_eq!(Messaging::receipt_of(h(2), CAROL), Some(1));
		assert_eq!(Messaging::receipt_of(h(3), CAROL), Some(1));
		assert_eq!(Messaging::receipt_of(h(3), BOB), None);
	});
}

#[test]
fn a_receipt_naming_a_chosen_host_is_reported_for_its_bounty() {
	build_and_execute(|| {
		World::set_hosts(2);
		let batch = Batch::of(vec![leaf(h(1), to(BOB)), leaf(h(2), to(BOB)), leaf(h(3), to(BOB))]);
		batch.anchor(ALICE);
		Deliveries::taken();
		let from = |i: usize, host: Option<u64>| ReceiptItem { host, ..batch.receipt(ALICE, i) };

		// Each receipt naming one of Bob's hosts is reported once; one naming none, or a
		// host he did not choose, is recorded and not reported.
		let stranger = HOST + 2;
		let items = vec![from(0, Some(HOST)), from(1, Some(stranger)), from(2, Some(HOST + 1))];
		assert_ok!(acknowledge(BOB, items));
		assert_eq!(Deliveries::taken(), [(ALICE, batch.root, HOST), (ALICE, batch.root, HOST + 1)]);
		assert_eq!(Messaging::receipt_of(h(2), BOB), Some(1));
		// No one is paid out of a bounty for a receipt of its own: Alice's of her own group
		// letter, or a host's operator naming its own host.
		let group = Destination::Group { group: GROUP, epoch: 2 };
		let theirs = Batch::of(vec![leaf(h(4), group), leaf(h(5), to(HOST))]);
		next_block();
		theirs.anchor(ALICE);
		let own = ReceiptItem { host: Some(HOST), ..theirs.receipt(ALICE, 0) };
		assert_ok!(acknowledge(ALICE, vec![own]));
		let self_hosted = ReceiptItem { host: Some(HOST), ..theirs.receipt(ALICE, 1) };
		assert_ok!(acknowledge(HOST, vec![self_hosted]));
		assert_eq!(Deliveries::taken(), []);
		next_block();
		assert_noop!(
			acknowledge(BOB, vec![from(0, Some(HOST))]),
			Error::<Test>::AlreadyAcknowledged
		);
	});
}

#[test]
fn a_leaf_is_bound_to_its_destination_and_anchor() {
	build_and_execute(|| {
		let batch = Batch::of(vec![leaf(h(1), to(BOB)), leaf(h(2), to(CAROL))]);
		batch.anchor(ALICE);

		// Carol cannot claim Bob's leaf as hers by changing its destination.
		let mut redirected = batch.receipt(ALICE, 0);
		redirected.leaf.destination = to(CAROL);
		assert_noop!(acknowledge(CAROL, vec![redirected]), Error::<Test>::NotInAnchor);
		let mut wrong_proof = batch.receipt(ALICE, 0);
		wrong_proof.proof = batch.proofs[1].clone();
		assert_noop!(acknowledge(BOB, vec![wrong_proof]), Error::<Test>::NotInAnchor);
		let mut other_sender = batch.receipt(ALICE, 0);
		other_sender.sender = CAROL;
		assert_noop!(acknowledge(BOB, vec![other_sender]), Error::<Test>::UnknownAnchor);
	});
}

#[test]
fn receipt_batches_are_checked_whole_and_bounded() {
	build_and_execute(|| {
		let leaves = (1..=6).map(|i| leaf(h(i), to(BOB))).collect();
		let batch = Batch::of(leaves);
		batch.anchor(ALICE);
		assert_noop!(acknowledge(BOB, vec![]), Error::<Test>::InvalidReceiptBatch);
		assert_noop!(
			acknowledge(BOB, vec![batch.receipt(ALICE, 0), batch.receipt(ALICE, 0)]),
			Error::<Test>::InvalidReceiptBatch
		);
		// One bad item refuses the whole batch.
		let mut redirected = batch.receipt(ALICE, 5);
		redirected.leaf.destination = to(CAROL);
		assert_noop!(
			acknowledge(BOB, vec![batch.receipt(ALICE, 0), redirected]),
			Error::<Test>::NotInAnchor
		);

		assert_ok!(acknowledge(BOB, (0..4).map(|i| batch.receipt(ALICE, i)).collect()));
		assert_noop!(
			acknowledge(BOB, vec![batch.receipt(ALICE, 4)]),
			Error::<Test>::AlreadyAcknowledgedInBlock
		);
		next_block();
		assert_noop!(
			acknowledge(BOB, vec![batch.receipt(ALICE, 0)]),
			Error::<Test>::AlreadyAcknowledged
		);
	});
}

#[test]
fn a_block_takes_max_receipts() {
	build_and_execute(|| {
		let group = Destination::Group { group: GROUP, epoch: 2 };
		let batch = Batch::of((1..=4).map(|i| leaf(h(i), group.clone())).collect());
		batch.anchor(ALICE);
		// Five receipts per block in the mock: Bob's four fit, Carol's two do not.
		assert_ok!(acknowledge(BOB, (0..4).map(|i| batch.receipt(ALICE, i)).collect()));
		assert_noop!(
			acknowledge(CAROL, (0..2).map(|i| batch.receipt(ALICE, i)).collect()),
			Error::<Test>::BlockReceiptsFull
		);
		assert_ok!(acknowledge(CAROL, vec![batch.receipt(ALICE, 0)]));
		next_block();
		assert_ok!(acknowledge(CAROL, (1..4).map(|i| batch.receipt(ALICE, i)).collect()));
	});
}

#[test]
fn receipts_are_read_by_ranges_of_whole_blocks() {
	build_and_execute(|| {
		let batch = Batch::of((1..=4).map(|i| leaf(h(i), to(BOB))).collect());
		batch.anchor(ALICE);
		run_to_block(2);
		assert_ok!(acknowledge(BOB, vec![batch.receipt(ALICE, 0), batch.receipt(ALICE, 1)]));
		run_to_block(3);
		assert_ok!(acknowledge(BOB, vec![batch.receipt(ALICE, 2)]));
		run_to_block(5);
		assert_ok!(acknowledge(BOB, vec![batch.receipt(ALICE, 3)]));
		run_to_block(6);

		let (receipts, last) = Messaging::receipts_from(1, 6);
		assert_eq!(last, 6);
		assert_eq!(receipts, (1..=4).map(|i| (h(i), BOB)).collect::<Vec<_>>());
		assert_eq!(Messaging::receipts_from(4, 4), (vec![], 4));
		assert_eq!(Messaging::receipts_from(3, 5).0, vec![(h(3), BOB), (h(4), BOB)]);
		assert_eq!(Messaging::receipts_from(5, 4), (vec![], 4), "an empty range reads nothing");
		// One call reads at most `MAX_RECEIPT_BLOCKS` blocks; the caller goes on from there.
		let far = 2 + MAX_RECEIPT_BLOCKS as u64 + 10;
		let (receipts, last) = Messaging::receipts_from(2, far);
		assert_eq!(last, 1 + MAX_RECEIPT_BLOCKS as u64);
		assert_eq!(receipts.len(), 4);
		assert_eq!(Messaging::receipts_from(last + 1, far), (vec![], far));
	});
}

#[test]
fn anchors_and_receipts_are_pruned_after_retention() {
	build_and_execute(|| {
		let batch = Batch::of(vec![leaf(h(1), to(BOB))]);
		batch.anchor(ALICE);
		run_to_block(4);
		assert_ok!(acknowledge(BOB, vec![batch.receipt(ALICE, 0)]));

		run_to_block(Retention::get());
		assert!(Anchors::<Test>::contains_key(ALICE, batch.root));
		run_to_block(1 + Retention::get());
		assert_eq!(Messaging::anchor_of(ALICE, batch.root), None, "anchor pruned");
		assert_eq!(AnchorsAt::<Test>::iter_prefix(1).count(), 0);
		assert_eq!(Messaging::receipt_of(h(1), BOB), Some(4), "receipt kept for its own retention");
		run_to_block(4 + Retention::get());
		assert_eq!(Messaging::receipt_of(h(1), BOB), None, "receipt pruned");
		assert!(!ReceiptsAt::<Test>::contains_key(4, BOB));
		assert!(!Receipts::<Test>::contains_key(h(1), BOB));
	});
}

#[test]
fn the_largest_batch_anchors_and_its_last_leaf_is_acknowledged() {
	build_and_execute(|| {
		let leaves = (0..MaxBatchSize::get())
			.map(|i| leaf(H256::from_low_u64_be(i as u64), to(BOB)))
			.collect();
		let batch = Batch::of(leaves);
		batch.anchor(ALICE);
		let last = MaxBatchSize::get() as usize - 1;
		assert_ok!(acknowledge(BOB, vec![batch.receipt(ALICE, last)]));
	});
}

/// The relay worker against a scripted host.
mod relay {
	use super::*;
	use crate::relay_worker::MAX_ATTEMPTS;
	use codec::Encode;
	use frame_support::traits::Hooks;
	use quarks_primitives::{
		envelope::{hash_of, Envelope, ENVELOPE_VERSION},
		hosting::{BatchMembership, HostAnswer, HostItem, SignedMembership, Submission},
		relay_queue::{
			keys, Delivery, DeliveryState, EndpointCheck, InboxHead, QueueEntry, RelayItem,
			RelayStats, ANCHOR_WAIT, ENDPOINT_CHECK_MS, INBOX_SEGMENT,
		},
		SIZE_CLASSES,
	};
	use sp_core::offchain::{
		self,
		testing::{OffchainState, PendingRequest, TestOffchainExt},
		OffchainDbExt, OffchainWorkerExt,
	};
	use sp_runtime::offchain::storage::StorageValueRef;
	use std::sync::Arc;

	type State = Arc<parking_lot::RwLock<OffchainState>>;

	fn with_offchain(test: impl FnOnce(&State)) {
		with_hosts_answering_after(0, test)
	}

	/// Like [`with_offchain`], with every wait for hosts' answers taking `millis` of the
	/// worker's clock: hosts that answer that late, or not before the request's deadline if
	/// it comes first.
	fn with_hosts_answering_after(millis: u64, test: impl FnOnce(&State)) {
		with_slow_hosts(millis, 0, test)
	}

	/// Like [`with_offchain`], with hosts that answer at once and then take `millis` of the
	/// worker's clock to send the answer's body, or until the read's deadline if it comes
	/// first.
	fn with_hosts_trickling_for(millis: u64, test: impl FnOnce(&State)) {
		with_slow_hosts(0, millis, test)
	}

	fn with_slow_hosts(answer_ms: u64, body_ms: u64, test: impl FnOnce(&State)) {
		let mut ext = new_test_ext();
		let (offchain, state) = TestOffchainExt::new();
		ext.register_extension(OffchainDbExt::new(offchain.clone()));
		let hosts = SlowHosts { inner: offchain, answer_ms, body_ms, trickled: Default::default() };
		ext.register_extension(OffchainWorkerExt::new(hosts));
		ext.execute_with(|| test(&state));
	}

	/// The test externalities, with a clock that moves while the worker waits for answers
	/// and while it reads their bodies.
	struct SlowHosts {
		inner: TestOffchainExt,
		answer_ms: u64,
		body_ms: u64,
		/// Requests whose body has trickled, or been cut by the read's deadline.
		trickled: std::collections::BTreeSet<u16>,
	}

	impl offchain::Externalities for SlowHosts {
		fn is_validator(&self) -> bool {
			self.inner.is_validator()
		}
		fn network_state(&self) -> Result<offchain::OpaqueNetworkState, ()> {
			self.inner.network_state()
		}
		fn timestamp(&mut self) -> offchain::Timestamp {
			self.inner.timestamp()
		}
		fn sleep_until(&mut self, deadline: offchain::Timestamp) {
			self.inner.sleep_until(deadline)
		}
		fn random_seed(&mut self) -> [u8; 32] {
			self.inner.random_seed()
		}
		fn http_request_start(
			&mut self,
			method: &str,
			uri: &str,
			meta: &[u8],
		) -> Result<offchain::HttpRequestId, ()> {
			self.inner.http_request_start(method, uri, meta)
		}
		fn http_request_add_header(
			&mut self,
			id: offchain::HttpRequestId,
			name: &str,
			value: &str,
		) -> Result<(), ()> {
			self.inner.http_request_add_header(id, name, value)
		}
		fn http_request_write_body(
			&mut self,
			id: offchain::HttpRequestId,
			chunk: &[u8],
			deadline: Option<offchain::Timestamp>,
		) -> Result<(), offchain::HttpError> {
			self.inner.http_request_write_body(id, chunk, deadline)
		}
		fn http_response_wait(
			&mut self,
			ids: &[offchain::HttpRequestId],
			deadline: Option<offchain::Timestamp>,
		) -> Vec<offchain::HttpRequestStatus> {
			let later = self.inner.timestamp().add(offchain::Duration::from_millis(self.answer_ms));
			if let Some(deadline) = deadline.filter(|deadline| later > *deadline) {
				self.inner.sleep_until(deadline);
				return vec![offchain::HttpRequestStatus::DeadlineReached; ids.len()];
			}
			let statuses = self.inner.http_response_wait(ids, deadline);
			self.inner.sleep_until(later);
			statuses
		}
		fn http_response_headers(
			&mut self,
			id: offchain::HttpRequestId,
		) -> Vec<(Vec<u8>, Vec<u8>)> {
			self.inner.http_response_headers(id)
		}
		fn http_response_read_body(
			&mut self,
			id: offchain::HttpRequestId,
			buffer: &mut [u8],
			deadline: Option<offchain::Timestamp>,
		) -> Result<usize, offchain::HttpError> {
			if self.trickled.insert(id.0) {
				let later =
					self.inner.timestamp().add(offchain::Duration::from_millis(self.body_ms));
				if let Some(deadline) = deadline.filter(|deadline| later > *deadline) {
					self.inner.sleep_until(deadline);
					return Err(offchain::HttpError::DeadlineReached);
				}
				self.inner.sleep_until(later);
			}
			self.inner.http_response_read_body(id, buffer, deadline)
		}
		fn set_authorized_nodes(&mut self, nodes: Vec<sp_core::OpaquePeerId>, only: bool) {
			self.inner.set_authorized_nodes(nodes, only)
		}
	}

	fn get<V: codec::Decode>(key: &[u8]) -> Option<V> {
		StorageValueRef::persistent(key).get().expect("decodes")
	}

	fn set<V: Encode>(key: &[u8], value: &V) {
		StorageValueRef::persistent(key).set(value);
	}

	/// A distinct envelope per `seed` (the relay never looks inside the body).
	fn submission(claimed_sender: u64, seed: u32) -> Submission {
		let mut body = vec![0; SIZE_CLASSES[0] as usize];
		body[..4].copy_from_slice(&seed.to_le_bytes());
		let envelope = Envelope {
			version: ENVELOPE_VERSION,
			sender: claimed_sender,
			destination: to(BOB),
			size_class: 0,
			body,
		}
		.encode();
		Submission { envelope, signature: [seed as u8; 64] }
	}

	/// What the node does on `quarks_submitEnvelope`: keep the item, append it to the inbox.
	fn submit(submission: &Submission) -> H256 {
		let hash = hash_of(&submission.envelope);
		set(
			&keys::item(&hash),
			&RelayItem { submission: submission.clone(), accepted_at: System::block_number() },
		);
		let entry = QueueEntry { envelope: hash, accepted_at: System::block_number() as u32 };
		let tail: u64 = get(keys::INBOX_TAIL).unwrap_or(0);
		let mut segment: Vec<QueueEntry> = get(&keys::inbox_segment(tail)).unwrap_or_default();
		if segment.len() as u32 >= INBOX_SEGMENT {
			set(keys::INBOX_TAIL, &(tail + 1));
			set(&keys::inbox_segment(tail + 1), &vec![entry]);
		} else {
			segment.push(entry);
			set(&keys::inbox_segment(tail), &segment);
		}
		hash
	}

	/// Anchors `submission` alone, as its sender would; returns its membership.
	fn anchor_alone(sender: u64, submission: &Submission) -> SignedMembership {
		let envelope = Envelope::<u64>::decode_checked(&submission.envelope).expect("well formed");
		let leaf = envelope.leaf(hash_of(&submission.envelope));
		let batch = Batch::of(vec![leaf.clone()]);
		batch.anchor(sender);
		let alone = SignedMembership::alone(&leaf.value());
		assert_eq!(
			alone.membership,
			BatchMembership { root: batch.root, proof: batch.proofs[0].clone() }
		);
		alone
	}

	fn deliveries(hash: &H256) -> Option<Vec<Delivery<u64, u64>>> {
		get(&keys::deliveries(hash))
	}

	fn forgotten(hash: &H256) -> bool {
		[keys::item(hash), keys::membership(hash), keys::pushed(hash), keys::deliveries(hash)]
			.iter()
			.all(|key| get::<Vec<u8>>(key).is_none())
	}

	/// The host answers the next post of `items` with `answer` (a JSON-RPC response body).
	fn expect_post(state: &State, items: &[HostItem], answer: String) {
		expect_post_to(state, 0, items, answer)
	}

	/// Host `HOST + index` answers the next post of `items` with `answer`.
	fn expect_post_to(state: &State, index: u64, items: &[HostItem], answer: String) {
		let body = format!(
			"{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"quarks_hostEnvelopes\",\"params\":[\"0x{}\"]}}",
			hex(&items.encode())
		);
		state.write().expect_request(PendingRequest {
			method: "POST".into(),
			uri: host_endpoint(index).replace("ws://", "http://"),
			headers: vec![("Content-Type".into(), "application/json".into())],
			body: body.into_bytes(),
			response: Some(answer.into_bytes()),
			sent: true,
			..Default::default()
		});
	}

	fn answers(answers: &[HostAnswer<u32>]) -> String {
		format!(r#"{{"jsonrpc":"2.0","id":1,"result":"0x{}"}}"#, hex(&answers.encode()))
	}

	fn hex(bytes: &[u8]) -> String {
		bytes.iter().map(|b| format!("{b:02x}")).collect()
	}

	fn whole(submission: &Submission, membership: &SignedMembership) -> HostItem {
		HostItem::Envelope { submission: submission.clone(), membership: Some(membership.clone()) }
	}

	/// One worker run at block `at`, the node having just checked that every host's endpoint
	/// may be connected to (it checks every 30 s).
	fn run(at: u64) {
		(0..World::hosts()).for_each(|index| check_endpoint(index, true));
		run_as_checked(at);
	}

	/// One worker run at block `at`, with whatever endpoint checks the node recorded.
	fn run_as_checked(at: u64) {
		System::set_block_number(at);
		Messaging::offchain_worker(at);
	}

	/// The node checks host `HOST + index`'s endpoint now, and may connect there or not.
	fn check_endpoint(index: u64, allowed: bool) {
		let checked_at = sp_io::offchain::timestamp().unix_millis();
		set(
			&keys::endpoint(host_endpoint(index).as_bytes()),
			&EndpointCheck { allowed, checked_at },
		);
	}

	const STORED: HostAnswer<u32> = HostAnswer::Stored { anchored_at: Some(1) };

	#[test]
	fn retries_with_backoff_until_the_host_confirms() {
		with_offchain(|state| {
			let sub = submission(ALICE, 1);
			let hash = submit(&sub);
			let membership = anchor_alone(ALICE, &sub);
			let item = [whole(&sub, &membership)];

			expect_post(state, &item, answers(&[HostAnswer::Refused { code: 9030, retry: true }]));
			run(1);
			assert_eq!(
				deliveries(&hash).expect("kept while unconfirmed"),
				vec![Delivery {
					host: HOST,
					state: DeliveryState::Pending { attempts: 1, next_attempt: 2 },
					lost: false
				}]
			);

			expect_post(state, &item, "not json at all".into());
			run(2);
			assert_eq!(
				deliveries(&hash).expect("kept")[0].state,
				DeliveryState::Pending { attempts: 2, next_attempt: 4 }
			);

			// Not due at block 3: no request (an unexpected one would fail the test).
			run(3);
			expect_post(state, &item, answers(&[STORED]));
			run(4);
			assert!(forgotten(&hash), "a confirmed envelope leaves the queue");
		});
	}

	#[test]
	fn a_host_that_took_the_direct_push_gets_the_membership_only() {
		with_offchain(|state| {
			let sub = submission(ALICE, 1);
			let hash = submit(&sub);
			set(&keys::pushed(&hash), &vec![HOST]);
			let membership = anchor_alone(ALICE, &sub);

			// The host lost its provisional copy: it asks for the envelope.
			expect_post(
				state,
				&[HostItem::Membership { envelope: hash, membership: membership.clone() }],
				answers(&[HostAnswer::Missing]),
			);
			run(1);
			expect_post(state, &[whole(&sub, &membership)], answers(&[STORED]));
			run(2);
			assert!(forgotten(&hash));
		});
	}

	#[test]
	fn many_envelopes_go_to_a_host_in_one_request_with_one_answer_each() {
		with_offchain(|state| {
			let subs: Vec<Submission> = (1..=3).map(|i| submission(ALICE, i)).collect();
			let hashes: Vec<H256> = subs.iter().map(submit).collect();
			// One anchor over the three, with each membership handed to the node.
			let leaves = subs
				.iter()
				.map(|s| {
					Envelope::<u64>::decode_checked(&s.envelope)
						.expect("ok")
						.leaf(hash_of(&s.envelope))
				})
				.collect();
			let batch = Batch::of(leaves);
			batch.anchor(ALICE);
			// The worker passes the sender's signature on; hosts check it.
			let memberships: Vec<SignedMembership> = (0..3)
				.map(|i| SignedMembership {
					membership: BatchMembership {
						root: batch.root,
						proof: batch.proofs[i].clone(),
					},
					signature: Some([7; 64]),
				})
				.collect();
			for (hash, membership) in hashes.iter().zip(&memberships) {
				set(&keys::membership(hash), membership);
			}
			let items: Vec<HostItem> =
				subs.iter().zip(&memberships).map(|(s, m)| whole(s, m)).collect();
			expect_post(
				state,
				&items,
				answers(&[
					STORED,
					HostAnswer::Refused { code: 9023, retry: false },
					HostAnswer::Stored { anchored_at: None },
				]),
			);
			run(1);
			assert!(forgotten(&hashes[0]), "confirmed");
			assert!(forgotten(&hashes[1]), "refused for good: done with its only host");
			let stats: RelayStats<u64> = get(keys::STATS).expect("the worker counts");
			assert_eq!((stats.confirmed, stats.failed), (vec![(HOST, 1)], vec![(HOST, 1)]));
			assert_eq!(
				deliveries(&hashes[2]).expect("the host has not seen the anchor yet")[0].state,
				DeliveryState::Pending { attempts: 1, next_attempt: 2 }
			);
		});
	}

	/// docs/security.md's schedule, written out rather than read from the code: a host
	/// that fails is tried again after 1, 2, 4 … blocks, at most 64, and given up after its
	/// 12th failed attempt.
	#[test]
	fn a_silent_host_is_given_up_after_the_last_attempt() {
		const ATTEMPTS: u32 = 12;
		const WAITS: [u64; ATTEMPTS as usize - 1] = [1, 2, 4, 8, 16, 32, 64, 64, 64, 64, 64];
		with_offchain(|state| {
			let sub = submission(ALICE, 1);
			let hash = submit(&sub);
			let membership = anchor_alone(ALICE, &sub);
			let mut block = 1;
			for attempt in 1..=ATTEMPTS {
				expect_post(state, &[whole(&sub, &membership)], "garbage".into());
				run(block);
				match deliveries(&hash) {
					Some(d) => {
						let wait = WAITS.get(attempt as usize - 1);
						let expected = wait.map(|wait| DeliveryState::Pending {
							attempts: attempt,
							next_attempt: block + wait,
						});
						assert_eq!(Some(d[0].state), expected, "after attempt {attempt}");
						block += wait.expect("checked above");
					}
					None => assert_eq!(attempt, ATTEMPTS, "given up only after the last attempt"),
				}
			}
			assert!(forgotten(&hash));
			let stats: RelayStats<u64> = get(keys::STATS).expect("counted");
			assert_eq!(stats.failed, vec![(HOST, 1)]);
		});
	}

	/// A host's operator may name a host that resolves to a private address (a service on
	/// the node's machine or network). The node finds it so, and the worker posts nothing
	/// there: each run counts as a failed attempt, until it gives up.
	#[test]
	fn a_host_whose_name_resolves_to_a_private_address_gets_no_request() {
		with_offchain(|_| {
			let sub = submission(ALICE, 1);
			let hash = submit(&sub);
			anchor_alone(ALICE, &sub);
			let mut block = 1;
			for attempt in 1..=MAX_ATTEMPTS {
				check_endpoint(0, false);
				run_as_checked(block); // A request would fail the test.
				match deliveries(&hash) {
					Some(d) => {
						let DeliveryState::Pending { attempts, next_attempt } = d[0].state else {
							panic!("attempt {attempt}: {d:?}")
						};
						assert_eq!(attempts, attempt);
						block = next_attempt;
					}
					None => assert_eq!(attempt, MAX_ATTEMPTS, "given up after the last attempt"),
				}
			}
			assert!(forgotten(&hash));
			let stats: RelayStats<u64> = get(keys::STATS).expect("counted");
			assert_eq!(stats.failed, vec![(HOST, 1)]);
		});
	}

	/// Until the node has checked a host's endpoint (or when its last check is older than
	/// two minutes), the worker waits for it: nothing is posted, no attempt is counted.
	#[test]
	fn a_host_the_node_has_not_checked_waits_without_losing_attempts() {
		with_offchain(|state| {
			let sub = submission(ALICE, 1);
			let hash = submit(&sub);
			let membership = anchor_alone(ALICE, &sub);
			let waiting = |next_attempt| DeliveryState::Pending { attempts: 0, next_attempt };
			run_as_checked(1);
			assert_eq!(deliveries(&hash).expect("kept")[0].state, waiting(2));
			check_endpoint(0, true);
			let stale = offchain::Duration::from_millis(ENDPOINT_CHECK_MS + 1);
			let later = state.read().timestamp.add(stale);
			state.write().timestamp = later;
			run_as_checked(2);
			assert_eq!(deliveries(&hash).expect("kept")[0].state, waiting(3));
			expect_post(state, &[whole(&sub, &membership)], answers(&[STORED]));
			run(3);
			assert!(forgotten(&hash), "posted once checked, and confirmed");
		});
	}

	#[test]
	fn an_envelope_whose_membership_does_not_verify_is_dropped_unsent() {
		with_offchain(|_| {
			let sub = submission(ALICE, 1);
			let hash = submit(&sub);
			let other = submission(ALICE, 2);
			let membership = anchor_alone(ALICE, &other);
			set(&keys::membership(&hash), &membership);
			run(1);
			assert!(forgotten(&hash));
		});
	}

	#[test]
	fn an_envelope_never_anchored_is_dropped_after_the_wait() {
		with_offchain(|_| {
			// Anchored by Alice, but the envelope claims Carol sent it: no anchor of Carol's
			// will ever cover it.
			let sub = submission(CAROL, 1);
			let hash = submit(&sub);
			anchor_alone(ALICE, &sub);
			run(1 + u64::from(ANCHOR_WAIT));
			assert!(get::<Vec<u8>>(&keys::item(&hash)).is_some(), "kept while the anchor may come");
			// Looked at less often as the wait grows, and dropped at the next look.
			let mut block = 2 + u64::from(ANCHOR_WAIT);
			while !forgotten(&hash) {
				assert!(block < 200 + u64::from(ANCHOR_WAIT), "never dropped");
				run(block);
				block += 1;
			}
		});
	}

	#[test]
	fn an_envelope_past_retention_is_dropped() {
		with_offchain(|_| {
			let sub = submission(ALICE, 1);
			let hash = submit(&sub);
			anchor_alone(ALICE, &sub);
			// The anchor is still in state then: this test runs no on_initialize.
			run(1 + Retention::get());
			assert!(forgotten(&hash));
		});
	}

	#[test]
	fn an_item_that_does_not_decode_is_dropped_without_stopping_the_others() {
		with_offchain(|state| {
			let junk = H256::repeat_byte(0xEE);
			set(&keys::item(&junk), &b"not a relay item".to_vec());
			set(&keys::inbox_segment(0), &vec![QueueEntry { envelope: junk, accepted_at: 1 }]);
			let sub = submission(ALICE, 1);
			let hash = submit(&sub);
			let membership = anchor_alone(ALICE, &sub);
			expect_post(state, &[whole(&sub, &membership)], answers(&[STORED]));
			run(1);
			assert!(forgotten(&hash));
		});
	}

	#[test]
	fn the_inbox_is_read_in_segments_and_read_segments_are_cleared() {
		with_offchain(|_| {
			let subs: Vec<Submission> =
				(0..INBOX_SEGMENT + 2).map(|i| submission(ALICE, i)).collect();
			for sub in &subs {
				submit(sub);
			}
			assert_eq!(get::<u64>(keys::INBOX_TAIL), Some(1));
			// Nothing anchored: every envelope waits, and the inbox is read to its end.
			run(1);
			assert_eq!(
				get::<InboxHead>(keys::INBOX_HEAD),
				Some(InboxHead { segment: 1, offset: 2 })
			);
			assert_eq!(
				get::<Vec<QueueEntry>>(&keys::inbox_segment(0)),
				None,
				"read segment cleared"
			);
			assert!(get::<Vec<QueueEntry>>(&keys::inbox_segment(1)).is_some(), "the tail stays");
			let due: Vec<QueueEntry> = get(&keys::due(2)).expect("each waits for its anchor");
			assert_eq!(due.len(), subs.len());
		});
	}

	/// The worker reads at most 256 KiB of a host's answer (docs/security.md): an answer
	/// padded to exactly that is read, one byte more is not, and the delivery is retried
	/// rather than trusted or lost.
	#[test]
	fn a_host_answer_past_256_kib_is_not_read() {
		const DOCUMENTED_CAP: usize = 256 << 10;
		let padded = |len: usize| {
			let mut answer = answers(&[STORED]);
			answer.extend(std::iter::repeat_n(' ', len - answer.len()));
			answer
		};
		with_offchain(|state| {
			let at_cap = submission(ALICE, 1);
			let hash = submit(&at_cap);
			let membership = anchor_alone(ALICE, &at_cap);
			expect_post(state, &[whole(&at_cap, &membership)], padded(DOCUMENTED_CAP));
			run(1);
			assert!(forgotten(&hash), "an answer of exactly 256 KiB is read: confirmed");

			System::set_block_number(2);
			let past_cap = submission(ALICE, 2);
			let hash = submit(&past_cap);
			let membership = anchor_alone(ALICE, &past_cap);
			expect_post(state, &[whole(&past_cap, &membership)], padded(DOCUMENTED_CAP + 1));
			run(2);
			assert_eq!(
				deliveries(&hash).expect("kept for another attempt")[0].state,
				DeliveryState::Pending { attempts: 1, next_attempt: 3 },
				"one byte more is not read: the attempt counts, the envelope stays"
			);
		});
	}

	/// A host has 4 s to answer: one that answers in 3.9 s confirms; one that answers in
	/// 4.1 s has failed that attempt, and is tried again later.
	#[test]
	fn a_host_answering_after_the_4_s_deadline_has_failed_that_attempt() {
		for (millis, in_time) in [(3_900, true), (4_100, false)] {
			with_hosts_answering_after(millis, |state| {
				let sub = submission(ALICE, 1);
				let hash = submit(&sub);
				let membership = anchor_alone(ALICE, &sub);
				expect_post(state, &[whole(&sub, &membership)], answers(&[STORED]));
				run(1);
				match in_time {
					true => assert!(forgotten(&hash), "answered in {millis} ms: confirmed"),
					false => assert_eq!(
						deliveries(&hash).expect("still owed")[0].state,
						DeliveryState::Pending { attempts: 1, next_attempt: 2 },
						"answered in {millis} ms: past the deadline"
					),
				}
			});
		}
	}

	/// The 4 s deadline covers reading the answer too: a host that answers at once and
	/// then trickles its body for 4.1 s has failed that attempt; one whose body takes 3.9 s
	/// confirms.
	#[test]
	fn a_host_trickling_its_answer_past_the_4_s_deadline_has_failed_that_attempt() {
		for (millis, in_time) in [(3_900, true), (4_100, false)] {
			with_hosts_trickling_for(millis, |state| {
				let sub = submission(ALICE, 1);
				let hash = submit(&sub);
				let membership = anchor_alone(ALICE, &sub);
				expect_post(state, &[whole(&sub, &membership)], answers(&[STORED]));
				run(1);
				match in_time {
					true => assert!(forgotten(&hash), "body read in {millis} ms: confirmed"),
					false => assert_eq!(
						deliveries(&hash).expect("still owed")[0].state,
						DeliveryState::Pending { attempts: 1, next_attempt: 2 },
						"body read in {millis} ms: past the deadline"
					),
				}
			});
		}
	}

	/// A run posts for at most 8 s (docs/security.md): with hosts owed an envelope, 16
	/// requests in flight at a time and every round taking `round_ms`, the rounds that
	/// start before 8 s post; the hosts left are posted to by the next run, their attempts
	/// not counted against them. Rounds of 4 s (the request deadline) fit two; rounds of
	/// 2.7 s fit three: together they hold the budget within (5.4 s, 8 s].
	#[test]
	fn a_run_stops_posting_after_its_8_s_budget() {
		for (round_ms, rounds) in [(4_000, 2), (2_700, 3)] {
			a_run_posts_until_its_budget(round_ms, rounds * 16);
		}
	}

	fn a_run_posts_until_its_budget(round_ms: u64, posted_in_budget: u64) {
		const HOSTS: u64 = 60;
		with_hosts_answering_after(round_ms, |state| {
			World::set_hosts(HOSTS);
			let sub = submission(ALICE, 1);
			let hash = submit(&sub);
			let membership = anchor_alone(ALICE, &sub);
			let item = [whole(&sub, &membership)];
			for index in 0..posted_in_budget {
				expect_post_to(state, index, &item, answers(&[STORED]));
			}
			run(1);
			let after_one_run = deliveries(&hash).expect("hosts are still owed it");
			let (confirmed, owed): (Vec<_>, Vec<_>) = after_one_run
				.iter()
				.map(|d| (d.host, d.state))
				.partition(|(_, state)| *state == DeliveryState::Confirmed(1));
			assert_eq!(confirmed.len() as u64, posted_in_budget, "rounds of {round_ms} ms");
			assert_eq!(
				owed,
				(HOST + posted_in_budget..HOST + HOSTS)
					.map(|host| (host, DeliveryState::Pending { attempts: 0, next_attempt: 1 }))
					.collect::<Vec<_>>(),
				"the hosts past the budget were not posted to, and keep every attempt"
			);
			for index in posted_in_budget..HOSTS {
				expect_post_to(state, index, &item, answers(&[STORED]));
			}
			run(2);
			assert!(forgotten(&hash), "the next run posted to the rest");
		});
	}
}
