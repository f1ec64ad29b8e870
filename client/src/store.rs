//! The local mail store: every envelope this identity sent or opened, by hash, with where
//! it sits in its sender's anchor and the message key that opens its letter, so it can be
//! read again, audited and proven after the hosts deleted it and MLS deleted the key.
//! Envelopes are ciphertext; message keys are kept encrypted under the identity's state
//! key. It also remembers which group is the 1:1 conversation with whom.

use crate::{
	files::{private_dir, write_private},
	seal::MessageKey,
};
use aes_gcm::{
	aead::{Aead, KeyInit, OsRng, Payload},
	Aes256Gcm, Nonce,
};
use codec::{Decode, Encode};
use quarks_primitives::{envelope::hash_of, hosting::BatchMembership, GroupId};
use rand_core::RngCore;
use sp_core::{crypto::AccountId32, H256};
use std::{
	fs, io,
	path::{Path, PathBuf},
};
use zeroize::Zeroizing;

/// A directory of envelopes named by their hash.
pub struct MailStore {
	dir: PathBuf,
	key: Zeroizing<[u8; 32]>,
}

fn invalid(what: &str) -> io::Error {
	io::Error::new(io::ErrorKind::InvalidData, what.to_owned())
}

impl MailStore {
	/// The store beside keystore `keystore`: `<keystore>.mail/`, its message keys under
	/// `key`.
	pub fn beside(keystore: &Path, key: [u8; 32]) -> Self {
		let mut name = keystore.as_os_str().to_owned();
		name.push(".mail");
		Self { dir: PathBuf::from(name), key: Zeroizing::new(key) }
	}

	fn read(&self, path: &Path) -> io::Result<Option<Vec<u8>>> {
		match fs::read(path) {
			Ok(bytes) => Ok(Some(bytes)),
			Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
			Err(e) => Err(e),
		}
	}

	/// Keeps the message key of `hash`'s letter, encrypted.
	pub fn put_message_key(&self, hash: &H256, key: &MessageKey) -> io::Result<()> {
		let mut nonce = [0u8; 12];
		OsRng.fill_bytes(&mut nonce);
		let sealed = Aes256Gcm::new((&*self.key).into())
			.encrypt(Nonce::from_slice(&nonce), Payload { msg: key, aad: hash.as_bytes() })
			.map_err(|_| invalid("encrypting a message key"))?;
		private_dir(&self.dir)?;
		write_private(&self.path(hash).with_extension("key"), &[&nonce[..], &sealed].concat())
	}

	/// The message key of `hash`'s letter, if kept.
	pub fn message_key(&self, hash: &H256) -> io::Result<Option<MessageKey>> {
		let Some(file) = self.read(&self.path(hash).with_extension("key"))? else {
			return Ok(None);
		};
		if file.len() < 12 {
			return Err(invalid("message key file too short"));
		}
		let (nonce, sealed) = file.split_at(12);
		let key = Aes256Gcm::new((&*self.key).into())
			.decrypt(Nonce::from_slice(nonce), Payload { msg: sealed, aad: hash.as_bytes() })
			.map(Zeroizing::new)
			.map_err(|_| invalid("message key does not open with this identity's key"))?;
		MessageKey::try_from(key.as_slice()).map(Some).map_err(|_| invalid("not a message key"))
	}

	fn conversations_path(&self) -> PathBuf {
		self.dir.join("conversations")
	}

	fn conversations(&self) -> io::Result<Vec<(AccountId32, GroupId)>> {
		match self.read(&self.conversations_path())? {
			Some(bytes) => Decode::decode(&mut &bytes[..]).map_err(|e| invalid(&e.to_string())),
			None => Ok(Vec::new()),
		}
	}

	/// The group that is the 1:1 conversation with `peer`, if there is one.
	pub fn direct(&self, peer: &AccountId32) -> io::Result<Option<GroupId>> {
		Ok(self.conversations()?.into_iter().find(|(p, _)| p == peer).map(|(_, group)| group))
	}

	/// Records `group` as the 1:1 conversation with `peer`.
	pub fn set_direct(&self, peer: &AccountId32, group: GroupId) -> io::Result<()> {
		let mut conversations = self.conversations()?;
		conversations.retain(|(p, _)| p != peer);
		conversations.push((peer.clone(), group));
		private_dir(&self.dir)?;
		write_private(&self.conversations_path(), &conversations.encode())
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
		self.read(&self.path(hash))
	}

	/// Keeps where `hash` sits in its sender's anchor.
	pub fn put_membership(&self, hash: &H256, membership: &BatchMembership) -> io::Result<()> {
		private_dir(&self.dir)?;
		write_private(&self.path(hash).with_extension("membership"), &membership.encode())
	}

	/// Where `hash` sits in its sender's anchor, if known.
	pub fn membership(&self, hash: &H256) -> io::Result<Option<BatchMembership>> {
		self.read(&self.path(hash).with_extension("membership"))?
			.map(|bytes| {
				BatchMembership::decode(&mut &bytes[..]).map_err(|e| invalid(&e.to_string()))
			})
			.transpose()
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
			if path.extension().is_none() && path != self.conversations_path() {
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
		let store = MailStore::beside(&dir.path().join("me.json"), [4; 32]);
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
		assert_eq!(store.message_key(&hash).expect("reads"), None);
		store.put_message_key(&hash, &[9; 32]).expect("keeps");
		assert_eq!(store.message_key(&hash).expect("reads"), Some([9; 32]));
		let file = fs::read(store.path(&hash).with_extension("key")).expect("kept");
		assert!(!file.windows(32).any(|w| w == [9; 32]), "message keys are not kept in clear");
		let other = MailStore::beside(&dir.path().join("me.json"), [5; 32]);
		assert!(other.message_key(&hash).is_err(), "only this identity's key opens them");

		let peer = AccountId32::new([8; 32]);
		assert_eq!(store.direct(&peer).expect("reads"), None);
		store.set_direct(&peer, 3).expect("keeps");
		store.set_direct(&peer, 4).expect("replaces");
		assert_eq!(store.direct(&peer).expect("reads"), Some(4));
		assert_eq!(store.all().expect("lists"), vec![b"envelope".to_vec()]);
		// Who this identity talks to is nobody else's business.
		use std::os::unix::fs::PermissionsExt;
		let mode = fs::metadata(&store.dir).expect("exists").permissions().mode();
		assert_eq!(mode & 0o777, 0o700);
	}
}
