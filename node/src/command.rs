//! Parses the command line and runs the node or a subcommand.

use crate::{
	chain_spec,
	cli::{Cli, Subcommand},
	operator::NetworkCmd,
	service,
};
use sc_cli::SubstrateCli;
use sc_service::PartialComponents;

impl SubstrateCli for Cli {
	fn impl_name() -> String {
		"Quarks Node".into()
	}

	fn impl_version() -> String {
		env!("SUBSTRATE_CLI_IMPL_VERSION").into()
	}

	fn description() -> String {
		env!("CARGO_PKG_DESCRIPTION").into()
	}

	fn author() -> String {
		env!("CARGO_PKG_AUTHORS").into()
	}

	fn support_url() -> String {
		"https://quarks.invalid/quarks/issues".into()
	}

	fn copyright_start_year() -> i32 {
		2026
	}

	fn load_spec(&self, id: &str) -> Result<Box<dyn sc_service::ChainSpec>, String> {
		Ok(match id {
			"dev" => Box::new(chain_spec::development_chain_spec()?),
			"" | "local" => Box::new(chain_spec::local_chain_spec()?),
			path => {
				Box::new(chain_spec::ChainSpec::from_json_file(std::path::PathBuf::from(path))?)
			}
		})
	}
}

/// Parse and run command line arguments.
pub fn run() -> sc_cli::Result<()> {
	let cli = Cli::from_args();
	// Read and print addresses in the chain's own format (RPC methods such as
	// `system_accountNextIndex` parse with the default), as wallets and the client do. Not
	// while writing a spec: its genesis JSON goes to the runtime's genesis builder, which
	// reads addresses in the generic format only.
	if !matches!(cli.subcommand, Some(Subcommand::Network(NetworkCmd::Spec(_)))) {
		sp_core::crypto::set_default_ss58_version(sp_core::crypto::Ss58AddressFormat::custom(
			quarks_runtime::configs::SS58Prefix::get(),
		));
	}

	match &cli.subcommand {
		Some(Subcommand::Key(cmd)) => cmd.run(&cli),
		#[allow(deprecated)]
		Some(Subcommand::BuildSpec(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.sync_run(|config| cmd.run(config.chain_spec, config.network))
		}
		Some(Subcommand::ExportChainSpec(cmd)) => {
			let chain_spec = cli.load_spec(&cmd.chain)?;
			cmd.run(chain_spec)
		}
		Some(Subcommand::CheckBlock(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.async_run(|config| {
				let PartialComponents { client, task_manager, import_queue, .. } =
					service::new_partial(&config)?;
				Ok((cmd.run(client, import_queue), task_manager))
			})
		}
		Some(Subcommand::ExportBlocks(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.async_run(|config| {
				let PartialComponents { client, task_manager, .. } = service::new_partial(&config)?;
				Ok((cmd.run(client, config.database), task_manager))
			})
		}
		Some(Subcommand::ExportState(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.async_run(|config| {
				let PartialComponents { client, task_manager, .. } = service::new_partial(&config)?;
				Ok((cmd.run(client, config.chain_spec), task_manager))
			})
		}
		Some(Subcommand::ImportBlocks(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.async_run(|config| {
				let PartialComponents { client, task_manager, import_queue, .. } =
					service::new_partial(&config)?;
				Ok((cmd.run(client, import_queue), task_manager))
			})
		}
		Some(Subcommand::PurgeChain(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.sync_run(|config| cmd.run(config.database))
		}
		Some(Subcommand::Revert(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.async_run(|config| {
				let PartialComponents { client, task_manager, backend, .. } =
					service::new_partial(&config)?;
				let aux_revert = Box::new(|client, _, blocks| {
					sc_consensus_grandpa::revert(client, blocks)?;
					Ok(())
				});
				Ok((cmd.run(client, backend, Some(aux_revert)), task_manager))
			})
		}
		#[cfg(feature = "runtime-benchmarks")]
		Some(Subcommand::Benchmark(cmd)) => {
			use frame_benchmarking_cli::BenchmarkCmd;
			let runner = cli.create_runner(cmd)?;
			runner.sync_run(|config| match cmd {
				BenchmarkCmd::Pallet(cmd) => cmd.run_with_spec::<sp_runtime::traits::HashingFor<
					quarks_runtime::Block,
				>, ()>(Some(config.chain_spec)),
				_ => Err("only `benchmark pallet` is wired for Quarks".into()),
			})
		}
		Some(Subcommand::Network(NetworkCmd::Keys(cmd))) => Ok(cmd.run()?),
		Some(Subcommand::Network(NetworkCmd::Spec(cmd))) => Ok(cmd.run()?),
		Some(Subcommand::ChainInfo(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.sync_run(|config| cmd.run::<quarks_runtime::opaque::Block>(&config))
		}
		None => {
			let runner = cli.create_runner(&cli.run)?;
			let hosting = cli.hosting.clone();
			let public_rpc = cli.public_rpc.clone();
			runner.run_node_until_exit(|config| async move {
				let public_rpc = crate::public_rpc::PublicRpcConfig::new(&public_rpc, &config.rpc);
				let hosting = hosting.host.map(|operator| crate::hosting::HostConfig {
					operator,
					path: (!hosting.host_in_memory).then(|| {
						config.base_path.config_dir(config.chain_spec.id()).join("quarks-host")
					}),
				});
				match config.network.network_backend {
					sc_network::config::NetworkBackendType::Libp2p => {
						service::new_full::<
							sc_network::NetworkWorker<
								quarks_runtime::opaque::Block,
								<quarks_runtime::opaque::Block as sp_runtime::traits::Block>::Hash,
							>,
						>(config, hosting, public_rpc, |config| &mut config.inbound_queue)
						.map_err(sc_cli::Error::Service)
					}
					sc_network::config::NetworkBackendType::Litep2p => {
						service::new_full::<sc_network::Litep2pNetworkBackend>(
							config,
							hosting,
							public_rpc,
							|config| &mut config.inbound_queue,
						)
						.map_err(sc_cli::Error::Service)
					}
				}
			})
		}
	}
}
