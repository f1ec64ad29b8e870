//! Property tests of every decoder a hostile caller reaches through RPC or a host request:
//! the envelope, a signed submission, host items, batch memberships and signed mailbox
//! requests. Inputs are random bytes and mutations (flipped, inserted, deleted and
//! truncated bytes) of valid encodings. Properties: nothing panics, and whatever decodes
//! re-encodes to exactly its input (so two encodings never pass for one value), and a
//! decoded membership's proof verifies or is refused without panicking.
//!
//!     cargo test -p quarks-primitives --test decoders                     (CI: 20,000 per target)
//!     DECODER_INPUTS=1000000 cargo test --release -p quarks-primitives --test decoders
//!
//! A seeded generator makes a failure reproducible (`DECODER_SEED`). The coverage-guided
//! fuzzer in `primitives/fuzz` runs the same checks (`fuzz/check.rs`).

use quarks_primitives::{
	envelope::ENVELOPE_VERSION,
	hosting::BatchMembership,
	mailbox::{MailboxAction, MailboxRequest},
	merkle::{batch_root, inclusion_proof},
	Destination,
};

include!("../fuzz/inputs.rs");

/// Valid encodings of every target, to mutate.
fn seeds() -> Vec<Vec<u8>> {
	let who = |b: u8| AccountId32::new([b; 32]);
	let envelope = |destination, class: u8, len: usize| {
		Envelope {
			version: ENVELOPE_VERSION,
			sender: who(1),
			destination,
			size_class: class,
			body: vec![7; len],
		}
		.encode()
	};
	let direct = envelope(Destination::Direct(who(2)), 0, 1024);
	let group = envelope(Destination::Group { group: 3, epoch: 4 }, 1, 4096);
	let leaves: Vec<H256> = (0..5u8).map(H256::repeat_byte).collect();
	let membership = BatchMembership {
		root: batch_root(&leaves),
		proof: inclusion_proof(&leaves, 3).expect("in range"),
	};
	let submission = Submission { envelope: direct.clone(), signature: [9; 64] };
	let membership = SignedMembership { membership, signature: Some([6; 64]) };
	let items = vec![
		HostItem::Envelope { submission: submission.clone(), membership: Some(membership.clone()) },
		HostItem::Membership { envelope: H256::repeat_byte(3), membership: membership.clone() },
	];
	let request = |action| SignedMailboxRequest {
		request: MailboxRequest { account: who(2), host: who(3), nonce: 42, action },
		signature: [5; 64],
	};
	vec![
		direct,
		group,
		submission.encode(),
		items.encode(),
		vec![(H256::repeat_byte(3), membership)].encode(),
		request(MailboxAction::Fetch { after: Some(7), limit: 256 }).encode(),
		request(MailboxAction::Subscribe).encode(),
		request(MailboxAction::Delete { envelopes: vec![H256::repeat_byte(8); 3] }).encode(),
		request(MailboxAction::Contacts { device: [6; 32], accounts: vec![who(4), who(5)] })
			.encode(),
	]
}

// `check`: every decoder on one input; shared with the coverage-guided fuzzer.
include!("../fuzz/check.rs");

#[test]
fn hostile_bytes_never_panic_and_decode_canonically() {
	let seeds = seeds();
	let mut decoded = 0usize;
	for bytes in hostile_inputs(&seeds) {
		check(&bytes);
		decoded += usize::from(Submission::decode_all(&mut &bytes[..]).is_ok());
	}
	// Mutations must reach past the first byte's checks (more than the one seed decodes),
	// or the test proves nothing.
	assert!(decoded > 1, "no mutated input decoded at all");
}
