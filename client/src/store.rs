//! The local mail store: every envelope this identity sent or opened, by hash, with where
//! it sits in its sender's anchor, so it can be read again, audited and proven after the
//! hosts deleted it. Envelopes are ciphertext, so the store needs no encryption of its own.

use crate::files::{private_dir, write_private};
use codec::{Decode, Encode};
use quarks_primitives::{envelope::hash_of, hosting::BatchMembership};
use sp_core::H256;
use std::{
	fs, io,
	path::{Path, PathBuf},
};

/// A directory of envelopes named by their hash.
pub struct MailStore {
	dir: PathBuf,
}

impl MailStore {
	/// The store beside keystore `keystore`: `<keystore>.mail/`.
	pub fn beside(keystore: &Path) -> Self {
		let mut name = keystore.as_os_str().to_owned();
		name.push(".mail");
		Self { dir: PathBuf::from(name) }
	}

	fn path(&self, hash: &H256) -> PathBuf {
		self.dir.join(array_bytes::bytes2hex("", hash.0))
	}

	/// Keeps `envelope` (written to a temporary file, then renamed); returns its hash.
	pub fn put(&self, envelope: &[u8]) -> io::Result<H256> {
		let hash = hash_of(envelope);
		let path = self.path(&hash);
		if !path.exists() {
			private_dir(&self.dir)?;
			write_private(&path, envelope)?;
		}
		Ok(hash)
	}

	/// The envelope with `hash`, if kept.
	pub fn get(&self, hash: &H256) -> io::Result<Option<Vec<u8>>> {
		match fs::read(self.path(hash)) {
			Ok(bytes) => Ok(Some(bytes)),
			Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
			Err(e) => Err(e),
		}
	}

	/// Keeps where `hash` sits in its sender's anchor.
	pub fn put_membership(&self, hash: &H256, membership: &BatchMembership) -> io::Result<()> {
		private_dir(&self.dir)?;
		write_private(&self.path(hash).with_extension("membership"), &membership.encode())
	}

	/// Where `hash` sits in its sender's anchor, if known.
	pub fn membership(&self, hash: &H256) -> io::Result<Option<BatchMembership>> {
		match fs::read(self.path(hash).with_extension("membership")) {
			Ok(bytes) => BatchMembership::decode(&mut &bytes[..])
				.map(Some)
				.map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string())),
			Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
			Err(e) => Err(e),
		}
	}

	/// Marks `hash` as acknowledged by this identity.
	pub fn mark_acknowledged(&self, hash: &H256) -> io::Result<()> {
		private_dir(&self.dir)?;
		fs::write(self.path(hash).with_extension("ack"), [])
	}

	/// Whether this identity acknowledged `hash`.
	pub fn acknowledged(&self, hash: &H256) -> bool {
		self.path(hash).with_extension("ack").exists()
	}

	/// Every kept envelope.
	pub fn all(&self) -> io::Result<Vec<Vec<u8>>> {
		let entries = match fs::read_dir(&self.dir) {
			Ok(entries) => entries,
			Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
			Err(e) => return Err(e),
		};
		let mut out = Vec::new();
		for entry in entries {
			let path = entry?.path();
			if path.extension().is_none() {
				out.push(fs::read(path)?);
			}
		}
		Ok(out)
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn keeps_envelopes_by_hash() {
		let dir = tempfile::tempdir().expect("temp dir");
		let store = MailStore::beside(&dir.path().join("me.json"));
		assert!(store.all().expect("empty").is_empty());
		let hash = store.put(b"envelope").expect("puts");
		assert_eq!(hash, hash_of(b"envelope"));
		assert_eq!(store.put(b"envelope").expect("again"), hash);
		assert_eq!(store.get(&hash).expect("reads"), Some(b"envelope".to_vec()));
		assert_eq!(store.get(&H256::zero()).expect("reads"), None);
		assert!(!store.acknowledged(&hash));
		store.mark_acknowledged(&hash).expect("marks");
		assert!(store.acknowledged(&hash));
		let membership = BatchMembership {
			root: H256::repeat_byte(1),
			proof: quarks_primitives::merkle::single_proof(),
		};
		assert_eq!(store.membership(&hash).expect("reads"), None);
		store.put_membership(&hash, &membership).expect("keeps");
		assert_eq!(store.membership(&hash).expect("reads"), Some(membership));
		assert_eq!(store.all().expect("lists"), vec![b"envelope".to_vec()]);
		// Who this identity talks to is nobody else's business.
		use std::os::unix::fs::PermissionsExt;
		let mode = fs::metadata(&store.dir).expect("exists").permissions().mode();
		assert_eq!(mode & 0o777, 0o700);
	}
}
