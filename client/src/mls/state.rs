//! A device's state at rest: everything `openmls` keeps, encrypted under the keystore's
//! state key.

use super::*;

/// Format tag and associated data of a saved device state: version 2 knows generations.
const STATE_FORMAT: &[u8] = b"quarks-mls-state/2";

/// Version 1, read as every group in its first generation.
const STATE_FORMAT_V1: &[u8] = b"quarks-mls-state/1";

/// The saved state, before encryption.
#[derive(Encode, Decode)]
struct State {
	account: [u8; 32],
	signature_key: Vec<u8>,
	staged: Vec<(GroupId, Staged)>,
	groups: Vec<(GroupId, Membership)>,
	values: Vec<(Vec<u8>, Vec<u8>)>,
}

/// Version 1 of [`State`]: one generation per group.
#[derive(Decode)]
struct StateV1 {
	account: [u8; 32],
	signature_key: Vec<u8>,
	pending: Vec<(GroupId, [u8; 32])>,
	groups: Vec<(GroupId, u64)>,
	values: Vec<(Vec<u8>, Vec<u8>)>,
}

impl From<StateV1> for State {
	fn from(old: StateV1) -> Self {
		let first = |joined: u64| Membership {
			joined: Epoch::try_from(joined).unwrap_or(Epoch::MAX),
			generation: 1,
			previous: None,
		};
		State {
			account: old.account,
			signature_key: old.signature_key,
			staged: old
				.pending
				.into_iter()
				.map(|(group, hash)| {
					(group, Staged { commit: H256(hash), welcome: None, restart: None })
				})
				.collect(),
			groups: old.groups.into_iter().map(|(group, joined)| (group, first(joined))).collect(),
			values: old.values,
		}
	}
}

impl Device {
	/// Writes the device's whole state to `path`, encrypted with `key` (AES-256-GCM under
	/// a fresh nonce), replacing the file atomically. Deleted secrets leave with the old file.
	pub fn save(&self, path: &Path, key: &[u8; 32]) -> Result<(), MlsError> {
		let values = {
			let map = self.provider.storage.values.read().map_err(|_| poisoned())?;
			map.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
		};
		let state = State {
			account: self.account.clone().into(),
			signature_key: self.signer.to_public_vec(),
			staged: self.staged.iter().map(|(group, staged)| (*group, *staged)).collect(),
			groups: self.groups.iter().map(|(group, m)| (*group, *m)).collect(),
			values,
		};
		let plaintext = Zeroizing::new(state.encode());
		let sealed = crate::at_rest::seal(key, STATE_FORMAT, &plaintext)
			.map_err(|_| MlsError::State("encryption failed".into()))?;
		let file = [STATE_FORMAT, &sealed].concat();
		files::write_private(path, &file)
			.map_err(|e| MlsError::State(format!("{}: {e}", path.display())))
	}

	/// Reads a state [`Device::save`] wrote with the same `key` (or version 1's).
	pub fn open(path: &Path, key: &[u8; 32]) -> Result<Self, MlsError> {
		let file =
			std::fs::read(path).map_err(|e| MlsError::State(format!("{}: {e}", path.display())))?;
		let (format, rest) = [STATE_FORMAT, STATE_FORMAT_V1]
			.into_iter()
			.find_map(|format| Some((format, file.strip_prefix(format)?)))
			.ok_or_else(|| MlsError::State("not a device state".into()))?;
		let plaintext = crate::at_rest::open(key, format, rest)
			.map_err(|_| MlsError::State("wrong key or damaged file".into()))?;
		let state = if format == STATE_FORMAT {
			State::decode(&mut plaintext.as_slice()).map_err(state)?
		} else {
			StateV1::decode(&mut plaintext.as_slice()).map_err(state)?.into()
		};
		let provider = Provider::default();
		*provider.storage.values.write().map_err(|_| poisoned())? =
			state.values.into_iter().collect();
		let signer = SignatureKeyPair::read(
			provider.storage(),
			&state.signature_key,
			CIPHERSUITE.signature_algorithm(),
		)
		.ok_or_else(|| MlsError::State("the device's signature key is missing".into()))?;
		Ok(Self {
			account: state.account.into(),
			provider,
			signer,
			staged: state.staged.into_iter().collect(),
			groups: state.groups.into_iter().collect(),
		})
	}
}
