//! Development identities: the devices the `development` and `local` chains bind at
//! genesis for Alice, Bob, Charlie and Dave, so a demo needs only to publish their key
//! packages.
//!
//! Their secrets are public (derived from a fixed seed), so they are for testing only.

use blake2::{digest::consts::U32, Blake2b, Digest};
use sp_core::{ed25519, Pair as _};

/// The Ed25519 seed of development identity `name`'s device (`"Alice"`, `"Bob"`, …):
/// BLAKE2b-256 of `quarks-dev-device//<name>`.
pub fn device_seed(name: &str) -> [u8; 32] {
	Blake2b::<U32>::digest(format!("quarks-dev-device//{name}").as_bytes()).into()
}

/// The device key of development identity `name`.
pub fn device_key(name: &str) -> [u8; 32] {
	ed25519::Pair::from_seed(&device_seed(name)).public().0
}

#[cfg(test)]
mod tests {
	use super::*;
	use quarks_runtime::genesis_config_presets::DEV_DEVICE_KEYS;

	#[test]
	fn genesis_devices_are_the_development_identities() {
		for (who, key) in DEV_DEVICE_KEYS {
			let name = format!("{who:?}");
			assert_eq!(device_key(&name), key, "{name}");
		}
	}

	#[test]
	fn identities_differ() {
		assert_ne!(device_key("Alice"), device_key("Bob"));
	}
}
