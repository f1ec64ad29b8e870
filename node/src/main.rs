//! The Quarks node.

mod chain_spec;
mod cli;
mod client;
mod command;
mod finality;
mod hosting;
mod network;
mod operator;
mod public_rpc;
mod rpc;
mod service;

fn main() -> sc_cli::Result<()> {
	command::run()
}
