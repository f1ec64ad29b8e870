//! Verifying contacts: a safety number per pair of accounts, computed from the devices the
//! chain binds to each, which two people compare in person or over another channel (as
//! Signal and Matrix users do). A node that lies to one of them about the other's devices
//! gives them different numbers.
//!
//! Each account's half is Signal's numeric fingerprint over its device keys: SHA-512
//! iterated [`ITERATIONS`] times over [`FINGERPRINT_VERSION`], the sorted device keys and
//! the account, its first 30 bytes read as six 5-byte big-endian numbers, each modulo
//! 100 000. The safety number is both halves, the smaller first, so both people see the
//! same 60 digits.

use crate::{error::ClientError, messenger::Messenger, queries};
use quarks_primitives::DeviceKey;
use sha2::{Digest, Sha512};
use sp_core::crypto::AccountId32;

/// The fingerprint format's version, hashed first.
pub const FINGERPRINT_VERSION: u16 = 0;
/// SHA-512 rounds per fingerprint: slows a search for devices with a chosen number.
pub const ITERATIONS: usize = 5200;

/// The 30 digits of `account` with `devices` (in any order).
pub fn fingerprint(account: &AccountId32, devices: &[DeviceKey]) -> String {
	let mut devices = devices.to_vec();
	devices.sort();
	let keys = devices.concat();
	let mut hash = Sha512::new()
		.chain_update(FINGERPRINT_VERSION.to_be_bytes())
		.chain_update(&keys)
		.chain_update(AsRef::<[u8]>::as_ref(account))
		.finalize();
	for _ in 0..ITERATIONS {
		hash = Sha512::new().chain_update(hash).chain_update(&keys).finalize();
	}
	hash[..30]
		.chunks(5)
		.map(|chunk| {
			let value = chunk.iter().fold(0u64, |acc, byte| (acc << 8) | u64::from(*byte));
			format!("{:05}", value % 100_000)
		})
		.collect()
}

/// The safety number of two accounts with their devices: 60 digits, the same whichever of
/// the two computes it.
pub fn safety_number(a: (&AccountId32, &[DeviceKey]), b: (&AccountId32, &[DeviceKey])) -> String {
	let (a, b) = (fingerprint(a.0, a.1), fingerprint(b.0, b.1));
	if a <= b {
		a + &b
	} else {
		b + &a
	}
}

/// What this client knows of a contact.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contact {
	/// The safety number of this account and the contact, from the finalized chain.
	pub safety_number: String,
	/// The contact's devices the chain binds now.
	pub devices: Vec<DeviceKey>,
	/// Whether the 1:1 conversation's MLS group holds exactly those devices of the contact
	/// (`None` without a conversation).
	pub conversation_matches: Option<bool>,
}

impl Messenger {
	/// The safety number of this account and `peer`, and whether the 1:1 conversation
	/// with them holds the devices the chain binds to them.
	pub async fn contact(&self, peer: &AccountId32) -> Result<Contact, ClientError> {
		let mine = queries::devices(&self.chain, self.account()).await?;
		let mut devices = queries::devices(&self.chain, peer).await?;
		devices.sort();
		let safety_number = safety_number((self.account(), &mine), (peer, &devices));
		let conversation_matches = match self.database.direct(peer)? {
			Some(group) if self.device(|d| d.is_in(group)) => {
				let mut in_group: Vec<DeviceKey> = self
					.device(|d| d.members(group))?
					.into_iter()
					.filter(|d| &d.account == peer)
					.map(|d| d.signature_key)
					.collect();
				in_group.sort();
				Some(in_group == devices)
			}
			_ => None,
		};
		Ok(Contact { safety_number, devices, conversation_matches })
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn account(byte: u8) -> AccountId32 {
		AccountId32::new([byte; 32])
	}

	#[test]
	fn both_sides_see_the_same_number_and_any_device_change_shows() {
		let (alice, bob) = (account(1), account(2));
		let (phone, laptop) = ([3u8; 32], [4u8; 32]);
		let number = safety_number((&alice, &[phone]), (&bob, &[laptop]));
		assert_eq!(number.len(), 60);
		assert!(number.chars().all(|c| c.is_ascii_digit()));
		assert_eq!(number, safety_number((&bob, &[laptop]), (&alice, &[phone])));
		// Device order does not matter; a device more, or another device, does.
		let [a, b] = [[5u8; 32], [6u8; 32]];
		assert_eq!(fingerprint(&bob, &[a, b]), fingerprint(&bob, &[b, a]));
		assert_ne!(fingerprint(&bob, &[a]), fingerprint(&bob, &[a, b]));
		assert_ne!(fingerprint(&bob, &[a]), fingerprint(&bob, &[b]));
		assert_ne!(fingerprint(&alice, &[a]), fingerprint(&bob, &[a]));
	}

	/// The fingerprint's test vector (docs/protocol.md).
	#[test]
	fn test_vector() {
		assert_eq!(
			fingerprint(&account(1), &[[2u8; 32]]),
			"942432533423546938187423643494",
			"computed independently with Python's hashlib"
		);
	}
}
