//! Runs this runtime's migrations against a live Quarks network's state before the upgrade
//! is voted in (docs/operations.md, "Upgrading the runtime"), as `try-runtime
//! on-runtime-upgrade live` does: the state at the network's finalized block is copied
//! over RPC, then every migration runs with its `pre_upgrade`/`post_upgrade` checks, every
//! pallet's storage must still decode, and every pallet's `try_state` invariants must hold.
//! The runtime is compiled in (natively, with `try-runtime`) rather than loaded from a
//! blob, so no separate CLI at another polkadot-sdk version is needed.
//!
//! ```text
//! quarks-try-runtime ws://127.0.0.1:9944 [--snapshot FILE] [--from Pallet=VERSION]...
//! quarks-try-runtime --offline FILE [--from Pallet=VERSION]...
//! ```
//!
//! `--snapshot` also writes the copied state to FILE, which `--offline` reads back.
//! `--from Keys=0` sets a pallet's storage version in the copy before the run, to rehearse a
//! migration on a network started from this code's genesis (which is at the code's version).

use codec::Encode;
use frame_remote_externalities::{Builder, Mode, OfflineConfig, OnlineConfig, SnapshotConfig};
use frame_support::traits::{PalletInfoData, PalletsInfoAccess};
use frame_try_runtime::UpgradeCheckSelect;
use quarks_runtime::{AllPalletsWithSystem, Block, Executive, Runtime, VERSION};
use sp_runtime::traits::Block as BlockT;
use std::process::ExitCode;

const USAGE: &str = "usage: quarks-try-runtime (URI [--snapshot FILE] | --offline FILE) \
	[--from Pallet=VERSION]...";

/// Where the state comes from, and the storage versions to set in it.
struct Run {
	mode: Mode<<Block as BlockT>::Hash>,
	from: Vec<(PalletInfoData, u16)>,
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Run, String> {
	let (mut uri, mut snapshot, mut offline, mut from) = (None, None, None, Vec::new());
	while let Some(arg) = args.next() {
		let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
		match arg.as_str() {
			"--snapshot" => snapshot = Some(value("--snapshot")?),
			"--offline" => offline = Some(value("--offline")?),
			"--from" => {
				let spec = value("--from")?;
				let (name, version) =
					spec.split_once('=').ok_or(format!("--from {spec}: Pallet=VERSION"))?;
				let pallet = AllPalletsWithSystem::infos()
					.into_iter()
					.find(|p| p.name == name)
					.ok_or(format!("--from {spec}: this runtime has no pallet {name}"))?;
				let version = version.parse().map_err(|_| format!("--from {spec}: a u16"))?;
				from.push((pallet, version));
			}
			_ if uri.is_none() && !arg.starts_with('-') => uri = Some(arg),
			_ => return Err(format!("unexpected argument {arg}")),
		}
	}
	let mode = match (uri, offline) {
		(Some(uri), None) => Mode::Online(OnlineConfig {
			transport_uris: vec![uri],
			state_snapshot: snapshot.map(SnapshotConfig::new),
			..Default::default()
		}),
		(None, Some(file)) if snapshot.is_none() => {
			Mode::Offline(OfflineConfig { state_snapshot: SnapshotConfig::new(file) })
		}
		_ => return Err(USAGE.into()),
	};
	Ok(Run { mode, from })
}

/// The key `StorageVersion::put` writes for a pallet.
fn storage_version_key(pallet: &PalletInfoData) -> Vec<u8> {
	[
		sp_io::hashing::twox_128(pallet.name.as_bytes()),
		sp_io::hashing::twox_128(b":__STORAGE_VERSION__:"),
	]
	.concat()
}

#[tokio::main]
async fn main() -> ExitCode {
	let run = match parse(std::env::args().skip(1)) {
		Ok(run) => run,
		Err(error) => {
			eprintln!("{error}\n{USAGE}");
			return ExitCode::from(2);
		}
	};
	// The runtime's own logs say which check failed and why (decoding, storage versions).
	sp_tracing::try_init_simple();
	let rehearsal = !run.from.is_empty();
	let mut ext = match Builder::<Block>::new().mode(run.mode).build().await {
		Ok(ext) => ext,
		Err(error) => {
			eprintln!("could not copy the network's state: {error}");
			return ExitCode::FAILURE;
		}
	};
	let number = ext.header.number;
	let result = ext.execute_with(|| {
		let on_chain = frame_system::LastRuntimeUpgrade::<Runtime>::get()
			.ok_or("the state names no runtime version (frame_system::LastRuntimeUpgrade)")?;
		println!(
			"state of block #{number}, whose runtime is {} {}; this runtime is {} {}",
			on_chain.spec_name, on_chain.spec_version.0, VERSION.spec_name, VERSION.spec_version,
		);
		// The chain takes only a runtime of its name and a higher version; one that is not
		// newer finds its pallets migrated already, so a pass would prove nothing, unless
		// --from sets a pallet back to rehearse its migration on this state.
		if on_chain.spec_name != VERSION.spec_name {
			return Err("this runtime is not the network's (another spec_name)".into());
		}
		let newer = VERSION.spec_version > on_chain.spec_version.0;
		if VERSION.spec_version < on_chain.spec_version.0 || !(newer || rehearsal) {
			return Err("this runtime is not newer than the network's: nothing would migrate \
				(to rehearse a migration on this state, set its pallet back with --from)"
				.into());
		}
		for (pallet, version) in &run.from {
			println!("set {} to storage version {version}", pallet.name);
			sp_io::storage::set(&storage_version_key(pallet), &version.encode());
		}
		let weight = Executive::try_runtime_upgrade(UpgradeCheckSelect::All)?;
		// A pallet set back must have been moved on: else --from rehearsed nothing.
		for (pallet, version) in &run.from {
			if sp_io::storage::get(&storage_version_key(pallet)) == Some(version.encode().into()) {
				return Err("a pallet set back with --from was not migrated".into());
			}
		}
		let limit = <Runtime as frame_system::Config>::BlockWeights::get().max_block;
		println!(
			"migrations ran, their checks and every pallet's try_state passed; \
			 weight {} of a block's {} (ref time), {} of {} (proof size)",
			weight.ref_time(),
			limit.ref_time(),
			weight.proof_size(),
			limit.proof_size()
		);
		if weight.any_gt(limit) {
			return Err("the migrations weigh more than a block".into());
		}
		Ok::<_, sp_runtime::TryRuntimeError>(())
	});
	match result {
		Ok(()) => ExitCode::SUCCESS,
		Err(error) => {
			eprintln!("the upgrade fails its checks: {error:?}");
			ExitCode::FAILURE
		}
	}
}
