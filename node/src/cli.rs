//! Command-line interface: the standard Substrate node CLI plus Quarks' subcommands.

use sc_cli::RunCmd;

/// The Quarks node.
#[derive(Debug, clap::Parser)]
pub struct Cli {
	#[command(subcommand)]
	pub subcommand: Option<Subcommand>,

	#[clap(flatten)]
	pub run: RunCmd,

	#[clap(flatten)]
	pub hosting: HostingParams,

	#[clap(flatten)]
	pub public_rpc: PublicRpcParams,
}

/// The public RPC endpoint: safe methods with limits per caller address.
#[derive(Debug, Clone, clap::Args)]
pub struct PublicRpcParams {
	/// Serve the safe JSON-RPC methods to the open network on this address (HTTP and
	/// WebSocket), with limits per caller address; `--rpc-port` stays the operator's.
	///
	/// Callers are counted by IP address, IPv6 by /64 (docs/operations.md, "Mail hosts").
	#[arg(long, value_name = "ADDR")]
	pub public_rpc_addr: Option<std::net::SocketAddr>,

	/// A proxy in front of the public endpoint (TLS, say): the caller of each request it
	/// forwards is the address in its `X-Real-IP` header, which the proxy must set; its
	/// connections count only toward the endpoint's total, so the proxy limits those.
	#[arg(long, value_name = "IP/PREFIX")]
	pub public_rpc_proxy: Vec<sc_service::config::IpNetwork>,

	/// Connections one address may hold open on the public endpoint; more are answered
	/// 429 and closed.
	#[arg(long, value_name = "COUNT", default_value = "8")]
	pub public_rpc_connections_per_ip: std::num::NonZeroU32,

	/// Calls one address may make per minute on the public endpoint, all at once or spread
	/// out; more are refused with error -32999 until the budget refills.
	#[arg(long, value_name = "CALLS", default_value = "1200")]
	pub public_rpc_calls_per_ip: std::num::NonZeroU32,

	/// Connections the public endpoint holds open in all.
	#[arg(long, value_name = "COUNT", default_value = "1000")]
	pub public_rpc_max_connections: std::num::NonZeroU32,

	/// Seconds an HTTP connection to the public endpoint may go without a request before it
	/// is closed (WebSockets are pinged instead).
	#[arg(long, value_name = "SECONDS", default_value = "30")]
	pub public_rpc_idle_timeout: std::num::NonZeroU32,
}

/// Running a mail host.
#[derive(Debug, Clone, clap::Args)]
pub struct HostingParams {
	/// Host mail as the admitted host operated by this account (SS58 or 0x-hex).
	///
	/// The node then accepts anchored envelopes for users who chose this host, serves
	/// their signed mailbox requests, and deletes mail once every device of its recipient
	/// that counts says it has it.
	#[arg(long, value_name = "OPERATOR", value_parser = parse_account)]
	pub host: Option<quarks_runtime::AccountId>,

	/// Keep hosted mail in memory only: nothing is written to disk, and a restart loses it.
	#[arg(long, requires = "host")]
	pub host_in_memory: bool,
}

fn parse_account(text: &str) -> Result<quarks_runtime::AccountId, String> {
	use sp_core::crypto::Ss58Codec;
	if let Some(hex) = text.strip_prefix("0x") {
		let bytes: [u8; 32] = array_bytes::hex2array(hex).map_err(|e| format!("{e:?}"))?;
		return Ok(bytes.into());
	}
	sp_core::crypto::AccountId32::from_ss58check_with_version(text)
		.map(|(account, _)| account)
		.map_err(|e| format!("not an SS58 address: {e}"))
}

/// Node subcommands: those of `sc-cli`, and the operators' `network` tools.
#[derive(Debug, clap::Subcommand)]
#[allow(clippy::large_enum_variant)]
pub enum Subcommand {
	/// Key management CLI utilities.
	#[command(subcommand)]
	Key(sc_cli::KeySubcommand),

	/// Build a chain specification (prefer `export-chain-spec`).
	BuildSpec(sc_cli::BuildSpecCmd),

	/// Export the chain specification.
	ExportChainSpec(sc_cli::ExportChainSpecCmd),

	/// Validate blocks.
	CheckBlock(sc_cli::CheckBlockCmd),

	/// Export blocks.
	ExportBlocks(sc_cli::ExportBlocksCmd),

	/// Export the state of a given block into a chain spec.
	ExportState(sc_cli::ExportStateCmd),

	/// Import blocks.
	ImportBlocks(sc_cli::ImportBlocksCmd),

	/// Remove the whole chain.
	PurgeChain(sc_cli::PurgeChainCmd),

	/// Revert the chain to a previous state.
	Revert(sc_cli::RevertCmd),

	/// Sub-commands concerned with benchmarking (feature `runtime-benchmarks`).
	#[cfg(feature = "runtime-benchmarks")]
	#[command(subcommand)]
	Benchmark(frame_benchmarking_cli::BenchmarkCmd),

	/// Db meta columns information.
	ChainInfo(sc_cli::ChainInfoCmd),

	/// Start a network of your own keys: make a node's keys, write the chain spec.
	#[command(subcommand)]
	Network(crate::operator::NetworkCmd),
}
