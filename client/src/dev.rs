//! Development identities: the encryption keys the `development` and `local` chains
//! register at genesis for Alice, Bob, Charlie and Dave, so a demo can chat at once.
//!
//! Their secrets are public (derived from a fixed seed), so they are for testing only.

use blake2::{digest::consts::U32, Blake2b, Digest};
use x25519_dalek::{PublicKey, StaticSecret};

/// The X25519 secret of development identity `name` (`"Alice"`, `"Bob"`, …):
/// BLAKE2b-256 of `quarks-dev-x25519//<name>`.
pub fn encryption_secret(name: &str) -> StaticSecret {
	let digest = Blake2b::<U32>::digest(format!("quarks-dev-x25519//{name}").as_bytes());
	StaticSecret::from(<[u8; 32]>::from(digest))
}

/// The X25519 public key of development identity `name`.
pub fn encryption_public(name: &str) -> [u8; 32] {
	PublicKey::from(&encryption_secret(name)).to_bytes()
}

#[cfg(test)]
mod tests {
	use super::*;
	use quarks_runtime::genesis_config_presets::DEV_ENCRYPTION_KEYS;

	#[test]
	fn genesis_keys_are_the_development_identities() {
		for (who, key) in DEV_ENCRYPTION_KEYS {
			let name = format!("{who:?}");
			assert_eq!(encryption_public(&name), key, "{name}");
		}
	}

	#[test]
	fn identities_differ() {
		assert_ne!(encryption_public("Alice"), encryption_public("Bob"));
	}
}
