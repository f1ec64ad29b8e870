//! What the chain proves: `audit`, `prove`, `verify-proof`.

use crate::{args::*, input::*, output::*};
use quarks_client::{
	proofs::{self, Proof, Verified},
	seal::Content,
};
use sp_core::H256;
use std::path::Path;

pub async fn audit(cli: &Cli, args: &AuditArgs) -> Fallible<()> {
	let m = messenger(cli).await?;
	let items = match (&args.hash, &args.with, args.group) {
		(Some(hash), _, _) => vec![(*hash, m.store.get(hash)?.ok_or("not in the local store")?)],
		(None, Some(peer), _) => {
			let peer = m.resolve(peer)?;
			let group = m.database.direct(&peer)?.ok_or("no conversation with them")?;
			proofs::conversation(&m, group)?
		}
		(None, None, Some(group)) => proofs::conversation(&m, group)?,
		_ => Vec::new(),
	};
	let mut reports = Vec::new();
	for (hash, envelope) in items {
		let (membership, key) = (m.store.membership(&hash)?, m.store.message_key(&hash)?);
		match proofs::audit(&m.chain, &envelope, membership, key).await? {
			Some(report) => reports.push(report),
			None => println!(
				"{hash:?}: no final anchor (not yet final, never anchored, or pruned after 7 days)"
			),
		}
	}
	reports.sort_by_key(|r| r.anchored_at);
	for r in reports {
		println!("{:?}", r.hash);
		println!(
			"  anchored in block #{} {} by {}, leaf {} of {} under root {:?}",
			r.anchored_at,
			r.anchor_block.map(|h| format!("{h:?}")).unwrap_or_default(),
			address(&r.sender),
			r.membership.proof.leaf_index.saturating_add(1),
			r.membership.proof.leaf_count,
			r.membership.root,
		);
		match r.device {
			Some((key, true)) => {
				println!("  signed by device {}, bound to the sender then", device(&key))
			}
			Some((key, false)) => {
				println!("  signed by device {}, NOT bound to the sender then", device(&key))
			}
			None => {}
		}
		println!("  to {}, size class {}", describe(&r.leaf.destination), r.leaf.size_class);
		for recipient in r.recipients {
			println!(
				"  {}: {}",
				address(&recipient.account),
				recipient.receipt.map_or("not acknowledged".into(), |b| format!(
					"delivered, receipt in block #{b}"
				))
			);
		}
	}
	Ok(())
}

/// Writes the proof of one received message.
pub async fn prove(cli: &Cli, hash: &H256, output: &Path) -> Fallible<()> {
	let m = messenger(cli).await?;
	let proof = proofs::prove(&m, hash).await?;
	std::fs::write(output, serde_json::to_vec_pretty(&proof)?)?;
	println!("proof of {hash:?} written to {}", output.display());
	Ok(())
}

fn read_proof(file: &Path) -> Fallible<Proof> {
	Ok(serde_json::from_slice(&std::fs::read(file)?)
		.map_err(|e| format!("{}: not a proof: {e}", file.display()))?)
}

/// Checks a proof against the chain, with no secret; from `spec`'s genesis if given, else
/// trusting the node's finality on first use.
pub async fn verify_proof(cli: &Cli, file: &Path) -> Fallible<()> {
	let proof = read_proof(file)?;
	let chain = crate::input::connect(cli).await?;
	if let Some(spec) = &cli.chain_spec {
		chain.trust(read_spec(spec)?.checkpoint(chain.genesis())?).await?;
	}
	show(&proofs::verify(&chain, &proof).await?);
	if cli.chain_spec.is_none() {
		println!(
			"  finality trusted from the node's first answer: --chain-spec follows it from genesis"
		);
	}
	Ok(())
}

/// Checks a proof with no node: from the chain spec's genesis to the anchoring block.
pub fn verify_proof_offline(file: &Path, spec: &Path) -> Fallible<()> {
	let proof = read_proof(file)?;
	show(&proofs::verify_offline(&read_spec(spec)?, &proof)?);
	println!("  checked offline, from the chain spec's genesis: no node was asked");
	Ok(())
}

fn show(verified: &Verified) {
	println!("valid proof: {:?}", verified.hash);
	println!(
		"  sender   {} (signature of its device {} verified)",
		address(&verified.sender),
		device(&verified.device)
	);
	println!("  to       {}", describe(&verified.destination));
	println!(
		"  anchored in finalized block #{}, the device bound to the sender then",
		verified.anchored_at
	);
	match &verified.content {
		Some(Content::Text(text)) => println!("  message  {text}"),
		Some(Content::Read(hashes)) => println!("  read receipt for {} message(s)", hashes.len()),
		None => println!("  message  {} bytes", verified.letter.content.len()),
	}
}
