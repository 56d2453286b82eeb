//! The control plane's view of `vary.v1.WatchResponse`: the same wire format, but the
//! snapshot travels as bytes encoded once per revision (see `build.rs`).

use bytes::Bytes;
use vary_proto::pb;

/// `vary.v1.WatchResponse` with its `snapshot` pre-encoded. Exactly one field is set.
///
/// Tags and wire types match `config_distribution.proto`: field 1 is a length-delimited
/// `ConfigSnapshot`, which a `bytes` field holding its encoding reproduces exactly.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WatchResponseFrame {
    /// An encoded `vary.v1.ConfigSnapshot`, shared (reference-counted) by every stream.
    #[prost(bytes = "bytes", optional, tag = "1")]
    pub snapshot: Option<Bytes>,
    /// The agent already serves the head.
    #[prost(message, optional, tag = "2")]
    pub up_to_date: Option<pb::ConfigUpToDate>,
    /// Keep-alive carrying the head revision.
    #[prost(message, optional, tag = "3")]
    pub heartbeat: Option<pb::Heartbeat>,
}

impl WatchResponseFrame {
    /// A frame carrying an encoded snapshot.
    pub fn encoded_snapshot(encoded: Bytes) -> Self {
        Self { snapshot: Some(encoded), ..Self::default() }
    }

    /// A frame saying the agent is at the head.
    pub fn up_to_date(revision: i64) -> Self {
        Self { up_to_date: Some(pb::ConfigUpToDate { revision }), ..Self::default() }
    }

    /// A heartbeat frame.
    pub fn heartbeat(head_revision: i64) -> Self {
        Self { heartbeat: Some(pb::Heartbeat { head_revision }), ..Self::default() }
    }
}

#[cfg(test)]
mod tests {
    use prost::Message as _;

    use super::*;

    #[test]
    fn a_frame_decodes_as_the_watch_response_agents_expect() {
        let snapshot = pb::ConfigSnapshot {
            revision: 42,
            commit_time: None,
            experiments: vec![pb::Experiment {
                key: "exp".into(),
                version: 3,
                ..Default::default()
            }],
        };
        let frame = WatchResponseFrame::encoded_snapshot(Bytes::from(snapshot.encode_to_vec()));
        let decoded = pb::WatchResponse::decode(frame.encode_to_vec().as_slice()).expect("decodes");
        assert_eq!(decoded.kind, Some(pb::watch_response::Kind::Snapshot(snapshot)));

        let heartbeat =
            pb::WatchResponse::decode(WatchResponseFrame::heartbeat(7).encode_to_vec().as_slice())
                .expect("decodes");
        assert_eq!(
            heartbeat.kind,
            Some(pb::watch_response::Kind::Heartbeat(pb::Heartbeat { head_revision: 7 }))
        );
        let up_to_date =
            pb::WatchResponse::decode(WatchResponseFrame::up_to_date(7).encode_to_vec().as_slice())
                .expect("decodes");
        assert_eq!(
            up_to_date.kind,
            Some(pb::watch_response::Kind::UpToDate(pb::ConfigUpToDate { revision: 7 }))
        );
    }
}
