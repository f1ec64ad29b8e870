//! The public JSON-RPC endpoint (`--public-rpc-addr`): the node's safe methods for callers
//! on the open network, with limits per caller address.
//!
//! Substrate's server limits calls per connection and connections in all, but never learns
//! who is calling (it builds a fresh service, with a fresh limit, for every HTTP request):
//! one address can hold every connection, or call without end over HTTP. This endpoint
//! counts by address (IPv6 by /64, what one subscriber is usually given). A connection
//! beyond the address's cap, or beyond the endpoint's, is answered `429 Too Many Requests`
//! and closed before any request is read; an HTTP connection idle for
//! `--public-rpc-idle-timeout` is closed, so idle ones keep no places. A call beyond the
//! address's budget is refused with Substrate's rate-limit error before it runs, over HTTP
//! and WebSocket alike. Addresses in `--rpc-rate-limit-whitelisted-ips` (the network's own
//! nodes, whose relays post to hosts) count only toward the endpoint's total. Behind a TLS
//! proxy (`--public-rpc-proxy`), calls are counted by the `X-Real-IP` the proxy sets, and
//! connections are the proxy's to limit. Unsafe methods are refused whatever the address.
//! The methods are the ones `sc-service` built for its own server, which keeps serving
//! `--rpc-port` for the operator.

use std::{
	collections::HashMap,
	net::{IpAddr, Ipv6Addr, SocketAddr},
	num::NonZeroU32,
	sync::Arc,
	time::{Duration, Instant},
};

use codec::{Compact, Decode};
use futures::future::{self, Either, Ready};
use governor::{DefaultKeyedRateLimiter, Quota};
use jsonrpsee::{
	server::{
		middleware::rpc::RpcServiceT, serve_with_graceful_shutdown, stop_channel, ws, HttpRequest,
		MethodResponse, Methods, PingConfig, RandomStringIdProvider, RpcServiceBuilder, StopHandle,
		TowerServiceBuilder,
	},
	types::{ErrorObject, Request},
	RpcModule,
};
use parking_lot::Mutex;
use sc_rpc_api::DenyUnsafe;
use sc_service::{
	config::{IpNetwork, RpcConfiguration},
	error::Error as ServiceError,
	TaskManager,
};
use substrate_prometheus_endpoint::{register, Counter, CounterVec, Opts, Registry, U64};
use tokio::{
	io::{AsyncReadExt, AsyncWriteExt},
	net::TcpStream,
};

use crate::cli::PublicRpcParams;
use quarks_primitives::hosting::{MAX_SUBMISSIONS, RATE_LIMITED};

/// How often the budgets of addresses that have stopped calling are forgotten.
const FORGET_IDLE_EVERY: Duration = Duration::from_secs(60);

/// How long a refused connection is given to take its 429 and close.
const REFUSAL_DEADLINE: Duration = Duration::from_secs(1);

/// How much of a refused connection's request is read before it is closed anyway.
const REFUSAL_DRAIN_BYTES: usize = 64 * 1024;

/// What the endpoint allows: its own limits (`--public-rpc-*`) and the sizes it shares
/// with `--rpc-port`.
#[derive(Debug, Clone)]
pub struct PublicRpcConfig {
	addr: SocketAddr,
	connections_per_address: NonZeroU32,
	calls_per_address_per_minute: NonZeroU32,
	max_connections: NonZeroU32,
	idle_limit: Duration,
	/// `--rpc-rate-limit-whitelisted-ips`: callers counted only in the endpoint's total
	/// (the network's own nodes, whose relays post to hosts here).
	unlimited: Vec<IpNetwork>,
	/// `--public-rpc-proxy`: proxies whose requests name their caller in `X-Real-IP`.
	proxies: Vec<IpNetwork>,
	max_request_mb: u32,
	max_response_mb: u32,
	max_subscriptions_per_connection: u32,
	message_buffer_capacity: u32,
}

impl PublicRpcConfig {
	/// The endpoint's settings, if `--public-rpc-addr` asked for one.
	pub fn new(params: &PublicRpcParams, rpc: &RpcConfiguration) -> Option<Self> {
		Some(Self {
			addr: params.public_rpc_addr?,
			connections_per_address: params.public_rpc_connections_per_ip,
			calls_per_address_per_minute: params.public_rpc_calls_per_ip,
			max_connections: params.public_rpc_max_connections,
			idle_limit: Duration::from_secs(params.public_rpc_idle_timeout.get().into()),
			unlimited: rpc.rate_limit_whitelisted_ips.clone(),
			proxies: params.public_rpc_proxy.clone(),
			max_request_mb: rpc.max_request_size,
			max_response_mb: rpc.max_response_size,
			max_subscriptions_per_connection: rpc.max_subs_per_conn,
			message_buffer_capacity: rpc.message_buffer_capacity,
		})
	}
}

/// Binds the endpoint and serves `methods` on it until the node stops.
pub fn start(
	config: PublicRpcConfig,
	mut methods: RpcModule<()>,
	registry: Option<&Registry>,
	task_manager: &mut TaskManager,
) -> Result<(), ServiceError> {
	let (listener, local_addr) = std::net::TcpListener::bind(config.addr)
		.and_then(|listener| listener.set_nonblocking(true).map(|()| listener))
		.and_then(tokio::net::TcpListener::from_std)
		.and_then(|listener| listener.local_addr().map(|addr| (listener, addr)))
		.map_err(|e| ServiceError::Other(format!("public RPC on {}: {e}", config.addr)))?;
	let refused = Refusals::register(registry)?;

	let (stop_handle, server_handle) = stop_channel();
	// Dropping the handle when the node stops ends the accept loop and every connection.
	task_manager.keep_alive(server_handle);

	// Listed like on `--rpc-port`, where sc-rpc-server adds it.
	let mut listed: Vec<&'static str> = methods.method_names().chain(["rpc_methods"]).collect();
	listed.sort_unstable();
	methods
		.register_method("rpc_methods", move |_, _, _| serde_json::json!({ "methods": listed }))
		.map_err(|e| ServiceError::Other(format!("public RPC: {e}")))?;

	let endpoint = Endpoint {
		methods: methods.into(),
		builder: jsonrpsee::server::Server::builder()
			.max_request_body_size(config.max_request_mb.saturating_mul(1024 * 1024))
			.max_response_body_size(config.max_response_mb.saturating_mul(1024 * 1024))
			.max_connections(config.max_connections.get())
			.max_subscriptions_per_connection(config.max_subscriptions_per_connection)
			.set_message_buffer_capacity(config.message_buffer_capacity)
			// A dead WebSocket would hold its address's slot: find it by ping.
			.enable_ws_ping(
				PingConfig::new()
					.ping_interval(Duration::from_secs(30))
					.inactive_limit(Duration::from_secs(60))
					.max_failures(3),
			)
			.set_id_provider(RandomStringIdProvider::new(16))
			.to_service_builder(),
		budgets: Arc::new(DefaultKeyedRateLimiter::keyed(Quota::per_minute(
			config.calls_per_address_per_minute,
		))),
		budget: config.calls_per_address_per_minute,
		unlimited: config.unlimited,
		proxies: config.proxies,
		connections: Arc::new(OpenConnections {
			per_address_cap: config.connections_per_address.get(),
			total_cap: config.max_connections.get(),
			open: Mutex::default(),
		}),
		idle_limit: config.idle_limit,
		refused,
		stop_handle,
	};
	task_manager.spawn_handle().spawn("quarks-public-rpc", Some("rpc"), endpoint.run(listener));

	log::info!(
		"Running public JSON-RPC server: addr={local_addr}, per address {} connections and {} \
		 calls a minute, safe methods only",
		config.connections_per_address,
		config.calls_per_address_per_minute,
	);
	Ok(())
}

/// The accept loop's state.
struct Endpoint {
	methods: Methods,
	builder: TowerServiceBuilder<tower::layer::util::Identity, tower::layer::util::Identity>,
	budgets: Arc<DefaultKeyedRateLimiter<IpAddr>>,
	/// What an address may spend in a minute, and the most one call may cost.
	budget: NonZeroU32,
	unlimited: Vec<IpNetwork>,
	proxies: Vec<IpNetwork>,
	connections: Arc<OpenConnections>,
	idle_limit: Duration,
	refused: Refusals,
	stop_handle: StopHandle,
}

impl Endpoint {
	async fn run(self, listener: tokio::net::TcpListener) {
		let mut forget_idle = tokio::time::interval(FORGET_IDLE_EVERY);
		loop {
			let (socket, remote) = tokio::select! {
				accepted = listener.accept() => match accepted {
					Ok(accepted) => accepted,
					Err(e) => {
						log::debug!(target: "rpc", "public RPC: accept failed: {e}");
						continue;
					},
				},
				_ = forget_idle.tick() => {
					self.budgets.retain_recent();
					self.budgets.shrink_to_fit();
					continue;
				},
				_ = self.stop_handle.clone().shutdown() => break,
			};
			let ip = remote.ip();
			let caller = if self.proxies.iter().any(|net| net.contains(ip)) {
				Caller::Proxy(ip)
			} else if self.unlimited.iter().any(|net| net.contains(ip)) {
				Caller::Unlimited
			} else {
				Caller::Counted(caller_of(ip))
			};
			match self.connections.admit(caller.counted()) {
				Some(slot) => self.serve(socket, caller, slot),
				None => {
					log::debug!(target: "rpc", "public RPC: refused a connection from {ip}");
					count(&self.refused.connections);
					tokio::spawn(refuse(socket));
				}
			}
		}
	}

	/// Serves one admitted connection; its slot is held until the connection, and a
	/// WebSocket session upgraded from it, have ended.
	fn serve(&self, socket: TcpStream, caller: Caller, slot: Arc<ConnectionSlot>) {
		let methods = self.methods.clone();
		let builder = self.builder.clone();
		let (budgets, budget) = (self.budgets.clone(), self.budget);
		let refused_calls = self.refused.calls.clone();
		let stop_handle = self.stop_handle.clone();
		let held = slot.clone();
		let last_request = Arc::new(Mutex::new(Instant::now()));
		let requested = last_request.clone();
		let service = tower::service_fn(move |mut request: HttpRequest<hyper::body::Incoming>| {
			*requested.lock() = Instant::now();
			request.extensions_mut().insert(DenyUnsafe::Yes);
			let caller = caller.of_request(&request);
			let (budgets, refused) = (budgets.clone(), refused_calls.clone());
			let mut service = builder
				.clone()
				.set_rpc_middleware(RpcServiceBuilder::new().layer_fn(move |inner| CallBudget {
					inner,
					budgets: budgets.clone(),
					budget,
					caller,
					refused: refused.clone(),
				}))
				.build(methods.clone(), stop_handle.clone());
			if ws::is_upgrade_request(&request) {
				let closed = service.on_session_closed();
				let slot = slot.clone();
				tokio::spawn(async move {
					closed.await;
					drop(slot);
				});
			}
			async move { tower::Service::call(&mut service, request).await }
		});
		// The connection ends when the node stops or it has been idle too long (what it
		// asked is still answered); its slot goes with this future, so with the connection.
		// A WebSocket is no longer this connection's once upgraded, and is pinged instead.
		let (stop_handle, idle_limit) = (self.stop_handle.clone(), self.idle_limit);
		let stopped = async move {
			let _held = held;
			tokio::select! {
				_ = stop_handle.shutdown() => {},
				_ = idle(last_request, idle_limit) => {},
			}
		};
		tokio::spawn(serve_with_graceful_shutdown(socket, service, stopped));
	}
}

/// Ends once no request came for `limit`.
async fn idle(last_request: Arc<Mutex<Instant>>, limit: Duration) {
	loop {
		let since = last_request.lock().elapsed();
		match limit.checked_sub(since) {
			Some(left) if !left.is_zero() => tokio::time::sleep(left).await,
			_ => return,
		}
	}
}

/// Answers a refused connection with a 429 without parsing its request, then closes it.
/// What the caller sent meanwhile is read and dropped first: closing a socket with unread
/// input resets it, and the reset can destroy the 429 before the caller reads it.
async fn refuse(mut socket: TcpStream) {
	const REFUSAL: &[u8] =
		b"HTTP/1.1 429 Too Many Requests\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
	let _ = tokio::time::timeout(REFUSAL_DEADLINE, async {
		socket.write_all(REFUSAL).await?;
		socket.shutdown().await?;
		let mut sink = [0u8; 4096];
		let mut left = REFUSAL_DRAIN_BYTES;
		while left > 0 {
			match socket.read(&mut sink).await? {
				0 => break,
				read => left = left.saturating_sub(read),
			}
		}
		Ok::<_, std::io::Error>(())
	})
	.await;
}

/// Whom a connection's calls are counted against.
#[derive(Debug, Clone, Copy)]
enum Caller {
	/// A caller counted by its address.
	Counted(IpAddr),
	/// One of the network's nodes: counted only in the endpoint's total.
	Unlimited,
	/// A proxy: the caller of each request is the address in its `X-Real-IP` header, which
	/// the proxy sets; the proxy's own address when there is none.
	Proxy(IpAddr),
}

impl Caller {
	/// The address a connection is counted under, if any.
	fn counted(self) -> Option<IpAddr> {
		match self {
			Caller::Counted(ip) => Some(ip),
			Caller::Unlimited | Caller::Proxy(_) => None,
		}
	}

	/// The address a request's calls are counted under, if any.
	fn of_request<B>(self, request: &HttpRequest<B>) -> Option<IpAddr> {
		match self {
			Caller::Counted(ip) => Some(ip),
			Caller::Unlimited => None,
			Caller::Proxy(proxy) => Some(
				request
					.headers()
					.get("x-real-ip")
					.and_then(|value| value.to_str().ok())
					.and_then(|text| text.trim().parse().ok())
					.map_or(proxy, caller_of),
			),
		}
	}
}

/// The address a caller is counted under: IPv6 by its /64, an IPv4-mapped address as IPv4.
fn caller_of(ip: IpAddr) -> IpAddr {
	match ip {
		IpAddr::V4(_) => ip,
		IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
			Some(v4) => IpAddr::V4(v4),
			None => {
				let [a, b, c, d, ..] = v6.segments();
				IpAddr::V6(Ipv6Addr::new(a, b, c, d, 0, 0, 0, 0))
			}
		},
	}
}

/// Open connections, per address and in all.
struct OpenConnections {
	per_address_cap: u32,
	total_cap: u32,
	open: Mutex<(HashMap<IpAddr, u32>, u32)>,
}

/// One open connection (of a counted address), released when its last holder drops it.
struct ConnectionSlot {
	connections: Arc<OpenConnections>,
	caller: Option<IpAddr>,
}

impl OpenConnections {
	fn admit(self: &Arc<Self>, caller: Option<IpAddr>) -> Option<Arc<ConnectionSlot>> {
		let mut open = self.open.lock();
		let (per_address, total) = &mut *open;
		if *total >= self.total_cap {
			return None;
		}
		if let Some(caller) = caller {
			let count = per_address.get(&caller).copied().unwrap_or(0);
			if count >= self.per_address_cap {
				return None;
			}
			per_address.insert(caller, count.saturating_add(1));
		}
		*total = total.saturating_add(1);
		Some(Arc::new(ConnectionSlot { connections: self.clone(), caller }))
	}
}

impl Drop for ConnectionSlot {
	fn drop(&mut self) {
		let mut open = self.connections.open.lock();
		let (per_address, total) = &mut *open;
		*total = total.saturating_sub(1);
		let Some(caller) = &self.caller else { return };
		if let Some(count) = per_address.get_mut(caller) {
			*count = count.saturating_sub(1);
			if *count == 0 {
				per_address.remove(caller);
			}
		}
	}
}

/// Refuses a call when its address has spent its budget, before the call runs.
#[derive(Clone)]
struct CallBudget<S> {
	inner: S,
	budgets: Arc<DefaultKeyedRateLimiter<IpAddr>>,
	/// A minute's budget: a call never costs more, so it can always be answered once the
	/// budget is whole.
	budget: NonZeroU32,
	/// None for an unlimited caller.
	caller: Option<IpAddr>,
	refused: Option<Counter<U64>>,
}

impl<'a, S: RpcServiceT<'a>> RpcServiceT<'a> for CallBudget<S> {
	type Future = Either<S::Future, Ready<MethodResponse>>;

	fn call(&self, request: Request<'a>) -> Self::Future {
		let cost = NonZeroU32::new(cost(&request)).unwrap_or(NonZeroU32::MIN).min(self.budget);
		if self
			.caller
			.is_none_or(|caller| matches!(self.budgets.check_key_n(&caller, cost), Ok(Ok(()))))
		{
			return Either::Left(self.inner.call(request));
		}
		count(&self.refused);
		Either::Right(future::ready(MethodResponse::error(
			request.id,
			ErrorObject::owned(RATE_LIMITED, "RPC rate limit exceeded", None::<()>),
		)))
	}
}

/// What a call costs of its caller's budget: one, or for `quarks_submitEnvelopes` one per
/// submission it lists, read from the list's length prefix; a list whose prefix cannot be
/// read this way (hex not written plainly, named parameters) costs as much as the largest
/// list, since the method may still read it.
fn cost(request: &Request<'_>) -> u32 {
	if request.method_name() != "quarks_submitEnvelopes" {
		return 1;
	}
	let largest = MAX_SUBMISSIONS as u32;
	let listed = || {
		let params = request.params();
		// Borrowed strings only: one with escapes in it does not parse, and costs the most.
		let params: Vec<&str> = serde_json::from_str(params.as_str()?).ok()?;
		let hex = params.first()?;
		let hex = hex.strip_prefix("0x").unwrap_or(hex);
		// A compact length takes at most 5 bytes.
		let prefix = hex.get(..hex.len().min(10))?;
		let bytes = array_bytes::hex2bytes(&prefix[..prefix.len() & !1]).ok()?;
		Compact::<u32>::decode(&mut &bytes[..]).ok().map(|count| count.0)
	};
	listed().unwrap_or(largest).clamp(1, largest)
}

/// `quarks_public_rpc_refused_total{reason}`: connections and calls refused by the limits.
#[derive(Clone)]
struct Refusals {
	connections: Option<Counter<U64>>,
	calls: Option<Counter<U64>>,
}

impl Refusals {
	fn register(registry: Option<&Registry>) -> Result<Self, ServiceError> {
		let Some(registry) = registry else { return Ok(Self { connections: None, calls: None }) };
		let refused = register(
			CounterVec::new(
				Opts::new(
					"quarks_public_rpc_refused_total",
					"Connections and calls the public RPC endpoint refused by its per-address limits",
				),
				&["reason"],
			)
			.map_err(|e| ServiceError::Other(e.to_string()))?,
			registry,
		)
		.map_err(|e| ServiceError::Other(e.to_string()))?;
		Ok(Self {
			connections: Some(refused.with_label_values(&["connections"])),
			calls: Some(refused.with_label_values(&["calls"])),
		})
	}
}

fn count(refusals: &Option<Counter<U64>>) {
	if let Some(refusals) = refusals {
		refusals.inc();
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn callers_are_counted_by_ipv4_address_or_ipv6_slash_64() {
		let caller = |text: &str| caller_of(text.parse().expect("an address"));
		assert_eq!(caller("2001:db8:1:2:aaaa::1"), caller("2001:db8:1:2:bbbb:cccc:dddd:2"));
		assert_ne!(caller("2001:db8:1:2::1"), caller("2001:db8:1:3::1"), "another /64");
		assert_eq!(caller("::ffff:192.0.2.1"), caller("192.0.2.1"), "IPv4-mapped");
		assert_ne!(caller("192.0.2.1"), caller("192.0.2.2"), "each IPv4 address alone");
	}

	#[test]
	fn the_total_cap_holds_whoever_connects() {
		let connections = Arc::new(OpenConnections {
			per_address_cap: 2,
			total_cap: 3,
			open: Mutex::new((HashMap::new(), 0)),
		});
		let (a, b, c) = (
			Some(caller_of([192, 0, 2, 1].into())),
			Some(caller_of([192, 0, 2, 2].into())),
			Some(caller_of([192, 0, 2, 3].into())),
		);
		let first = connections.admit(a).expect("a's first");
		let _second = connections.admit(a).expect("a's second");
		assert!(connections.admit(a).is_none(), "a's third: its own cap");
		let _third = connections.admit(b).expect("b's first");
		assert!(connections.admit(c).is_none(), "c's first: the total cap");
		assert!(connections.admit(None).is_none(), "one of the network's nodes: the total too");
		drop(first);
		assert!(connections.admit(c).is_some(), "a place freed is taken");
	}
}
