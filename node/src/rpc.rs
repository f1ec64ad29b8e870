//! The node's JSON-RPC methods beyond the ones `sc-service` installs, with Quarks' own
//! `quarks_*` namespace (crate::hosting::rpc).

use std::sync::Arc;

use crate::{
	client::FullBackend,
	finality::{Finality, FinalityApiServer},
	hosting::rpc::{Quarks, QuarksApiServer, Services},
};
use jsonrpsee::RpcModule;
use quarks_primitives::hosting::HostingApi;
use quarks_runtime::{opaque::Block, AccountId, Balance, BlockNumber, Nonce};
use sc_client_api::BlockchainEvents;
use sc_transaction_pool_api::TransactionPool;
use sp_api::ProvideRuntimeApi;
use sp_block_builder::BlockBuilder;
use sp_blockchain::{Error as BlockChainError, HeaderBackend, HeaderMetadata};
use sp_core::offchain::OffchainStorage;

/// What the RPC methods need from the node.
pub struct FullDeps<C, P, S> {
	/// The client instance to use.
	pub client: Arc<C>,
	/// Transaction pool instance.
	pub pool: Arc<P>,
	/// Quarks' relay, direct push and host.
	pub quarks: Services<C, S>,
	/// GRANDPA finality proofs.
	pub finality: Finality<FullBackend>,
}

/// The RPC methods of a full node.
pub fn create_full<C, P, S>(
	deps: FullDeps<C, P, S>,
) -> Result<RpcModule<()>, Box<dyn std::error::Error + Send + Sync>>
where
	C: ProvideRuntimeApi<Block> + BlockchainEvents<Block>,
	C: HeaderBackend<Block> + HeaderMetadata<Block, Error = BlockChainError> + 'static,
	C: Send + Sync + 'static,
	C::Api: HostingApi<Block, AccountId, BlockNumber>,
	C::Api: substrate_frame_rpc_system::AccountNonceApi<Block, AccountId, Nonce>,
	C::Api: pallet_transaction_payment_rpc::TransactionPaymentRuntimeApi<Block, Balance>,
	C::Api: BlockBuilder<Block>,
	P: TransactionPool + 'static,
	S: OffchainStorage + 'static,
{
	use pallet_transaction_payment_rpc::{TransactionPayment, TransactionPaymentApiServer};
	use substrate_frame_rpc_system::{System, SystemApiServer};

	let mut module = RpcModule::new(());
	let FullDeps { client, pool, quarks, finality } = deps;

	module.merge(System::new(client.clone(), pool).into_rpc())?;
	module.merge(TransactionPayment::new(client.clone()).into_rpc())?;
	module.merge(Quarks::new(client, quarks).into_rpc())?;
	module.merge(finality.into_rpc())?;

	Ok(module)
}
