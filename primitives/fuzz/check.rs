// Every decoder a hostile caller reaches through RPC or a host request, on one input:
// nothing may panic, whatever decodes must re-encode to exactly its input (two encodings
// never pass for one value), and a decoded membership's proof verifies or is refused.
// Included by `tests/decoders.rs` (property tests) and `fuzz_targets/decoders.rs`.

use codec::{Decode, DecodeAll, Encode};
use quarks_primitives::{
	envelope::Envelope,
	hosting::{HostItem, SignedMembership, Submission},
	mailbox::SignedMailboxRequest,
	merkle::verify,
};
use sp_core::H256;
use sp_runtime::AccountId32;

/// Decodes `bytes` as `T` and checks the round trip.
fn round_trips<T: Decode + Encode>(bytes: &[u8]) -> Option<T> {
	let value = T::decode_all(&mut &bytes[..]).ok()?;
	assert_eq!(value.encode(), bytes, "a second encoding decoded to the same value");
	Some(value)
}

fn check(bytes: &[u8]) {
	if let Ok(envelope) = Envelope::<AccountId32>::decode_checked(bytes) {
		assert_eq!(envelope.encode(), bytes);
		assert_eq!(
			Some(envelope.body.len() as u32),
			quarks_primitives::SIZE_CLASSES.get(envelope.size_class as usize).copied()
		);
	}
	if let Some(submission) = round_trips::<Submission>(bytes) {
		let _ = Envelope::<AccountId32>::decode_checked(&submission.envelope);
	}
	if let Some(items) = round_trips::<Vec<HostItem>>(bytes) {
		for item in items {
			if let HostItem::Membership { envelope, membership } = item {
				let membership = membership.membership;
				let _ = verify(&membership.root, &envelope, &membership.proof);
			}
		}
	}
	if let Some(memberships) = round_trips::<Vec<(H256, SignedMembership)>>(bytes) {
		for (leaf, signed) in memberships {
			let membership = signed.membership;
			let _ = verify(&membership.root, &leaf, &membership.proof);
		}
	}
	round_trips::<SignedMailboxRequest<AccountId32>>(bytes);
}
