//! The test vectors of docs/protocol.md and docs/rpc.md: every wire format a third-party
//! client must produce or read, byte for byte. Accounts are `0x01 × 32` (the sender),
//! `0x02 × 32` (the recipient) and `0x03 × 32` (a host operator); the genesis hash is
//! `0x99 × 32`. A change here is a protocol change: update the docs with it.

use codec::Encode;
use quarks_primitives::{
	envelope::{hash_of, Envelope, ENVELOPE_VERSION},
	hosting::{submission_payload, BatchMembership, HostAnswer, HostItem, Submission},
	mailbox::{MailboxAction, MailboxRequest},
	merkle::{batch_root, inclusion_proof, verify, AnchorLeaf},
	Destination,
};
use sp_core::H256;
use sp_runtime::traits::{BlakeTwo256, Hash};
use sp_runtime::AccountId32;

fn hex(bytes: impl AsRef<[u8]>) -> String {
	bytes.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

fn who(byte: u8) -> AccountId32 {
	AccountId32::new([byte; 32])
}

const GENESIS: H256 = H256::repeat_byte(0x99);

fn letter_to_recipient() -> Vec<u8> {
	Envelope {
		version: ENVELOPE_VERSION,
		sender: who(1),
		destination: Destination::Direct(who(2)),
		size_class: 0,
		body: vec![0; 1024],
	}
	.encode()
}

#[test]
fn destinations() {
	assert_eq!(hex(Destination::Direct(who(2)).encode()), format!("00{}", "02".repeat(32)));
	assert_eq!(
		hex(Destination::<AccountId32>::Group { group: 5, epoch: 2 }.encode()),
		"01050000000000000002000000"
	);
}

#[test]
fn envelope_and_its_hash() {
	let envelope = letter_to_recipient();
	let header = format!("01{}00{}00{}", "01".repeat(32), "02".repeat(32), "0110");
	assert_eq!(hex(&envelope[..69]), header, "version, sender, destination, class, body length");
	assert_eq!(envelope.len(), 69 + 1024);
	assert_eq!(
		hex(hash_of(&envelope)),
		"48a24952cb5cb91f1f05e78f29adc6aaf24dffc3c311e1d41428cef0b022686f"
	);
}

#[test]
fn anchor_leaves_and_batch_roots() {
	let envelope = hash_of(&letter_to_recipient());
	let leaf = AnchorLeaf { envelope, destination: Destination::Direct(who(2)), size_class: 0 };
	assert_eq!(hex(leaf.encode()), format!("{}00{}00", hex(envelope), "02".repeat(32)));
	assert_eq!(
		hex(leaf.value()),
		"66b4d7c66d1c0544a7b48fded2a9c0acf38a4febfd5cf49f661f8744b05bf0c2"
	);

	let leaves = [H256::repeat_byte(0xaa), H256::repeat_byte(0xbb), H256::repeat_byte(0xcc)];
	let root = batch_root(&leaves);
	assert_eq!(hex(root), "65289cd5e618604649b06be79e2a4e6ca6a134dafa0025cf168740ca8f0e69b8");
	assert_eq!(
		hex(batch_root(&leaves[..1])),
		"046c0d987075db8217087bae19e9f753305890fc6772908c57f07878211cc8cb"
	);
	// Leaves are hashed, pairs hashed together, and an odd last node is promoted.
	let h = |bytes: &[u8]| BlakeTwo256::hash(bytes);
	let (a, b, c) = (h(&leaves[0].0), h(&leaves[1].0), h(&leaves[2].0));
	let ab = h(&[a.0, b.0].concat());
	assert_eq!(batch_root(&leaves[..1]), a);
	assert_eq!(root, h(&[ab.0, c.0].concat()));
	let proof = inclusion_proof(&leaves, 2).expect("in range");
	assert_eq!(
		proof.siblings.iter().map(hex).collect::<Vec<_>>(),
		vec![hex(ab)],
		"the third leaf's sibling is the hash of the first two"
	);
	assert!(verify(&root, &leaves[2], &proof));
	let membership = BatchMembership { root, proof };
	assert_eq!(hex(ab), "39faf5356a169b89959c97373235bac449f37b0a62fbd764f2405ec7a691dbaf");
	assert_eq!(
		hex(membership.encode()),
		format!("{}{}{}04{}", hex(root), "02000000", "03000000", hex(ab))
	);
}

#[test]
fn submissions_and_host_items() {
	let envelope = letter_to_recipient();
	let payload = submission_payload(&GENESIS, &hash_of(&envelope));
	assert_eq!(
		hex(&payload),
		format!("40{}{}{}", hex(b"quarks/submit/v1"), "99".repeat(32), hex(hash_of(&envelope)))
	);
	let submission = Submission { envelope: envelope.clone(), signature: [0x55; 64] };
	assert_eq!(hex(&submission.encode()[..3]), "151101", "compact length 1093, then the envelope");
	let item = HostItem::Envelope { submission, membership: None };
	assert_eq!(hex(&item.encode()[..4]), "00151101");
	assert_eq!(hex(&item.encode()[item.encode().len() - 65..]), format!("{}00", "55".repeat(64)));
	assert_eq!(hex(HostAnswer::Stored { anchored_at: Some(7u32) }.encode()), "000107000000");
	assert_eq!(hex(HostAnswer::<u32>::Stored { anchored_at: None }.encode()), "0000");
	assert_eq!(hex(HostAnswer::<u32>::Missing.encode()), "01");
	assert_eq!(hex(HostAnswer::<u32>::Refused { code: 9023, retry: false }.encode()), "023f2300");
	assert_eq!(hex(HostAnswer::<u32>::Delivered.encode()), "03");
}

#[test]
fn mailbox_requests() {
	let request = MailboxRequest {
		account: who(2),
		host: who(3),
		nonce: 1,
		action: MailboxAction::Fetch { after: Some(41), limit: 256 },
	};
	assert_eq!(
		hex(request.signing_payload(&GENESIS)),
		format!(
			"44{}{}{}{}{}{}",
			hex(b"quarks/mailbox/v2"),
			"99".repeat(32),
			"02".repeat(32),
			"03".repeat(32),
			"0100000000000000",
			"00012900000000000000".to_string() + "00010000"
		)
	);
	let subscribe = MailboxRequest { action: MailboxAction::Subscribe, ..request.clone() };
	assert_eq!(hex(&subscribe.encode()[72..]), "01");
	let contacts = MailboxRequest {
		action: MailboxAction::Contacts { device: [6; 32], accounts: vec![who(4), who(5)] },
		..request.clone()
	};
	assert_eq!(
		hex(&contacts.encode()[72..]),
		format!("03{}08{}{}", "06".repeat(32), "04".repeat(32), "05".repeat(32))
	);
	let received = MailboxRequest {
		action: MailboxAction::Received {
			device: [6; 32],
			envelopes: vec![H256::repeat_byte(7), H256::repeat_byte(8)],
		},
		..request
	};
	assert_eq!(
		hex(&received.encode()[72..]),
		format!("04{}08{}{}", "06".repeat(32), "07".repeat(32), "08".repeat(32))
	);
	let fetch_for = MailboxRequest {
		action: MailboxAction::FetchFor { device: [6; 32], after: None, limit: 256 },
		..received
	};
	assert_eq!(hex(&fetch_for.encode()[72..]), format!("05{}0000010000", "06".repeat(32)));
}

/// A device bound to account `0x01 × 32`: the device key is the Ed25519 key of seed
/// `0x04 × 32`, and its proof (Ed25519 signatures are deterministic) is what `add_device`
/// takes. The tag is raw — no length prefix, unlike the submission's and batch's tags.
#[test]
fn device_proofs() {
	use sp_core::{ed25519, Pair};
	let payload = quarks_primitives::device_proof_payload(&who(1));
	assert_eq!(hex(&payload), format!("{}{}", hex(b"quarks/device/1"), "01".repeat(32)));
	assert_eq!(hex(b"quarks/device/1"), "717561726b732f6465766963652f31");
	let device = ed25519::Pair::from_seed(&[4; 32]);
	assert_eq!(hex(device.public()), DEVICE_KEY);
	let proof = device.sign(&payload);
	assert_eq!(hex(proof), DEVICE_PROOF);
	assert!(ed25519::Pair::verify(&proof, &payload, &device.public()));
}

/// From Python's `cryptography` (OpenSSL's Ed25519), not from this code.
const DEVICE_KEY: &str = "ca93ac1705187071d67b83c7ff0efe8108e8ec4530575d7726879333dbdabe7c";
const DEVICE_PROOF: &str = "06317e6b32f877c02014fed944276c4e6d6bd89147905b8cc8bc4b36ed0b1af4\
	72c298555c66a4b58387e0e262e07a127815bf5bea8cc153bc6331cab484c604";
