//! Submissions opened: the envelope decoded, its hash, and whether its sender signed it.
//!
//! Checking sr25519 signatures was the largest share of a host's time and of a node's
//! RPC threads (docs/performance.md), so the signatures of one request are checked in one
//! batch (schnorrkel's `verify_batch`, which sp-core's sr25519 is built on): one random
//! linear combination instead of one check each. A batch that fails is checked again one
//! by one, so each answer names its own envelope. A request with a bad signature in it
//! thus costs up to twice what checking one by one would; a node refuses such a
//! submission before any host sees it.

use super::error::QuarksError;
use quarks_primitives::{
	envelope::Envelope,
	hosting::{submission_payload, Submission},
};
use quarks_runtime::AccountId;
use schnorrkel::{signing_context, PublicKey, Signature};
use sp_core::H256;

/// sp-core's signing context for sr25519: what `Pair::sign` signs under.
const SIGNING_CONTEXT: &[u8] = b"substrate";

/// A submission decoded.
pub struct Opened {
	/// Its envelope.
	pub envelope: Envelope<AccountId>,
	/// The envelope's hash.
	pub hash: H256,
	/// Whether the envelope's sender signed the submission: false until
	/// [`check_signatures`] says otherwise.
	signed: bool,
}

impl Opened {
	/// `submission`, whose envelope hashes to `hash`, decoded; its signature not checked.
	pub fn of(submission: &Submission, hash: H256) -> Result<Self, QuarksError> {
		let envelope = Envelope::<AccountId>::decode_checked(&submission.envelope)
			.map_err(QuarksError::Malformed)?;
		Ok(Opened { envelope, hash, signed: false })
	}

	/// Whether [`check_signatures`] found it signed by its envelope's sender.
	pub fn is_signed(&self) -> bool {
		self.signed
	}
}

/// Checks each submission signature against its opened envelope's sender, on chain
/// `genesis`, and marks those that are its sender's as signed.
pub fn check_signatures<'a>(
	genesis: &H256,
	submissions: impl IntoIterator<Item = (&'a mut Opened, &'a [u8; 64])>,
) {
	let mut checks = Vec::new();
	for (opened, signature) in submissions {
		let sender: &[u8] = opened.envelope.sender.as_ref();
		// Keys and signatures that do not parse are unsigned, as sp-core's `verify` has it.
		let (Ok(public), Ok(signature)) =
			(PublicKey::from_bytes(sender), Signature::from_bytes(signature))
		else {
			continue;
		};
		let payload = submission_payload(genesis, &opened.hash);
		checks.push((opened, Check { public, signature, payload }));
	}
	let all_signed = checks.len() > 1 && batch_verifies(checks.iter().map(|(_, check)| check));
	for (opened, check) in checks {
		opened.signed = all_signed
			|| check
				.public
				.verify_simple(SIGNING_CONTEXT, &check.payload, &check.signature)
				.is_ok();
	}
}

/// One signature to check: the key, the signature, what was signed.
struct Check {
	public: PublicKey,
	signature: Signature,
	payload: Vec<u8>,
}

/// Whether every check of `batch` verifies, in one batch check.
fn batch_verifies<'a>(batch: impl Iterator<Item = &'a Check> + Clone) -> bool {
	let transcripts = batch.clone().map(|c| signing_context(SIGNING_CONTEXT).bytes(&c.payload));
	let signatures: Vec<Signature> = batch.clone().map(|c| c.signature).collect();
	let publics: Vec<PublicKey> = batch.map(|c| c.public).collect();
	schnorrkel::verify_batch(transcripts, &signatures, &publics, false).is_ok()
}

#[cfg(test)]
mod tests {
	use super::*;
	use codec::Encode;
	use quarks_primitives::{
		envelope::{hash_of, ENVELOPE_VERSION},
		Destination, SIZE_CLASSES,
	};
	use sp_core::{sr25519, Pair};

	/// `count` submissions of envelopes from distinct senders, each signed as clients sign.
	fn signed(genesis: &H256, count: u8) -> Vec<Submission> {
		(0..count)
			.map(|i| {
				let pair = sr25519::Pair::from_seed(&[i; 32]);
				let envelope = Envelope {
					version: ENVELOPE_VERSION,
					sender: AccountId::from(pair.public()),
					destination: Destination::Direct(AccountId::new([9; 32])),
					size_class: 0,
					body: vec![i; SIZE_CLASSES[0] as usize],
				}
				.encode();
				let signature = pair.sign(&submission_payload(genesis, &hash_of(&envelope))).0;
				Submission { envelope, signature }
			})
			.collect()
	}

	fn checked(genesis: &H256, submissions: &[Submission]) -> Vec<bool> {
		let mut opened: Vec<Opened> = submissions
			.iter()
			.map(|s| Opened::of(s, hash_of(&s.envelope)).expect("decodes"))
			.collect();
		check_signatures(genesis, opened.iter_mut().zip(submissions.iter().map(|s| &s.signature)));
		opened.iter().map(|o| o.signed).collect()
	}

	#[test]
	fn a_batch_of_good_signatures_is_signed_and_a_bad_one_is_named() {
		let genesis = H256::repeat_byte(1);
		let mut submissions = signed(&genesis, 8);
		assert_eq!(checked(&genesis, &submissions), [true; 8]);
		// In one batch check, not one by one after a failed batch.
		let mut checks: Vec<Check> = submissions
			.iter()
			.map(|s| {
				let envelope = Envelope::<AccountId>::decode_checked(&s.envelope).expect("decodes");
				Check {
					public: PublicKey::from_bytes(envelope.sender.as_ref()).expect("a key"),
					signature: Signature::from_bytes(&s.signature).expect("a signature"),
					payload: submission_payload(&genesis, &hash_of(&s.envelope)),
				}
			})
			.collect();
		assert!(batch_verifies(checks.iter()));
		checks[3].payload[0] ^= 1;
		assert!(!batch_verifies(checks.iter()), "one payload changed fails the batch");
		assert_eq!(checked(&genesis, &submissions[..1]), [true], "one alone");
		// One signature changed, one moved to another's envelope, one for another chain.
		submissions[2].signature[5] ^= 1;
		submissions[4].signature = submissions[5].signature;
		let other_chain = signed(&H256::repeat_byte(2), 8);
		submissions[7].signature = other_chain[7].signature;
		let expected: Vec<bool> = (0..8).map(|i| ![2, 4, 7].contains(&i)).collect();
		assert_eq!(checked(&genesis, &submissions), expected);
		// What sp-core's one-by-one check says, for each.
		for (submission, signed) in submissions.iter().zip(checked(&genesis, &submissions)) {
			let sender = Envelope::<AccountId>::decode_checked(&submission.envelope)
				.expect("decodes")
				.sender;
			let payload = submission_payload(&genesis, &hash_of(&submission.envelope));
			let by_sp_core = sr25519::Pair::verify(
				&sr25519::Signature::from_raw(submission.signature),
				payload,
				&sr25519::Public::from_raw(sender.into()),
			);
			assert_eq!(signed, by_sp_core);
		}
	}
}
