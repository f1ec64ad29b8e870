//! Sending and reading: `send`, `inbox`, `delete`, `watch`, `open`.

use crate::{args::*, input::*, output::*};
use quarks_client::inbox::{ReadOptions, Update};
use std::{
	path::Path,
	time::{Duration, Instant},
};

/// Sends a message, then anchors it.
pub async fn send(cli: &Cli, args: &SendArgs) -> Fallible<()> {
	let m = messenger(cli).await?;
	let sent = match (args.group, &args.to) {
		(Some(group), _) => m.send_group(group, &args.text).await?,
		(None, to) => {
			m.send_direct(&m.resolve(to.as_deref().unwrap_or_default())?, &args.text).await?
		}
	};
	println!(
		"sent {:?} to {}: handed to the node, which delivers it now",
		sent.hash,
		describe(&sent.leaf.destination)
	);
	if let Some(file) = &args.save_envelope {
		let bytes = m.store.get(&sent.hash)?.ok_or("envelope missing from the store")?;
		std::fs::write(file, bytes)?;
	}
	let steps = Steps::new("anchoring it on chain");
	let notarized = m
		.notarize(std::slice::from_ref(&sent), wait_for(args.finalized), &mut steps.reporter())
		.await?;
	steps.done();
	let state = if notarized.included.finalized { "finalized" } else { "included" };
	println!("anchored in block #{} ({state})", notarized.included.block_number);
	Ok(())
}

/// Reads what the hosts keep until it settles.
pub async fn inbox(cli: &Cli, args: &InboxArgs) -> Fallible<()> {
	let m = messenger(cli).await?;
	let mut shown = 0usize;
	let options = ReadOptions {
		timeout: Some(Duration::from_secs(args.timeout)),
		..read_options(false, !args.no_ack)
	};
	m.read_mail(options, &mut |update| {
		if matches!(update, Update::Shown(r) if r.letter().is_some()) {
			shown = shown.saturating_add(1);
		}
		report(update)
	})
	.await?;
	if shown == 0 {
		println!("no mail");
	}
	Ok(())
}

/// Follows every chosen host's mailbox until `--count` messages settled or `--timeout`,
/// keeping this device's groups in line with the chain meanwhile.
pub async fn watch(cli: &Cli, args: &WatchArgs) -> Fallible<()> {
	let m = messenger(cli).await?;
	eprintln!("watching for mail to {} (Ctrl-C to stop)", address(m.account()));
	let options = ReadOptions {
		count: args.count,
		timeout: args.timeout.map(Duration::from_secs),
		sync_every: Some(Duration::from_secs(args.sync_every.max(1))),
		update_every: (args.update_every > 0).then(|| Duration::from_secs(args.update_every)),
		..read_options(true, !args.no_ack)
	};
	m.read_mail(options, &mut report).await?;
	Ok(())
}

/// Deletes mail at the hosts: the hashes given, and everything from `--from`.
pub async fn delete(cli: &Cli, args: &DeleteArgs) -> Fallible<()> {
	let m = messenger(cli).await?;
	let mut hashes = args.hashes.clone();
	if let Some(sender) = &args.from {
		hashes.extend(m.mail_from(&m.resolve(sender)?).await?);
	}
	let deleted = m.delete_mail(&hashes).await?;
	println!("{} envelope(s) asked, {deleted} cop(ies) deleted at your hosts", hashes.len());
	Ok(())
}

/// Opens an envelope file with every check.
pub async fn open(cli: &Cli, file: &Path) -> Fallible<()> {
	let m = messenger(cli).await?;
	let bytes = std::fs::read(file)?;
	let mut received = m
		.open_envelope(&bytes)
		.await
		.map_err(|e| format!("cannot read {}: {e}", file.display()))?;
	// A fresh anchor may not be final yet; give finality half a minute.
	let started = Instant::now();
	while !received.notarization.is_settled() && started.elapsed() < Duration::from_secs(30) {
		tokio::time::sleep(Duration::from_secs(1)).await;
		m.check_notarization(&mut received).await?;
	}
	show(&received);
	Ok(())
}
