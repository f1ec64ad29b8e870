//! Host endpoints: the URLs hosts are reached by, and which addresses are public.
//!
//! The hosts pallet refuses an endpoint that names a private address where the network
//! does not allow them; nodes and clients refuse to connect to a name that resolves to
//! one. All read endpoints and addresses here, one way.

use alloc::string::String;
use core::net::IpAddr;

/// What follows the scheme of a URL hosts are reachable by.
fn after_scheme(endpoint: &[u8]) -> Option<&[u8]> {
	["ws://", "wss://", "http://", "https://"]
		.iter()
		.find_map(|scheme| endpoint.strip_prefix(scheme.as_bytes()))
}

/// Whether `endpoint` is a printable-ASCII URL with a scheme hosts are reachable by and a
/// host every URL parser reads alike ([`endpoint_host`]).
pub fn is_endpoint(endpoint: &[u8]) -> bool {
	endpoint_host(endpoint).is_some()
}

/// The host part of an endpoint's URL.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum EndpointHost {
	/// An IPv4 or IPv6 address.
	Ip(IpAddr),
	/// A name, lower-cased, without a trailing dot.
	Name(String),
}

/// The host an endpoint names, if it is a printable-ASCII URL with a scheme hosts are
/// reachable by, and a host that URL parsers read alike. Not one with `\`, `@` or `%`
/// before its path (one parser ends the host at a backslash, another after the last
/// `@`), nor a name that ends in a number (`127.1`, `0x7f.1`, `2130706433`), which URL
/// parsers and resolvers read as an IPv4 address: so a node connects to the host it
/// checked.
pub fn endpoint_host(endpoint: &[u8]) -> Option<EndpointHost> {
	if !endpoint.iter().all(u8::is_ascii_graphic) {
		return None;
	}
	let rest = core::str::from_utf8(after_scheme(endpoint)?).ok()?;
	let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
	if authority.contains(['\\', '@', '%']) {
		return None;
	}
	let host = match authority.strip_prefix('[') {
		Some(bracketed) => bracketed.split(']').next().unwrap_or_default(),
		None => authority.split(':').next().unwrap_or_default(),
	};
	let host = host.trim_end_matches('.').to_ascii_lowercase();
	if host.is_empty() {
		return None;
	}
	if let Ok(ip) = host.parse::<IpAddr>() {
		return Some(EndpointHost::Ip(ip));
	}
	let last = host.rsplit('.').next().unwrap_or_default();
	let numeric = last.bytes().all(|b| b.is_ascii_digit()) || last.starts_with("0x");
	(!numeric).then_some(EndpointHost::Name(host))
}

/// Whether `ip` is a public address. Not IPv4 in "this network" (0/8), loopback, private,
/// shared (CGNAT), link-local, IETF protocol assignments (192.0.0/24), documentation,
/// benchmarking (198.18/15), multicast or reserved (224/3, broadcast included). Not IPv6
/// loopback, unspecified, unique-local, link-local, site-local, multicast, Teredo (its
/// IPv4 address hidden), local-use NAT64, documentation or discard-only; an IPv6 address
/// that carries an IPv4 one (mapped, compatible, NAT64 64:ff9b::/96, 6to4) counts as that
/// IPv4.
pub fn is_public_ip(ip: IpAddr) -> bool {
	match ip {
		IpAddr::V4(v4) => {
			let [a, b, c, _] = v4.octets();
			!(a == 0
				|| v4.is_loopback()
				|| v4.is_private()
				|| v4.is_link_local()
				|| (a == 100 && (64..128).contains(&b))
				|| (a == 192 && b == 0 && c == 0)
				|| (a == 192 && b == 0 && c == 2)
				|| (a == 198 && b == 51 && c == 100)
				|| (a == 203 && b == 0 && c == 113)
				|| (a == 198 && (18..20).contains(&b))
				|| a >= 224)
		}
		IpAddr::V6(v6) => {
			let segments = v6.segments();
			let [.., w, x, y, z] = v6.octets();
			let carried = core::net::Ipv4Addr::new(w, x, y, z);
			let nat64 = segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0];
			let compatible = segments[..6] == [0; 6] && !v6.is_loopback() && !v6.is_unspecified();
			if v6.to_ipv4_mapped().is_some() || nat64 || compatible {
				return is_public_ip(IpAddr::V4(carried));
			}
			// 6to4 carries its IPv4 address in the second and third segments.
			if segments[0] == 0x2002 {
				let [a, b] = segments[1].to_be_bytes();
				let [c, d] = segments[2].to_be_bytes();
				return is_public_ip(IpAddr::V4(core::net::Ipv4Addr::new(a, b, c, d)));
			}
			!(v6.is_loopback()
				|| v6.is_unspecified()
				|| v6.is_unique_local()
				|| v6.is_unicast_link_local()
				|| (segments[0] & 0xffc0) == 0xfec0
				|| v6.is_multicast()
				// Teredo: its IPv4 address is hidden (inverted), whatever it reaches.
				|| segments[..2] == [0x2001, 0]
				// Local-use NAT64 (RFC 8215), documentation, discard-only.
				|| segments[..3] == [0x64, 0xff9b, 1]
				|| segments[..2] == [0x2001, 0xdb8]
				|| (segments[0] == 0x3fff && segments[1] < 0x1000)
				|| segments[..4] == [0x100, 0, 0, 0])
		}
	}
}

/// Whether `endpoint` may be connected to where the network allows no private endpoints:
/// its host is a public address, or a name whose every address is public now; `None` if
/// the name does not resolve (a failed lookup says nothing of where it points). Blocks on
/// the system's resolver.
#[cfg(feature = "std")]
pub fn resolves_public(endpoint: &[u8]) -> Option<bool> {
	use std::net::ToSocketAddrs;
	if !is_public(endpoint) {
		return Some(false);
	}
	match endpoint_host(endpoint) {
		Some(EndpointHost::Ip(ip)) => Some(is_public_ip(ip)),
		Some(EndpointHost::Name(name)) => {
			let addresses: Vec<IpAddr> =
				(name.as_str(), 0).to_socket_addrs().ok()?.map(|a| a.ip()).collect();
			(!addresses.is_empty()).then(|| addresses.into_iter().all(is_public_ip))
		}
		None => Some(false),
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
		assert_eq!(endpoint_host(b"https://[::1]:443/rpc"), ip("::1"));
		// Parsers disagree on where these hosts end: refused, by the chain and the node.
		for ambiguous in [
			&b"http://127.0.0.1:6379\\@mail.example.com/"[..],
			b"https://user@mail.example.com",
			b"http://mail.example.com%2f@10.0.0.1",
			b"http://127.1:9944",
			b"http://2130706433/",
			b"http://0x7f.1",
		] {
			assert!(!is_endpoint(ambiguous));
			assert_eq!(endpoint_host(ambiguous), None);
		}
		assert_eq!(endpoint_host(b"http://Mail.Example.COM./x?y#z"), name("mail.example.com"));
		// What follows the host is the host's business.
		assert_eq!(endpoint_host(b"https://mail.example.com/%7Eq/@rpc"), name("mail.example.com"));
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
			"0.1.2.3",
			"192.0.0.8",
			"198.18.0.1",
			"224.0.0.1",
			"240.0.0.1",
			"64:ff9b::a00:1",
			"::10.0.0.1",
			"fec0::1",
			"ff02::1",
			"2002:7f00:1::",
			"2002:c0a8:101::1",
			"2001:0:4136:e378:8000:63bf:3fff:fdd2",
			"64:ff9b:1::a00:1",
			"2001:db8::1",
			"100::1",
			"3fff:1::1",
			"192.0.2.1",
			"198.51.100.7",
			"203.0.113.9",
		] {
			assert!(!is_public_ip(private.parse().expect("an address")), "{private}");
		}
		for public in [
			"93.184.216.34",
			"100.128.0.1",
			"2001:4860::8888",
			"::ffff:8.8.8.8",
			"64:ff9b::808:808",
			"2002:808:808::1",
		] {
			assert!(is_public_ip(public.parse().expect("an address")), "{public}");
		}
		assert!(!is_public(b"ws://localhost:9944"));
		assert!(!is_public(b"ws://a.localhost."));
		assert!(is_public(b"wss://mail.example.com"));
	}
}
