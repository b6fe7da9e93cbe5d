//! Which address a request comes from, for the per-address sign-in limit. Behind a reverse
//! proxy every request arrives from the proxy, so one bad actor would lock the whole store out;
//! the proxy names the real client in `X-Forwarded-For`. That header is anyone's to write, so it
//! is read only when the peer is a proxy the operator listed (`--trusted-proxies`), and only
//! as far as the hops are trusted: the client is the rightmost address not in the list.

use std::{net::IpAddr, str::FromStr};

use ipnet::IpNet;

/// Parses one `--trusted-proxies` entry: a network (`10.0.0.0/8`, `fd00::/8`) or one address.
pub fn parse_trusted(text: &str) -> Result<IpNet, String> {
    let text = text.trim();
    IpNet::from_str(text)
        .or_else(|_| IpAddr::from_str(text).map(IpNet::from))
        .map_err(|_| format!("{text:?} is neither an IP address nor a network like 10.0.0.0/8"))
}

/// The client's address: `peer` itself unless it is a trusted proxy, else the rightmost
/// `X-Forwarded-For` hop (over every such header, in order) that is not trusted. A hop that is
/// not an address stops the walk at the last trusted one, so garbage never becomes an identity.
pub fn client_ip<'a>(
    peer: IpAddr,
    forwarded_for: impl IntoIterator<Item = &'a str>,
    trusted: &[IpNet],
) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let hops: Vec<&str> = forwarded_for
        .into_iter()
        .flat_map(|header| header.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        let Some(ip) = parse_hop(hop) else {
            break;
        };
        client = ip;
        if !is_trusted(&ip) {
            break;
        }
    }
    client
}

/// `203.0.113.7`, `2001:db8::1`, or with a port (`203.0.113.7:5100`, `[2001:db8::1]:5100`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    IpAddr::from_str(hop)
        .ok()
        .or_else(|| std::net::SocketAddr::from_str(hop).ok().map(|s| s.ip()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|t| parse_trusted(t).unwrap()).collect()
    }

    #[test]
    fn a_peer_that_is_not_a_trusted_proxy_is_the_client_whatever_it_forwards() {
        let trusted = nets(&["10.0.0.1"]);
        assert_eq!(
            client_ip(ip("198.51.100.9"), ["203.0.113.7"], &trusted),
            ip("198.51.100.9")
        );
        assert_eq!(
            client_ip(ip("198.51.100.9"), ["203.0.113.7"], &[]),
            ip("198.51.100.9")
        );
    }

    #[test]
    fn behind_a_trusted_proxy_the_rightmost_untrusted_hop_is_the_client() {
        let trusted = nets(&["10.0.0.0/8"]);
        // A client-written first entry cannot pick its own address: the proxy appends the real one.
        assert_eq!(
            client_ip(ip("10.0.0.1"), ["1.2.3.4, 203.0.113.7, 10.0.0.2"], &trusted),
            ip("203.0.113.7")
        );
        // Several headers count as one list, in order.
        assert_eq!(
            client_ip(ip("10.0.0.1"), ["1.2.3.4", "203.0.113.8"], &trusted),
            ip("203.0.113.8")
        );
    }

    #[test]
    fn hops_with_ports_and_ipv6_are_read_and_garbage_stops_at_the_last_trusted_hop() {
        let trusted = nets(&["10.0.0.1", "fd00::/8"]);
        assert_eq!(
            client_ip(ip("fd00::1"), ["[2001:db8::5]:5100"], &trusted),
            ip("2001:db8::5")
        );
        assert_eq!(
            client_ip(ip("10.0.0.1"), ["203.0.113.7:443"], &trusted),
            ip("203.0.113.7")
        );
        assert_eq!(
            client_ip(ip("10.0.0.1"), ["203.0.113.7, nonsense"], &trusted),
            ip("10.0.0.1")
        );
        assert_eq!(
            client_ip(ip("10.0.0.1"), std::iter::empty(), &trusted),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn a_trusted_proxy_entry_is_a_network_or_one_address_and_anything_else_is_refused() {
        assert!(parse_trusted("10.0.0.0/8")
            .unwrap()
            .contains(&ip("10.9.9.9")));
        assert!(parse_trusted(" 127.0.0.1 ")
            .unwrap()
            .contains(&ip("127.0.0.1")));
        assert!(!parse_trusted("127.0.0.1")
            .unwrap()
            .contains(&ip("127.0.0.2")));
        assert!(parse_trusted("::1").unwrap().contains(&ip("::1")));
        assert!(parse_trusted("proxy.local").is_err());
        assert!(parse_trusted("10.0.0.0/33").is_err());
    }
}
