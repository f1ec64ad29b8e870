//! The test vector of docs/protocol.md ("Non-repudiation proof", evidence): a chain whose
//! only GRANDPA voter is the development key `//Alice` (Ed25519), its block 1 holding one
//! anchor and one device record of `//Bob`'s account, and that block's evidence. Built here
//! from those keys alone, it must equal `docs/vectors/evidence.json` byte for byte
//! (`QUARKS_UPDATE_VECTORS=1` rewrites the file), check, and fail after any byte changes.

use super::*;
use crate::chain::finality::Block;
use sc_consensus_grandpa::{warp_proof::WarpSyncFragment, FinalityProof};
use serde_json::json;
use sp_consensus_grandpa::{AuthorityId, AuthoritySignature};
use sp_core::Pair as _;
use sp_keyring::{Ed25519Keyring, Sr25519Keyring};
use std::collections::BTreeMap;

const VECTOR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/vectors/evidence.json");

fn hex(bytes: &[u8]) -> String {
	array_bytes::bytes2hex("0x", bytes)
}

/// The vector: a raw chain spec, what a proof names, and the evidence.
fn build() -> serde_json::Value {
	let voter = Ed25519Keyring::Alice.pair();
	let voters: AuthorityList = vec![(AuthorityId::from(voter.public()), 1)];
	let voters_key = storage_key(&vocabulary::GRANDPA_VOTERS, &[]);
	let spec = json!({ "genesis": { "raw": {
		"top": { hex(&voters_key): hex(&voters.encode()) },
		"childrenDefault": {},
	} } });
	let genesis = Header::new(
		0,
		BlakeTwo256::trie_root(Vec::new(), StateVersion::V1),
		BlakeTwo256::trie_root(vec![(voters_key, voters.encode())], StateVersion::V1),
		H256::zero(),
		Default::default(),
	)
	.hash();

	// Block 1's state: the hash of block 0, Bob's anchor and his device.
	let sender = AccountId32::from(Sr25519Keyring::Bob.public());
	let root = H256::repeat_byte(0x42);
	let device = DeviceRecord { key: [7; 32], added: 1, removed: None::<BlockNumber> };
	let keys = keys(&sender, &root);
	let state: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::from([
		(keys[0].clone(), AnchorRecord { count: 1, anchored_at: 1u32 }.encode()),
		(keys[1].clone(), vec![device].encode()),
		(keys[2].clone(), genesis.encode()),
	]);
	let backend =
		sp_state_machine::InMemoryBackend::<BlakeTwo256>::from((state.clone(), StateVersion::V1));
	let state_root = *backend.root();
	let proof = sp_state_machine::prove_read(backend, &keys).expect("proves");
	let header = Header::new(
		1,
		BlakeTwo256::trie_root(Vec::new(), StateVersion::V0),
		state_root,
		genesis,
		Default::default(),
	);

	// `//Alice` precommits to block 1 in round 1 of set 0.
	let precommit =
		sp_consensus_grandpa::Precommit::<Header> { target_hash: header.hash(), target_number: 1 };
	let message = sp_consensus_grandpa::Message::<Header>::Precommit(precommit.clone());
	let payload = sp_consensus_grandpa::localized_payload(1, 0, &message);
	let justification = sp_consensus_grandpa::GrandpaJustification::<Header> {
		round: 1,
		commit: sp_consensus_grandpa::Commit::<Header> {
			target_hash: header.hash(),
			target_number: 1,
			precommits: vec![finality_grandpa::SignedPrecommit {
				precommit,
				signature: AuthoritySignature::from(voter.sign(&payload)),
				id: AuthorityId::from(voter.public()),
			}],
		},
		votes_ancestries: Vec::new(),
	};
	let finality = FinalityProof::<Header> {
		block: header.hash(),
		justification: justification.encode(),
		unknown_headers: Vec::new(),
	};
	// No set ever handed on: the warp proof, complete, ends with the latest justification.
	let latest =
		WarpSyncFragment::<Block> { header: header.clone(), justification: justification.into() };
	let hand_offs = (vec![latest], true);
	let evidence = Evidence {
		header: header.encode().into(),
		finality: finality.encode().into(),
		hand_offs: hand_offs.encode().into(),
		state: proof.into_iter_nodes().map(Bytes).collect(),
	};
	json!({
		"spec": spec,
		"genesis": genesis,
		"sender": hex(sender.as_ref()),
		"root": root,
		"anchoredAt": 1,
		"anchorBlock": header.hash(),
		"evidence": evidence,
		"expected": { "anchor": { "count": 1, "anchoredAt": 1 }, "device": hex(&[7; 32]), "added": 1 },
	})
}

/// `vector`'s evidence checked from its chain spec.
fn check_vector(vector: &serde_json::Value) -> Result<Proven, ProofError> {
	let trusted = Genesis::from_spec(&vector["spec"])?;
	let field = |name: &str| -> H256 { serde_json::from_value(vector[name].clone()).expect(name) };
	let sender = AccountId32::from(
		array_bytes::hex2array::<_, 32>(vector["sender"].as_str().expect("sender")).expect("hex"),
	);
	let evidence: Evidence = serde_json::from_value(vector["evidence"].clone())
		.map_err(|e| ProofError::Format(e.to_string()))?;
	check(
		&trusted,
		field("genesis"),
		&evidence,
		(&sender, &field("root")),
		(1, field("anchorBlock")),
	)
}

#[test]
fn the_documented_vector_is_built_from_the_dev_keys_and_checks() {
	let built = build();
	let text = serde_json::to_string_pretty(&built).expect("JSON") + "\n";
	if std::env::var_os("QUARKS_UPDATE_VECTORS").is_some() {
		std::fs::write(VECTOR, &text).expect("writes the vector");
	}
	let kept = std::fs::read_to_string(VECTOR).expect("docs/vectors/evidence.json");
	assert_eq!(kept, text, "the vector changed: QUARKS_UPDATE_VECTORS=1 rewrites it");

	let vector: serde_json::Value = serde_json::from_str(&kept).expect("JSON");
	let proven = check_vector(&vector).expect("the vector checks");
	let anchor = proven.anchor.expect("the anchor is in the state");
	assert_eq!((anchor.count, anchor.anchored_at), (1, 1));
	assert_eq!(proven.devices.len(), 1);
	assert_eq!((proven.devices[0].key, proven.devices[0].added), ([7; 32], 1));
}

#[test]
fn the_vector_fails_after_any_byte_of_its_evidence_changes() {
	let vector = build();
	let evidence: Evidence = serde_json::from_value(vector["evidence"].clone()).expect("evidence");
	let mut parts: Vec<(String, Vec<u8>)> = vec![
		("header".into(), evidence.header.0.clone()),
		("finality".into(), evidence.finality.0.clone()),
		("handOffs".into(), evidence.hand_offs.0.clone()),
	];
	for (i, node) in evidence.state.iter().enumerate() {
		parts.push((format!("state {i}"), node.0.clone()));
	}
	for (name, bytes) in parts {
		for at in 0..bytes.len() {
			let mut changed = evidence.clone();
			let mut altered = bytes.clone();
			altered[at] ^= 1;
			match name.as_str() {
				"header" => changed.header = altered.into(),
				"finality" => changed.finality = altered.into(),
				"handOffs" => changed.hand_offs = altered.into(),
				state => {
					let i: usize = state["state ".len()..].parse().expect("an index");
					changed.state[i] = altered.into();
				}
			}
			let mut tampered = vector.clone();
			tampered["evidence"] = serde_json::to_value(&changed).expect("JSON");
			assert!(check_vector(&tampered).is_err(), "{name} byte {at} changed and still checks");
		}
	}
}
