//! Host endpoints: the URLs hosts are reached by, and which addresses are public.
//!
//! The hosts pallet refuses an endpoint that names a private address where the network
//! does not allow them; a node refuses to connect to a name that resolves to one. Both
//! read endpoints and addresses here, one way.

use alloc::string::String;
use core::net::IpAddr;

/// What follows the scheme of a URL hosts are reachable by.
fn after_scheme(endpoint: &[u8]) -> Option<&[u8]> {
	["ws://", "wss://", "http://", "https://"]
		.iter()
		.find_map(|scheme| endpoint.strip_prefix(scheme.as_bytes()))
}

/// A printable-ASCII URL with a scheme hosts are reachable by and something after it.
pub fn is_endpoint(endpoint: &[u8]) -> bool {
	let printable = endpoint.iter().all(|b| b.is_ascii_graphic());
	printable && after_scheme(endpoint).is_some_and(|rest| !rest.is_empty())
}

/// The host part of an endpoint's URL.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum EndpointHost {
	/// An IPv4 or IPv6 address.
	Ip(IpAddr),
	/// A name, lower-cased, without a trailing dot.
	Name(String),
}

/// The host an endpoint names, if it is a URL hosts are reachable by.
pub fn endpoint_host(endpoint: &[u8]) -> Option<EndpointHost> {
	let rest = core::str::from_utf8(after_scheme(endpoint)?).ok()?;
	let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
	let host = authority.rsplit('@').next().unwrap_or_default();
	let host = match host.strip_prefix('[') {
		Some(bracketed) => bracketed.split(']').next().unwrap_or_default(),
		None => host.split(':').next().unwrap_or_default(),
	};
	let host = host.trim_end_matches('.').to_ascii_lowercase();
	if host.is_empty() {
		return None;
	}
	Some(match host.parse::<IpAddr>() {
		Ok(ip) => EndpointHost::Ip(ip),
		Err(_) => EndpointHost::Name(host),
	})
}

/// Whether `ip` is a public address: not loopback, private, shared (CGNAT), link-local,
/// unspecified or broadcast IPv4 (an IPv4-mapped IPv6 address counts as its IPv4), nor
/// loopback, unspecified, unique-local or link-local IPv6.
pub fn is_public_ip(ip: IpAddr) -> bool {
	match ip {
		IpAddr::V4(v4) => {
			let [a, b, ..] = v4.octets();
			!(v4.is_loopback()
				|| v4.is_private()
				|| v4.is_link_local()
				|| v4.is_unspecified()
				|| v4.is_broadcast()
				|| (a == 100 && (64..128).contains(&b)))
		}
		IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
			Some(v4) => is_public_ip(IpAddr::V4(v4)),
			None => {
				!(v6.is_loopback()
					|| v6.is_unspecified()
					|| v6.is_unique_local()
					|| v6.is_unicast_link_local())
			}
		},
	}
}

/// Whether an endpoint's host is a name or a public address: not `localhost` nor an address
/// [`is_public_ip`] refuses. A name may still resolve to a private address; the chain cannot
/// tell, so nodes resolve names before they connect (docs/security.md).
pub fn is_public(endpoint: &[u8]) -> bool {
	match endpoint_host(endpoint) {
		Some(EndpointHost::Ip(ip)) => is_public_ip(ip),
		Some(EndpointHost::Name(name)) => name != "localhost" && !name.ends_with(".localhost"),
		None => false,
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn reads_the_host_of_an_endpoint() {
		let ip = |s: &str| Some(EndpointHost::Ip(s.parse().expect("an address")));
		let name = |s: &str| Some(EndpointHost::Name(s.into()));
		assert_eq!(endpoint_host(b"ws://127.0.0.1:9944"), ip("127.0.0.1"));
		assert_eq!(endpoint_host(b"https://user@[::1]:443/rpc"), ip("::1"));
		assert_eq!(endpoint_host(b"http://Mail.Example.COM./x?y#z"), name("mail.example.com"));
		assert_eq!(endpoint_host(b"http://"), None);
		assert_eq!(endpoint_host(b"ftp://example.com"), None);
	}

	#[test]
	fn private_addresses_are_not_public() {
		for private in [
			"127.0.0.1",
			"10.1.2.3",
			"172.16.0.1",
			"192.168.1.1",
			"169.254.0.1",
			"100.64.0.1",
			"0.0.0.0",
			"255.255.255.255",
			"::1",
			"::",
			"fd00::1",
			"fe80::1",
			"::ffff:10.0.0.1",
			"::ffff:169.254.0.1",
		] {
			assert!(!is_public_ip(private.parse().expect("an address")), "{private}");
		}
		for public in ["93.184.216.34", "100.128.0.1", "2001:4860::8888", "::ffff:8.8.8.8"] {
			assert!(is_public_ip(public.parse().expect("an address")), "{public}");
		}
		assert!(!is_public(b"ws://localhost:9944"));
		assert!(!is_public(b"ws://a.localhost."));
		assert!(is_public(b"wss://mail.example.com"));
	}
}
