//! Figures for docs/performance.md: the cost of sealing and opening one message at 1 KiB
//! and 16 KiB, next to the cost of each primitive it uses. Nothing is asserted; run with
//!
//!     cargo bench --profile dev -p quarks-client --bench seal

use aes_gcm::{
	aead::{Aead, KeyInit, Payload},
	Aes256Gcm, Nonce,
};
use hkdf::Hkdf;
use quarks_client::{
	dev::{encryption_public, encryption_secret},
	seal::{open, seal, Letter, OpenWith, SealFor},
};
use quarks_primitives::envelope::hash_of;
use sha2::Sha256;
use sp_core::{crypto::AccountId32, sr25519, Pair};
use std::{hint::black_box, time::Instant};
use x25519_dalek::{PublicKey, StaticSecret};

/// Microseconds per call of `f`, the median of 5 runs of `n` calls.
fn micros(n: u32, mut f: impl FnMut()) -> f64 {
	let mut runs: Vec<f64> = (0..5)
		.map(|_| {
			let start = Instant::now();
			for _ in 0..n {
				f();
			}
			start.elapsed().as_secs_f64() * 1e6 / f64::from(n)
		})
		.collect();
	runs.sort_by(f64::total_cmp);
	runs[2]
}

fn main() {
	let alice = sr25519::Pair::from_string("//Alice", None).expect("dev key");
	let bob: AccountId32 =
		sr25519::Pair::from_string("//Bob", None).expect("dev key").public().into();
	let bob_key = encryption_public("Bob");
	let bob_secret = encryption_secret("Bob");

	println!("| operation | 1 KiB class | 16 KiB class |");
	println!("|---|---|---|");
	// The largest letters that fit each class.
	let sizes = [("1 KiB", 880usize), ("16 KiB", 16_000usize)];
	let mut rows: Vec<(String, Vec<f64>)> = Vec::new();
	let mut add = |name: &str, value: f64| match rows.iter_mut().find(|(n, _)| n == name) {
		Some((_, values)) => values.push(value),
		None => rows.push((name.to_owned(), vec![value])),
	};
	for (_, len) in sizes {
		let letter = Letter { sent_at: 1, content: vec![7u8; len] };
		let to = || SealFor::Direct { account: &bob, key: &bob_key, version: 1 };
		let sealed = seal(&alice, to(), &letter).expect("fits").bytes;
		let secret = |_| Some(bob_secret.clone());
		add(
			"seal 1:1 (whole)",
			micros(200, || {
				black_box(seal(&alice, to(), &letter).expect("fits"));
			}),
		);
		add(
			"open 1:1 (whole, signature checked)",
			micros(200, || {
				black_box(
					open(&sealed, OpenWith::Direct { me: &bob, secret: &secret }).expect("opens"),
				);
			}),
		);
		let group_key = [9u8; 32];
		let group = || SealFor::Group { group: 0, epoch: 1, key: &group_key };
		let sealed_group = seal(&alice, group(), &letter).expect("fits").bytes;
		add(
			"seal group (whole)",
			micros(200, || {
				black_box(seal(&alice, group(), &letter).expect("fits"));
			}),
		);
		add(
			"open group (whole)",
			micros(200, || {
				black_box(
					open(&sealed_group, OpenWith::Group { group: 0, epoch: 1, key: &group_key })
						.expect("opens"),
				);
			}),
		);

		// The primitives, on inputs of the same size.
		let body = vec![0u8; sealed.len() - 100];
		add(
			"X25519 key generation + DH",
			micros(200, || {
				let ephemeral = StaticSecret::from([5u8; 32]);
				black_box(PublicKey::from(&ephemeral));
				black_box(ephemeral.diffie_hellman(&PublicKey::from(bob_key)));
			}),
		);
		add(
			"HKDF-SHA256 (32-byte key)",
			micros(2_000, || {
				let mut key = [0u8; 32];
				Hkdf::<Sha256>::new(Some(&[1u8; 64]), &[2u8; 32])
					.expand(b"info", &mut key)
					.expect("32");
				black_box(key);
			}),
		);
		let cipher = Aes256Gcm::new(&[3u8; 32].into());
		let nonce = Nonce::from_slice(&[0u8; 12]);
		let ciphertext = cipher.encrypt(nonce, Payload { msg: &body, aad: b"header" }).expect("ok");
		add(
			"AES-256-GCM encrypt",
			micros(500, || {
				black_box(
					cipher.encrypt(nonce, Payload { msg: &body, aad: b"header" }).expect("ok"),
				);
			}),
		);
		add(
			"AES-256-GCM decrypt",
			micros(500, || {
				black_box(
					cipher
						.decrypt(nonce, Payload { msg: &ciphertext, aad: b"header" })
						.expect("ok"),
				);
			}),
		);
		let message = vec![1u8; len + 100];
		let signature = alice.sign(&message);
		add(
			"sr25519 sign",
			micros(200, || {
				black_box(alice.sign(&message));
			}),
		);
		add(
			"sr25519 verify",
			micros(200, || {
				black_box(sr25519::Pair::verify(&signature, &message, &alice.public()));
			}),
		);
		add(
			"BLAKE2-256 of the envelope",
			micros(2_000, || {
				black_box(hash_of(&sealed));
			}),
		);
	}
	for (name, values) in rows {
		println!("| {name} | {:.1} µs | {:.1} µs |", values[0], values[1]);
	}
}
