//! The user's mail hosts: `hosts list`, `hosts choose`, `hosts clear`.

use crate::{args::*, input::*, output::*};
use quarks_client::hosts;

/// Lists the admitted hosts, marking this account's.
pub async fn list(cli: &Cli) -> Fallible<()> {
	let m = messenger(cli).await?;
	let block_ms = m.chain.block_time_ms().await?;
	for (host, mine) in hosts::admitted_marking(&m.chain, m.account()).await? {
		let marker = if mine { "*" } else { " " };
		println!(
			"{marker} {} {} keeps mail {}, up to {} per user",
			address(&host.operator),
			host.endpoint(),
			duration(u64::from(host.info.retention).saturating_mul(block_ms) / 1000),
			bytes(host.info.user_quota)
		);
	}
	Ok(())
}

/// Records this account's choice of hosts.
pub async fn choose(cli: &Cli, operators: &[String]) -> Fallible<()> {
	let m = messenger(cli).await?;
	let operators = operators.iter().map(|o| m.resolve(o)).collect::<Result<Vec<_>, _>>()?;
	let steps = Steps::new("recording your choice of hosts");
	m.choose_hosts(&operators, &mut steps.reporter()).await?;
	steps.done();
	println!("your mail now goes to {} host(s)", operators.len());
	Ok(())
}

/// Clears this account's choice of hosts, returning its deposit.
pub async fn clear(cli: &Cli) -> Fallible<()> {
	let m = messenger(cli).await?;
	let steps = Steps::new("clearing your choice of hosts");
	m.clear_hosts(&mut steps.reporter()).await?;
	steps.done();
	println!("no host keeps your mail now; the choice's deposit is returned");
	Ok(())
}
