//! The request mix: what a recommender's pages send the agent. A deterministic pool
//! (seeded), encoded once, that load workers cycle through, so building requests costs
//! nothing during the measurement.

use bytes::Bytes;
use prost::Message as _;
use rand::{Rng as _, SeedableRng as _, rngs::StdRng};
use vary_proto::pb;

/// Placements and their share of traffic, in percent; the experiments use the same five.
pub const PLACEMENT_SHARES: [(&str, u32); 5] =
    [("pdp", 35), ("newsfeed", 25), ("search", 20), ("home", 15), ("cart", 5)];
/// Countries, drawn uniformly; the experiments' rules name most of them.
pub const COUNTRIES: [&str; 10] = ["DE", "FR", "US", "GB", "IT", "ES", "NL", "PL", "JP", "CA"];
/// Devices and their share of traffic, in percent.
pub const DEVICE_SHARES: [(&str, u32); 4] =
    [("mobile", 60), ("desktop", 30), ("tablet", 8), ("bot", 2)];

/// How the pool is drawn.
#[derive(Debug, Clone, PartialEq)]
pub struct MixSettings {
    /// Distinct user ids drawn from (uniformly).
    pub users: u32,
    /// Share of requests without a user id (anonymous: the session is the unit), percent.
    pub anonymous_percent: u32,
    /// Free-form attributes per request besides `tier` (`app_version`, `locale`, …).
    pub extra_attributes: usize,
    /// Whether the agent records exposures (`log_exposure`).
    pub log_exposure: bool,
    /// Requests in the pool.
    pub pool_size: usize,
    /// Seed of the pool: the same seed draws the same requests.
    pub seed: u64,
}

/// The encoded pool, shared by the workers.
#[derive(Debug, Clone)]
pub struct EncodedPool {
    /// One encoded request each.
    pub requests: Vec<Bytes>,
}

// === impl MixSettings ===

impl Default for MixSettings {
    fn default() -> Self {
        Self {
            users: 1_000_000,
            anonymous_percent: 25,
            extra_attributes: 3,
            log_exposure: false,
            pool_size: 4_096,
            seed: 42,
        }
    }
}

impl MixSettings {
    /// The pool of requests.
    pub fn requests(&self) -> Vec<pb::AssignRequest> {
        let mut random = StdRng::seed_from_u64(self.seed);
        (0..self.pool_size.max(1)).map(|_| self.draw(&mut random)).collect()
    }

    fn draw(&self, random: &mut StdRng) -> pb::AssignRequest {
        let anonymous = random.random_range(0..100) < self.anonymous_percent;
        let user_id = if anonymous {
            String::new()
        } else {
            format!("u-{:08}", random.random_range(0..self.users.max(1)))
        };
        let session_id = format!("s-{:016x}", random.random::<u64>());
        let placement = pick_weighted(&PLACEMENT_SHARES, random);
        let mut attributes = std::collections::BTreeMap::new();
        attributes.insert("tier".to_owned(), random.random_range(0..5).to_string());
        const EXTRA: [(&str, &[&str]); 4] = [
            ("app_version", &["5.12.3", "5.13.0", "5.14.1"]),
            ("locale", &["de-DE", "fr-FR", "en-US", "en-GB"]),
            ("ab_segment", &["a", "b", "c", "d"]),
            ("referrer", &["organic", "email", "ads", "social"]),
        ];
        for (name, values) in EXTRA.iter().take(self.extra_attributes) {
            attributes.insert(
                (*name).to_owned(),
                values[random.random_range(0..values.len())].to_owned(),
            );
        }
        pb::AssignRequest {
            user_id,
            session_id,
            context: Some(pb::AssignmentContext {
                placement: placement.to_owned(),
                page_type: page_type(placement).to_owned(),
                country: COUNTRIES[random.random_range(0..COUNTRIES.len())].to_owned(),
                device: pick_weighted(&DEVICE_SHARES, random).to_owned(),
                logged_in: Some(!anonymous && random.random_range(0..10) < 7),
                attributes,
            }),
            experiment_keys: Vec::new(),
            log_exposure: Some(self.log_exposure),
        }
    }

    /// The pool, encoded.
    pub fn encoded(&self) -> EncodedPool {
        EncodedPool {
            requests: self
                .requests()
                .iter()
                .map(|request| request.encode_to_vec().into())
                .collect(),
        }
    }
}

/// An encoded `EchoRequest` of `request_bytes` bytes (or one byte less, where the length
/// prefix's growth skips a size) asking for `response_bytes` bytes back.
pub fn echo_request(request_bytes: usize, response_bytes: u32) -> Bytes {
    let request_for = |payload_len: usize| crate::pb::EchoRequest {
        payload: vec![0xA5; payload_len],
        response_bytes,
    };
    let mut payload_len = request_bytes;
    while payload_len > 0 && request_for(payload_len).encoded_len() > request_bytes {
        payload_len -= 1;
    }
    request_for(payload_len).encode_to_vec().into()
}

/// One of `shares`' names, each drawn with its share of the total.
pub(crate) fn pick_weighted<'a>(shares: &[(&'a str, u32)], random: &mut StdRng) -> &'a str {
    let total: u32 = shares.iter().map(|(_, share)| share).sum();
    let mut ticket = random.random_range(0..total);
    for (name, share) in shares {
        if ticket < *share {
            return name;
        }
        ticket -= share;
    }
    shares[shares.len() - 1].0
}

fn page_type(placement: &str) -> &'static str {
    match placement {
        "pdp" => "product",
        "search" => "search_results",
        "newsfeed" => "feed",
        "cart" => "cart",
        _ => "home",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_draws_the_same_pool_and_another_seed_another() {
        let settings = MixSettings { pool_size: 64, ..MixSettings::default() };
        assert_eq!(settings.requests(), settings.requests());
        assert_ne!(settings.requests(), MixSettings { seed: 7, ..settings.clone() }.requests());
    }

    #[test]
    fn the_mix_follows_its_shares() {
        let settings = MixSettings { pool_size: 20_000, ..MixSettings::default() };
        let requests = settings.requests();
        let share = |keep: &dyn Fn(&pb::AssignRequest) -> bool| {
            requests.iter().filter(|request| keep(request)).count() as f64 / requests.len() as f64
        };
        let anonymous = share(&|request| request.user_id.is_empty());
        assert!((0.23..0.27).contains(&anonymous), "anonymous share {anonymous}");
        let pdp = share(&|request| request.context.as_ref().unwrap().placement == "pdp");
        assert!((0.33..0.37).contains(&pdp), "pdp share {pdp}");
        assert!(requests.iter().all(|request| !request.session_id.is_empty()));
        assert!(requests.iter().all(|request| request.log_exposure == Some(false)));
        let attributes = &requests[0].context.as_ref().unwrap().attributes;
        assert_eq!(attributes.len(), 1 + settings.extra_attributes);
        let anonymous_logged_in = requests.iter().any(|request| {
            request.user_id.is_empty() && request.context.as_ref().unwrap().logged_in == Some(true)
        });
        assert!(!anonymous_logged_in, "an anonymous visitor is never logged in");
    }

    #[test]
    fn echo_requests_have_the_asked_size() {
        for size in [10, 127, 128, 129, 200, 16_385] {
            let encoded = echo_request(size, 700);
            assert_eq!(encoded.len(), size, "asked {size}");
            let decoded = crate::pb::EchoRequest::decode(encoded).expect("decodes");
            assert_eq!(decoded.response_bytes, 700);
        }
        // Too small to hold the response size itself: the smallest possible message.
        assert_eq!(echo_request(1, 700).len(), 3);
    }
}
