//! This identity, its devices and funds: `init`, `whoami`, `device`, `keys update`, `pay`.

use crate::{args::*, input::*, output::*};
use quarks_client::{
	chain::{Qrk, Wait},
	hosts,
	keystore::{Identity, Keystore},
	queries, BlockNumber,
};
use quarks_primitives::GroupId;

/// Creates the keystore of a new identity, or of a new device of an account.
pub async fn init(cli: &Cli, args: &InitArgs) -> Fallible<()> {
	let identity = match (&args.dev, &args.suri) {
		(Some(name), _) => Identity::development(name),
		(None, Some(suri)) => Identity::from_suri(suri)?,
		(None, None) => Identity::generate(),
	};
	let keystore = Keystore::create(cli.keystore(), &passphrase(true)?, identity, args.kdf_log_n)?;
	println!("created {}", cli.keystore().display());
	println!("account {}", address(&keystore.identity.account()?));
	if args.dev.is_none() && args.suri.is_none() {
		println!(
			"secret phrase (write it down; it restores the account): {}",
			keystore.identity.suri
		);
	}
	let seed = keystore.identity.device_seed;
	let key =
		quarks_client::mls::Device::from_seed(keystore.identity.account()?, seed)?.signature_key();
	println!("device {} (register it with `quarks device register`)", device(&key));
	Ok(())
}

/// Shows the account, this device's registration and the chosen hosts.
pub async fn whoami(cli: &Cli) -> Fallible<()> {
	let m = messenger(cli).await?;
	println!("account {}", address(m.account()));
	let holdings = m.chain.holdings(m.account()).await?;
	println!("balance {}", holdings.free);
	println!(
		"held {} (deposits for devices, hosts and conversations, returned as they go)",
		holdings.held
	);
	let this = m.device_key();
	let bound = queries::devices(&m.chain, m.account()).await?.contains(&this);
	let package = queries::key_package(&m.chain, &this).await?;
	match (bound, package) {
		(true, Some(p)) => println!(
			"device {} registered, key package valid until block #{}",
			device(&this),
			p.expires_at
		),
		(true, None) => println!(
			"device {} registered, its key package expired (run `quarks device register`)",
			device(&this)
		),
		(false, _) => {
			println!("device {} not registered (run `quarks device register`)", device(&this))
		}
	}
	for host in hosts::chosen(&m.chain, m.account()).await? {
		println!("host {} at {}", address(&host.operator), host.endpoint());
	}
	Ok(())
}

pub async fn device_command(cli: &Cli, command: &DeviceCommand) -> Fallible<()> {
	let m = messenger(cli).await?;
	match command {
		DeviceCommand::Register { days } => {
			let steps = Steps::new("registering this device");
			let blocks_per_day =
				86_400_000u64.saturating_div(m.chain.block_time_ms().await?.max(1));
			let expires = m
				.register_device(
					days.saturating_mul(BlockNumber::try_from(blocks_per_day)?),
					Wait::Finalized,
					&mut steps.reporter(),
				)
				.await?;
			steps.done();
			println!(
				"device {} registered, key package valid until block #{expires}",
				device(&m.device_key())
			);
		}
		DeviceCommand::List => {
			let this = m.device_key();
			for key in queries::devices(&m.chain, m.account()).await? {
				let marker = if key == this { "* " } else { "  " };
				println!("{marker}{}", device(&key));
			}
		}
		DeviceCommand::Remove { device: key } => {
			let key = parse_device(key)?;
			let steps = Steps::new("removing the device");
			let outcomes = m.retire_device(&key, &mut steps.reporter()).await?;
			steps.done();
			println!("device {} removed", device(&key));
			for (group, outcome) in outcomes {
				match outcome {
					Ok(Some(epoch)) => println!("group {group}: without it from epoch {epoch}"),
					Ok(None) => {}
					Err(e) => println!("group {group}: {e}"),
				}
			}
		}
		DeviceCommand::Forget => {
			let steps = Steps::new("dropping the records of removed devices");
			m.drop_device_records(&mut steps.reporter()).await?;
			steps.done();
			println!("records dropped; their part of the deposit is returned");
		}
	}
	Ok(())
}

/// Updates this device's keys in one group or every group.
pub async fn keys_update(cli: &Cli, group: &Option<GroupId>) -> Fallible<()> {
	let m = messenger(cli).await?;
	let steps = Steps::new("updating this device's keys");
	let outcomes = m.update_keys(*group, &mut steps.reporter()).await;
	steps.done();
	let mut failed = 0u32;
	for (group, outcome) in outcomes {
		match outcome {
			Ok(Some(epoch)) => println!("group {group}: keys updated, epoch {epoch}"),
			Ok(None) => {}
			Err(e) => {
				failed = failed.saturating_add(1);
				println!("group {group}: {e}");
			}
		}
	}
	if failed > 0 {
		return Err(format!("{failed} group(s) not updated").into());
	}
	Ok(())
}

/// Sends `amount` QRK to account `to`, showing the fee first.
pub async fn pay(cli: &Cli, to: &str, amount: &str) -> Fallible<()> {
	let m = messenger(cli).await?;
	let to = m.resolve(to)?;
	let amount: Qrk = amount.parse()?;
	let fee = m.payment_fee(&to, amount).await?;
	println!("sending {amount} to {} (fee about {fee})", address(&to));
	let steps = Steps::new("paying");
	m.pay(&to, amount, &mut steps.reporter()).await?;
	steps.done();
	println!("paid; you now hold {}", m.chain.free_balance(m.account()).await?);
	Ok(())
}
