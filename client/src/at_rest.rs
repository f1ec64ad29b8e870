//! What a device keeps on disk, encrypted under its identity's state key: AES-256-GCM
//! under a fresh nonce each time, with what the bytes are (a name, a hash) as associated
//! data, so one file cannot pass for another. The one helper the store and the MLS state
//! share.

use aes_gcm::{
	aead::{Aead, KeyInit, OsRng, Payload},
	Aes256Gcm, Nonce,
};
use rand_core::RngCore;
use zeroize::Zeroizing;

const NONCE: usize = 12;

/// A sealed file that does not open under this key and label.
#[derive(Debug, thiserror::Error)]
#[error("does not open with this identity's key (another identity's, or damaged)")]
pub struct NotOpened;

/// `plaintext` sealed under `key` for `label`: nonce ‖ ciphertext.
pub fn seal(key: &[u8; 32], label: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, NotOpened> {
	let mut nonce = [0u8; NONCE];
	OsRng.fill_bytes(&mut nonce);
	let sealed = Aes256Gcm::new(key.into())
		.encrypt(Nonce::from_slice(&nonce), Payload { msg: plaintext, aad: label })
		.map_err(|_| NotOpened)?;
	Ok([&nonce[..], &sealed].concat())
}

/// What [`seal`] sealed under `key` for `label`.
pub fn open(key: &[u8; 32], label: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, NotOpened> {
	let (nonce, ciphertext) = sealed.split_at_checked(NONCE).ok_or(NotOpened)?;
	Aes256Gcm::new(key.into())
		.decrypt(Nonce::from_slice(nonce), Payload { msg: ciphertext, aad: label })
		.map(Zeroizing::new)
		.map_err(|_| NotOpened)
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn opens_only_under_its_key_and_label() {
		let sealed = seal(&[1; 32], b"label", b"secret").expect("seals");
		assert!(!sealed.windows(6).any(|w| w == b"secret"));
		assert_eq!(open(&[1; 32], b"label", &sealed).expect("opens").as_slice(), b"secret");
		assert!(open(&[2; 32], b"label", &sealed).is_err());
		assert!(open(&[1; 32], b"other", &sealed).is_err());
		assert!(open(&[1; 32], b"label", &sealed[..11]).is_err());
		assert_ne!(seal(&[1; 32], b"label", b"secret").expect("seals"), sealed, "fresh nonce");
	}
}
