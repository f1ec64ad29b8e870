//! `quarks`: the Quarks chat client's command line. The logic and its policies live in the
//! library (`quarks_client`); this binary parses arguments, asks for the passphrase and
//! prints, one module per group of commands.

mod args;
mod audit;
mod chat;
mod chats;
mod contacts;
mod groups;
mod hosts;
mod identity;
mod input;
mod json;
mod mail;
mod output;
mod serve;

use args::{Cli, Command, HostsCommand, KeysCommand};
use clap::Parser;
use input::Fallible;
use quarks_client::SS58_PREFIX;
use sp_core::crypto::Ss58AddressFormat;
use std::{path::PathBuf, process::ExitCode};

#[tokio::main]
async fn main() -> ExitCode {
	let mut cli = Cli::parse();
	cli.url = Some(
		cli.url
			.or_else(|| std::env::var("QUARKS_URL").ok())
			.unwrap_or_else(|| "ws://127.0.0.1:9944".into()),
	);
	cli.keystore = Some(
		cli.keystore
			.or_else(|| std::env::var_os("QUARKS_KEYSTORE").map(PathBuf::from))
			.unwrap_or_else(|| PathBuf::from("quarks-keystore.json")),
	);
	cli.chain_spec =
		cli.chain_spec.or_else(|| std::env::var_os("QUARKS_CHAIN_SPEC").map(PathBuf::from));
	// Print addresses in the chain's own format; both it and the generic one are read.
	sp_core::crypto::set_default_ss58_version(Ss58AddressFormat::custom(SS58_PREFIX));
	let outcome = run(&cli).await;
	input::warn_of_disagreements();
	match outcome {
		Ok(()) => ExitCode::SUCCESS,
		Err(e) => {
			eprintln!("error: {e}");
			ExitCode::FAILURE
		}
	}
}

async fn run(cli: &Cli) -> Fallible<()> {
	match &cli.command {
		Command::Chat(args) => chat::run(cli, args).await,
		Command::Serve(args) => serve::run(cli, args).await,
		Command::Init(args) => identity::init(cli, args).await,
		Command::Whoami => identity::whoami(cli).await,
		Command::Device(command) => identity::device_command(cli, command).await,
		Command::Keys(KeysCommand::Update { group }) => identity::keys_update(cli, group).await,
		Command::Contact(command) => contacts::contact(cli, command).await,
		Command::Invite { link } => contacts::invite(cli, *link).await,
		Command::Pay { to, amount } => identity::pay(cli, to, amount).await,
		Command::Hosts(HostsCommand::List) => hosts::list(cli).await,
		Command::Hosts(HostsCommand::Choose { operators }) => hosts::choose(cli, operators).await,
		Command::Hosts(HostsCommand::Clear) => hosts::clear(cli).await,
		Command::Group(command) => groups::group(cli, command).await,
		Command::Send(args) => mail::send(cli, args).await,
		Command::Chats { json } => chats::list(cli, *json).await,
		Command::History(args) => chats::history(cli, args).await,
		Command::Inbox(args) => mail::inbox(cli, args).await,
		Command::Delete(args) => mail::delete(cli, args).await,
		Command::Watch(args) => mail::watch(cli, args).await,
		Command::Open { file } => mail::open(cli, file).await,
		Command::Audit(args) => audit::audit(cli, args).await,
		Command::Prove { hash, output } => audit::prove(cli, hash, output).await,
		Command::VerifyProof { file, offline: true } => match &cli.chain_spec {
			Some(spec) => audit::verify_proof_offline(file, spec),
			None => Err("--offline checks from the network's chain spec: give --chain-spec".into()),
		},
		Command::VerifyProof { file, .. } => audit::verify_proof(cli, file).await,
	}
}
