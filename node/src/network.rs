//! The peer-to-peer network, with every request-response protocol behind the on-chain
//! allow-list.
//!
//! pallet-node-authorization's offchain worker gives the network the peers this node may
//! talk to, and the network applies that list to block announcements only: Substrate's
//! request handlers (blocks, state, warp proofs, light-client reads) answer whichever peer
//! connects (docs/security.md, finding 10). `sc_service::build_network` builds those
//! handlers where their inbound queues cannot be reached, so [`build`] is that function
//! (sc-service 0.62, `build_network` with `build_network_advanced`, no IPFS server) with
//! each handler's queue behind a [`Gate`]. Keep it in step with sc-service when
//! polkadot-sdk is upgraded.

use crate::client::{FullClient, TransactionPool};
use futures::{FutureExt, StreamExt};
use parking_lot::RwLock;
use quarks_runtime::{opaque::Block, Runtime};
use sc_client_api::{BlockBackend, BlockchainEvents, HeaderBackend, StorageKey, StorageProvider};
use sc_consensus::ImportQueue;
use sc_network::{
	config::{FullNetworkConfiguration, IncomingRequest, OutgoingResponse, SyncMode},
	service::traits::{NetworkService, PeerStore as _, RequestResponseConfig as _},
	Multiaddr, NetworkBackend, NetworkBlock as _, NetworkPeers, NetworkStateInfo,
	NotificationMetrics, ObservedRole, ProtocolName, ReputationChange,
};
use sc_network_common::role::Roles;
use sc_network_light::light_client_requests::handler::LightClientRequestHandler;
use sc_network_sync::{
	block_relay_protocol::BlockRelayParams,
	block_request_handler::BlockRequestHandler,
	engine::SyncingEngine,
	service::network::NetworkServiceProvider,
	state_request_handler::StateRequestHandler,
	strategy::polkadot::{PolkadotSyncingStrategy, PolkadotSyncingStrategyConfig},
	strategy::warp::WarpSyncProvider,
	warp_request_handler::RequestHandler as WarpRequestHandler,
	SyncingService, WarpSyncConfig,
};
use sc_network_transactions::{TransactionsHandlerController, TransactionsHandlerPrototype};
use sc_network_types::PeerId;
use sc_service::{error::Error as ServiceError, Configuration, TaskManager};
use sc_utils::mpsc::{tracing_unbounded, TracingUnboundedSender};
use sp_core::OpaquePeerId;
use sp_runtime::traits::Block as BlockT;
use std::{
	collections::{BTreeSet, HashSet},
	sync::Arc,
};
use substrate_prometheus_endpoint::{register, CounterVec, Opts, U64};

type Hash = <Block as BlockT>::Hash;

/// Requests waiting between the network and the allow-list check, per protocol. The
/// handler behind keeps its own bounded queue; a request that finds either full is refused.
const GATE_QUEUE: usize = 64;

/// The peers this node serves: those pallet-node-authorization's offchain worker last
/// authorised; at start, what it would authorise at the best block, so that no listed
/// peer is refused before the first offchain run.
#[derive(Clone)]
pub struct AllowList(Arc<RwLock<Authorised>>);

struct Authorised {
	peers: HashSet<PeerId>,
	/// `false` once the chain says any peer may connect (`set_authorized_only(false)`).
	only: bool,
}

impl AllowList {
	/// What the pallet's offchain worker would authorise for `local` at the best block:
	/// its additional connections, and the other well-known nodes if it is one.
	fn from_chain(client: &FullClient, local: PeerId) -> Result<Self, ServiceError> {
		use pallet_node_authorization::{AdditionalConnections, WellKnownNodes};
		let best = client.info().best_hash;
		let local = OpaquePeerId(local.to_bytes());
		let read = |key: &[u8]| -> Result<BTreeSet<OpaquePeerId>, ServiceError> {
			let Some(value) = client.storage(best, &StorageKey(key.to_vec()))? else {
				return Ok(BTreeSet::new());
			};
			codec::Decode::decode(&mut &value.0[..])
				.map_err(|e| ServiceError::Other(format!("node-authorization state: {e}")))
		};
		let mut peers = read(&AdditionalConnections::<Runtime>::hashed_key_for(&local))?;
		let well_known = read(&WellKnownNodes::<Runtime>::hashed_key())?;
		if well_known.contains(&local) {
			peers.extend(well_known.into_iter().filter(|peer| *peer != local));
		}
		let peers: HashSet<_> =
			peers.iter().filter_map(|peer| PeerId::from_bytes(&peer.0).ok()).collect();
		log::info!(
			target: "quarks::network",
			"Allow-list at start: {} peers may send requests",
			peers.len(),
		);
		Ok(Self(Arc::new(RwLock::new(Authorised { peers, only: true }))))
	}

	fn admits(&self, peer: &PeerId) -> bool {
		let authorised = self.0.read();
		!authorised.only || authorised.peers.contains(peer)
	}
}

/// Where a network backend's request-response configuration keeps its inbound queue (the
/// backends' configuration types differ; both have the field).
pub type InboundQueue<C> = fn(&mut C) -> &mut Option<async_channel::Sender<IncomingRequest>>;

/// Puts the allow-list in front of request-response protocols.
struct Gate<'a> {
	allow_list: AllowList,
	/// `quarks_network_refused_requests_total`, by protocol.
	refused: Option<CounterVec<U64>>,
	task_manager: &'a TaskManager,
}

impl Gate<'_> {
	/// Requests from peers not on the allow-list are refused (the requester sees the
	/// refusal) and never reach the protocol's handler.
	fn wrap<C: sc_network::service::traits::RequestResponseConfig>(
		&self,
		mut config: C,
		inbound_queue: InboundQueue<C>,
	) -> C {
		let Some(handler) = inbound_queue(&mut config).take() else { return config };
		let (sender, requests) = async_channel::bounded::<IncomingRequest>(GATE_QUEUE);
		*inbound_queue(&mut config) = Some(sender);
		let protocol = config.protocol_name().clone();
		let refused = self.refused.as_ref().map(|refused| refused.with_label_values(&[&protocol]));
		let allow_list = self.allow_list.clone();
		self.task_manager.spawn_handle().spawn("allow-list-gate", Some("networking"), async move {
			while let Ok(request) = requests.recv().await {
				if allow_list.admits(&request.peer) {
					// A full handler queue drops the request, which refuses it.
					let _ = handler.try_send(request);
					continue;
				}
				log::debug!(
					target: "quarks::network",
					"{protocol}: refused a request from {}, which is not on the allow-list",
					request.peer,
				);
				if let Some(refused) = &refused {
					refused.inc();
				}
				let _ = request.pending_response.send(OutgoingResponse {
					result: Err(()),
					reputation_changes: Vec::new(),
					sent_feedback: None,
				});
			}
		});
		config
	}
}

/// The network's handle for offchain workers: the allow-list pallet-node-authorization
/// sets goes to the network and to [`AllowList`] alike.
pub struct OffchainNetwork {
	network: Arc<dyn NetworkService>,
	allow_list: AllowList,
}

impl OffchainNetwork {
	pub fn new(network: Arc<dyn NetworkService>, allow_list: AllowList) -> Self {
		Self { network, allow_list }
	}
}

impl NetworkStateInfo for OffchainNetwork {
	fn external_addresses(&self) -> Vec<Multiaddr> {
		self.network.external_addresses()
	}
	fn listen_addresses(&self) -> Vec<Multiaddr> {
		self.network.listen_addresses()
	}
	fn local_peer_id(&self) -> PeerId {
		self.network.local_peer_id()
	}
}

#[async_trait::async_trait]
impl NetworkPeers for OffchainNetwork {
	fn set_authorized_peers(&self, peers: HashSet<PeerId>) {
		self.allow_list.0.write().peers = peers.clone();
		self.network.set_authorized_peers(peers);
	}
	fn set_authorized_only(&self, only: bool) {
		self.allow_list.0.write().only = only;
		self.network.set_authorized_only(only);
	}
	fn add_known_address(&self, peer: PeerId, address: Multiaddr) {
		self.network.add_known_address(peer, address)
	}
	fn report_peer(&self, peer: PeerId, change: ReputationChange) {
		self.network.report_peer(peer, change)
	}
	fn peer_reputation(&self, peer: &PeerId) -> i32 {
		self.network.peer_reputation(peer)
	}
	fn disconnect_peer(&self, peer: PeerId, protocol: ProtocolName) {
		self.network.disconnect_peer(peer, protocol)
	}
	fn accept_unreserved_peers(&self) {
		self.network.accept_unreserved_peers()
	}
	fn deny_unreserved_peers(&self) {
		self.network.deny_unreserved_peers()
	}
	fn add_reserved_peer(
		&self,
		peer: sc_network::config::MultiaddrWithPeerId,
	) -> Result<(), String> {
		self.network.add_reserved_peer(peer)
	}
	fn remove_reserved_peer(&self, peer: PeerId) {
		self.network.remove_reserved_peer(peer)
	}
	fn set_reserved_peers(
		&self,
		protocol: ProtocolName,
		peers: HashSet<Multiaddr>,
	) -> Result<(), String> {
		self.network.set_reserved_peers(protocol, peers)
	}
	fn add_peers_to_reserved_set(
		&self,
		protocol: ProtocolName,
		peers: HashSet<Multiaddr>,
	) -> Result<(), String> {
		self.network.add_peers_to_reserved_set(protocol, peers)
	}
	fn remove_peers_from_reserved_set(
		&self,
		protocol: ProtocolName,
		peers: Vec<PeerId>,
	) -> Result<(), String> {
		self.network.remove_peers_from_reserved_set(protocol, peers)
	}
	fn sync_num_connected(&self) -> usize {
		self.network.sync_num_connected()
	}
	fn peer_role(&self, peer: PeerId, handshake: Vec<u8>) -> Option<ObservedRole> {
		self.network.peer_role(peer, handshake)
	}
	async fn reserved_peers(&self) -> Result<Vec<PeerId>, ()> {
		self.network.reserved_peers().await
	}
}

/// What [`build`] starts.
pub struct Network {
	pub service: Arc<dyn NetworkService>,
	pub system_rpc_tx: TracingUnboundedSender<sc_rpc::system::Request<Block>>,
	pub tx_handler_controller: TransactionsHandlerController<Hash>,
	pub sync_service: Arc<SyncingService<Block>>,
	pub allow_list: AllowList,
}

/// What [`build`] takes: `sc_service::BuildNetworkParams` without the parts Quarks
/// leaves at their defaults (block announce validator, block relay, gap sync policy).
pub struct Params<'a, N: NetworkBackend<Block, Hash>> {
	pub config: &'a Configuration,
	pub net_config: FullNetworkConfiguration<Block, Hash, N>,
	pub client: Arc<FullClient>,
	pub transaction_pool: Arc<TransactionPool>,
	pub task_manager: &'a TaskManager,
	pub import_queue: sc_consensus::DefaultImportQueue<Block>,
	pub warp_sync: Arc<dyn WarpSyncProvider<Block>>,
	pub metrics: NotificationMetrics,
	pub inbound_queue: InboundQueue<N::RequestResponseProtocolConfig>,
}

/// Builds and starts the network as `sc_service::build_network` does, with every request
/// handler gated.
pub fn build<N: NetworkBackend<Block, Hash>>(
	params: Params<'_, N>,
) -> Result<Network, ServiceError> {
	let Params {
		config,
		mut net_config,
		client,
		transaction_pool,
		task_manager,
		import_queue,
		warp_sync,
		metrics,
		inbound_queue,
	} = params;
	if client.requires_full_sync() && !matches!(net_config.network_config.sync_mode, SyncMode::Full)
	{
		return Err("an archive node syncs in full (--sync full)".into());
	}
	if net_config.network_config.ipfs_server {
		return Err("Quarks nodes do not serve IPFS (--ipfs-server)".into());
	}
	let spawn = task_manager.spawn_handle();
	let protocol_id = config.protocol_id();
	let fork_id = config.chain_spec.fork_id();
	let registry = config.prometheus_registry();
	let genesis_hash = client.info().genesis_hash;
	let local = config
		.network
		.node_key
		.clone()
		.into_keypair()
		.map_err(|e| ServiceError::Other(format!("node key: {e}")))?
		.public()
		.to_peer_id();
	let allow_list = AllowList::from_chain(&client, local)?;
	let refused = registry
		.map(|registry| {
			register(
				CounterVec::new(
					Opts::new(
						"quarks_network_refused_requests_total",
						"Requests refused because their peer is not on the allow-list, by protocol",
					),
					&["protocol"],
				)?,
				registry,
			)
		})
		.transpose()?;
	let gate = Gate { allow_list: allow_list.clone(), refused, task_manager };
	let network_service_provider = NetworkServiceProvider::new();

	let BlockRelayParams { mut server, downloader, request_response_config } =
		BlockRequestHandler::new::<N>(
			network_service_provider.handle(),
			&protocol_id,
			fork_id,
			client.clone(),
			(config.network.default_peers_set.in_peers as usize)
				.saturating_add(config.network.default_peers_set.out_peers as usize),
		);
	spawn.spawn("block-request-handler", Some("networking"), async move { server.run().await });
	net_config.add_request_response_protocol(gate.wrap(request_response_config, inbound_queue));

	let (handler, state_config) = StateRequestHandler::new::<N>(
		&protocol_id,
		fork_id,
		client.clone(),
		(net_config.network_config.default_peers_set_num_full as usize)
			.saturating_add(net_config.network_config.default_peers_set.reserved_nodes.len()),
	);
	let state_request_protocol_name = state_config.protocol_name().clone();
	spawn.spawn("state-request-handler", Some("networking"), handler.run());
	net_config.add_request_response_protocol(gate.wrap(state_config, inbound_queue));

	let (handler, warp_config) = WarpRequestHandler::new::<_, N>(
		protocol_id.clone(),
		genesis_hash,
		fork_id,
		warp_sync.clone(),
	);
	let warp_protocol_name = warp_config.protocol_name().clone();
	spawn.spawn("warp-sync-request-handler", Some("networking"), handler.run());
	net_config.add_request_response_protocol(gate.wrap(warp_config, inbound_queue));

	let (handler, light_config) =
		LightClientRequestHandler::new::<N>(&protocol_id, fork_id, client.clone());
	spawn.spawn("light-client-request-handler", Some("networking"), handler.run());
	net_config.add_request_response_protocol(gate.wrap(light_config, inbound_queue));

	let syncing_strategy = PolkadotSyncingStrategy::new(
		PolkadotSyncingStrategyConfig {
			mode: net_config.network_config.sync_mode,
			max_parallel_downloads: net_config.network_config.max_parallel_downloads,
			max_blocks_per_request: net_config.network_config.max_blocks_per_request,
			min_peers_to_start_warp_sync: net_config.network_config.min_peers_to_start_warp_sync,
			metrics_registry: registry.cloned(),
			state_request_protocol_name,
			block_downloader: downloader,
			gap_sync_body_policy: sc_service::default_gap_sync_body_policy(config.blocks_pruning),
		},
		client.clone(),
		Some(WarpSyncConfig::WithProvider(warp_sync)),
		Some(warp_protocol_name),
	)?;
	let (syncing_engine, sync_service, block_announce_config) = SyncingEngine::new(
		Roles::from(&config.role),
		client.clone(),
		registry,
		metrics.clone(),
		&net_config,
		protocol_id.clone(),
		fork_id,
		Box::new(sp_consensus::block_validation::DefaultBlockAnnounceValidator),
		Box::new(syncing_strategy),
		network_service_provider.handle(),
		import_queue.service(),
		net_config.peer_store_handle(),
	)?;
	// Essential, as in sc-service: a node that can no longer sync is better shut down.
	task_manager.spawn_essential_handle().spawn_blocking("syncing", None, syncing_engine.run());
	let sync_service = Arc::new(sync_service);

	let (transactions, transactions_config) = TransactionsHandlerPrototype::new::<_, Block, N>(
		protocol_id.clone(),
		genesis_hash,
		fork_id,
		metrics.clone(),
		net_config.peer_store_handle(),
	);
	net_config.add_notification_protocol(transactions_config);
	let peer_store = net_config.take_peer_store();
	spawn.spawn("peer-store", Some("networking"), peer_store.run());

	let has_bootnodes = !net_config.network_config.boot_nodes.is_empty();
	let network_worker = N::new(sc_network::config::Params::<Block, Hash, N> {
		role: config.role,
		executor: {
			let spawn = spawn.clone();
			Box::new(move |future| spawn.spawn("libp2p-node", Some("networking"), future))
		},
		network_config: net_config,
		genesis_hash,
		protocol_id,
		fork_id: fork_id.map(ToOwned::to_owned),
		metrics_registry: registry.cloned(),
		block_announce_config,
		ipfs_config: None,
		notification_metrics: metrics,
	})?;
	let service = network_worker.network_service();

	let (transactions, tx_handler_controller) = transactions.build(
		service.clone(),
		sync_service.clone(),
		Arc::new(sc_service::TransactionPoolAdapter::new(transaction_pool, client.clone())),
		registry,
	)?;
	spawn.spawn_blocking("network-transactions-handler", Some("networking"), transactions.run());
	spawn.spawn_blocking(
		"chain-sync-network-service-provider",
		Some("networking"),
		network_service_provider.run(Arc::new(service.clone())),
	);
	spawn.spawn("import-queue", None, {
		let sync_service = sync_service.clone();
		async move { import_queue.run(sync_service.as_ref()).await }
	});
	let (system_rpc_tx, system_rpc_rx) = tracing_unbounded("mpsc_system_rpc", 10_000);
	spawn.spawn(
		"system-rpc-handler",
		Some("networking"),
		sc_service::build_system_rpc_future::<_, _, Hash>(
			config.role,
			service.clone(),
			sync_service.clone(),
			client.clone(),
			system_rpc_rx,
			has_bootnodes,
		),
	);
	// Essential: the service shuts down if the network worker ends.
	task_manager.spawn_essential_handle().spawn_blocking(
		"network-worker",
		Some("networking"),
		drive(network_worker, client, sync_service.clone(), config.announce_block),
	);

	Ok(Network { service, system_rpc_tx, tx_handler_controller, sync_service, allow_list })
}

/// Runs the network worker and tells sync what the client imports and finalizes.
async fn drive<N: NetworkBackend<Block, Hash>>(
	network: N,
	client: Arc<FullClient>,
	sync_service: Arc<SyncingService<Block>>,
	announce_imported_blocks: bool,
) {
	let mut imported = client.import_notification_stream().fuse();
	let mut finalized = client.finality_notification_stream().fuse();
	let network = network.run().fuse();
	futures::pin_mut!(network);
	loop {
		futures::select! {
			notification = imported.next() => {
				let Some(notification) = notification else {
					log::warn!("Block import stream has ended: the network stops with the node.");
					return
				};
				if announce_imported_blocks {
					sync_service.announce_block(notification.hash, None);
				}
				if notification.is_new_best {
					sync_service.new_best_block_imported(
						notification.hash,
						*sp_runtime::traits::Header::number(&notification.header),
					);
				}
			},
			notification = finalized.select_next_some() => {
				sync_service.on_block_finalized(notification.hash, notification.header);
			},
			_ = network => {
				log::warn!("The network worker has ended: the network stops with the node.");
				return
			},
		}
	}
}
