//! The types of the node's chain client and transaction pool, which the service builds and
//! the network and hosting services use.

use quarks_runtime::{apis::RuntimeApi, opaque::Block};
use sc_client_api::Backend;

/// The chain client: blocks and state, with the runtime executed as WASM.
pub(crate) type FullClient = sc_service::TFullClient<
	Block,
	RuntimeApi,
	sc_executor::WasmExecutor<sp_io::SubstrateHostFunctions>,
>;
/// The client's database backend.
pub(crate) type FullBackend = sc_service::TFullBackend<Block>;
/// The transaction pool.
pub(crate) type TransactionPool = sc_transaction_pool::TransactionPoolHandle<Block, FullClient>;
/// The backend's offchain storage, where the relay queue lives.
pub(crate) type OffchainStorage = <FullBackend as Backend<Block>>::OffchainStorage;
