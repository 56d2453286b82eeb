//! Flags that take a value or `off`: `--metrics-addr 0.0.0.0:9090` or `--metrics-addr off`,
//! `--console-dir /usr/share/vary/console` or `--console-dir off`. `off` lets a deployment
//! turn off what a default or a container image turned on.

use std::{net::SocketAddr, str::FromStr};

/// A setting that is either a `T` or off (`off`, any case, or empty).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrOff<T>(pub Option<T>);

/// Where the metrics endpoint listens, if anywhere.
pub type MetricsAddr = OrOff<SocketAddr>;

impl<T> OrOff<T> {
    /// Off.
    pub const OFF: Self = Self(None);

    /// On, with `value`.
    pub fn on(value: T) -> Self {
        Self(Some(value))
    }
}

impl<T: FromStr> FromStr for OrOff<T> {
    type Err = T::Err;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if text.is_empty() || text.eq_ignore_ascii_case("off") {
            return Ok(Self::OFF);
        }
        text.parse().map(Self::on)
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    #[test]
    fn an_address_or_off() {
        assert_eq!("127.0.0.1:9090".parse(), Ok(MetricsAddr::on(([127, 0, 0, 1], 9090).into())));
        assert_eq!("off".parse(), Ok(MetricsAddr::OFF));
        assert_eq!(" ".parse(), Ok(MetricsAddr::OFF));
        assert!("nowhere".parse::<MetricsAddr>().is_err());
    }

    #[test]
    fn a_path_or_off() {
        assert_eq!("OFF".parse(), Ok(OrOff::<PathBuf>::OFF));
        assert_eq!("/srv/console".parse(), Ok(OrOff::on(PathBuf::from("/srv/console"))));
    }
}
