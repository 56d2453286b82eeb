//! The `--metrics-addr` flag: an address, or `off` (or empty) for no endpoint.

use std::net::SocketAddr;

/// Where the metrics endpoint listens, if anywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricsAddr(pub Option<SocketAddr>);

impl MetricsAddr {
    /// No metrics endpoint.
    pub const OFF: Self = Self(None);
}

impl std::str::FromStr for MetricsAddr {
    type Err = std::net::AddrParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if text.is_empty() || text.eq_ignore_ascii_case("off") {
            return Ok(Self::OFF);
        }
        text.parse().map(|addr| Self(Some(addr)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_or_off() {
        assert_eq!("127.0.0.1:9090".parse(), Ok(MetricsAddr(Some(([127, 0, 0, 1], 9090).into()))));
        assert_eq!("off".parse(), Ok(MetricsAddr::OFF));
        assert_eq!(" ".parse(), Ok(MetricsAddr::OFF));
        assert!("nowhere".parse::<MetricsAddr>().is_err());
    }
}
