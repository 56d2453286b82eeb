use time::{Duration, OffsetDateTime};
use tonic::Code;
use vary_proto::{
    model::timestamp_from_time,
    pb::{self, event::Kind, event_ingest_service_client::EventIngestServiceClient},
};
use vary_tests::TestControlPlane;

use crate::assert_status;

pub(crate) fn exposure(
    id: &str,
    unit: &str,
    variant: &str,
    at: OffsetDateTime,
    forced: bool,
) -> pb::Event {
    pb::Event {
        kind: Some(Kind::Exposure(pb::ExposureEvent {
            event_id: id.to_owned(),
            experiment_key: "reco_ymal_v1".into(),
            experiment_version: 2,
            variant_key: variant.into(),
            unit_type: pb::UnitType::User as i32,
            unit_id: unit.into(),
            user_id: unit.into(),
            session_id: format!("s-{unit}"),
            placement: "pdp".into(),
            forced,
            config_revision: 7,
            time: Some(timestamp_from_time(at)),
        })),
    }
}

pub(crate) fn outcome(
    id: &str,
    user: &str,
    event_type: &str,
    at: OffsetDateTime,
    value: Option<f64>,
) -> pb::Event {
    pb::Event {
        kind: Some(Kind::Outcome(pb::OutcomeEvent {
            event_id: id.to_owned(),
            event_type: event_type.into(),
            user_id: user.into(),
            placement: "pdp".into(),
            item_id: "sku-1".into(),
            value,
            time: Some(timestamp_from_time(at)),
            properties: [("source".to_owned(), "test".to_owned())].into(),
            ..Default::default()
        })),
    }
}

pub(crate) fn ids(count: usize) -> Vec<String> {
    (0..count).map(|_| uuid::Uuid::now_v7().to_string()).collect()
}

pub(crate) async fn ingest(
    server: &TestControlPlane,
    events: Vec<pb::Event>,
) -> Result<pb::IngestEventsResponse, tonic::Status> {
    let mut client = EventIngestServiceClient::new(server.channel().await.expect("channel"));
    client
        .ingest_events(pb::IngestEventsRequest { events, source: "test".into() })
        .await
        .map(tonic::Response::into_inner)
}

async fn count(server: &TestControlPlane, table: &str) -> i64 {
    let database = server.database.connect().await.expect("db");
    database.query_one(&format!("SELECT count(*) FROM {table}"), &[]).await.expect("count").get(0)
}

#[tokio::test]
async fn a_replayed_batch_is_stored_once_and_counted_as_duplicates() {
    let server = TestControlPlane::start().await.expect("control plane");
    let now = OffsetDateTime::now_utc();
    let ids = ids(200);
    let batch: Vec<pb::Event> = ids
        .iter()
        .enumerate()
        .map(|(index, id)| {
            if index % 2 == 0 {
                exposure(id, &format!("u{index}"), "control", now, false)
            } else {
                outcome(id, &format!("u{index}"), "add_to_cart", now, Some(19.99))
            }
        })
        .collect();
    let first = ingest(&server, batch.clone()).await.expect("first");
    assert_eq!((first.accepted, first.duplicates, first.rejections.len()), (200, 0, 0));
    let again = ingest(&server, batch).await.expect("replay");
    assert_eq!((again.accepted, again.duplicates, again.rejections.len()), (0, 200, 0));
    assert_eq!((count(&server, "exposures").await, count(&server, "outcomes").await), (100, 100));

    let database = server.database.connect().await.expect("db");
    let row = database
        .query_one("SELECT value, properties->>'source', item_id FROM outcomes LIMIT 1", &[])
        .await
        .expect("row");
    assert_eq!(row.get::<_, Option<f64>>(0), Some(19.99));
    assert_eq!(row.get::<_, Option<String>>(1).as_deref(), Some("test"));
}

#[tokio::test]
async fn malformed_events_get_their_reasons_and_valid_ones_in_the_batch_are_kept() {
    let server = TestControlPlane::start().await.expect("control plane");
    let now = OffsetDateTime::now_utc();
    let good = ids(3);
    let events = vec![
        exposure(&good[0], "u1", "control", now, false),
        pb::Event { kind: None },
        outcome("not-a-uuid", "u1", "click", now, None),
        outcome(&good[1], "u1", "Add To Cart", now, None),
        outcome(&good[2], "", "click", now, None),
        outcome(&ids(1)[0], "u1", "click", now + Duration::hours(2), None),
        exposure(&ids(1)[0], "", "control", now, false),
        outcome(&good[1].replace('-', ""), "u2", "purchase", now, Some(5.0)),
    ];
    let response = ingest(&server, events).await.expect("ingest");
    let refused: Vec<(i32, i32)> =
        response.rejections.iter().map(|r| (r.index, r.reason)).collect();
    use pb::EventRejectionReason as R;
    assert_eq!(
        refused,
        [
            (1, R::UnknownKind as i32),
            (2, R::InvalidEventId as i32),
            (3, R::InvalidEventType as i32),
            (4, R::MissingUnit as i32),
            (5, R::InvalidTime as i32),
            (6, R::MissingUnit as i32),
        ]
    );
    assert!(
        response.rejections[4].message.starts_with("events[5].outcome.time: "),
        "{:?}",
        response.rejections[4]
    );
    assert_eq!(response.rejections[1].event_id, "not-a-uuid");
    // The exposure and the last outcome (a UUID in simple form) were stored.
    assert_eq!((response.accepted, response.duplicates), (2, 0));
    assert_eq!((count(&server, "exposures").await, count(&server, "outcomes").await), (1, 1));
}

#[tokio::test]
async fn the_same_event_twice_in_one_batch_is_stored_once() {
    let server = TestControlPlane::start().await.expect("control plane");
    let id = ids(1).remove(0);
    let now = OffsetDateTime::now_utc();
    let event = outcome(&id, "u1", "click", now, None);
    let response = ingest(&server, vec![event.clone(), event]).await.expect("ingest");
    assert_eq!((response.accepted, response.duplicates), (1, 1));
}

#[tokio::test]
async fn a_request_over_the_batch_limit_is_invalid_argument() {
    let server = TestControlPlane::start().await.expect("control plane");
    let events = vec![pb::Event { kind: None }; 10_001];
    assert_status(ingest(&server, events).await, Code::InvalidArgument, &["events: at most 10000"]);
}

/// The BI views: first exposure per unit (forced ones left out), daily counts per
/// variant, and outcomes counted only at or after the unit's first exposure.
#[tokio::test]
async fn bi_views_attribute_outcomes_after_the_first_unforced_exposure() {
    let server = TestControlPlane::start().await.expect("control plane");
    let day = OffsetDateTime::now_utc().replace_time(time::Time::MIDNIGHT) - Duration::days(1);
    let at = |hour: i64| day + Duration::hours(hour);
    let ids = ids(9);
    let events = vec![
        exposure(&ids[0], "alice", "control", at(1), false),
        exposure(&ids[1], "alice", "control", at(3), false),
        exposure(&ids[2], "bob", "treatment", at(2), false),
        exposure(&ids[3], "qa-user", "treatment", at(1), true),
        outcome(&ids[4], "alice", "add_to_cart", at(0), None), // before exposure: not counted
        outcome(&ids[5], "alice", "add_to_cart", at(4), None),
        outcome(&ids[6], "bob", "add_to_cart", at(5), None),
        outcome(&ids[7], "bob", "purchase", at(6), Some(30.0)),
        outcome(&ids[8], "qa-user", "add_to_cart", at(6), None), // forced only: not counted
    ];
    let response = ingest(&server, events).await.expect("ingest");
    assert_eq!(response.accepted, 9);

    let database = server.database.connect().await.expect("db");
    let firsts: Vec<(String, String)> = database
        .query("SELECT unit_id, variant_key FROM first_exposures ORDER BY unit_id", &[])
        .await
        .expect("first exposures")
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    assert_eq!(firsts, [("alice".into(), "control".into()), ("bob".into(), "treatment".into())]);

    let exposures: Vec<(String, i64, i64)> = database
        .query(
            "SELECT variant_key, exposures, units FROM daily_exposures ORDER BY variant_key",
            &[],
        )
        .await
        .expect("daily exposures")
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2)))
        .collect();
    assert_eq!(exposures, [("control".into(), 2, 1), ("treatment".into(), 1, 1)]);

    let outcomes: Vec<(String, String, i64, Option<f64>)> = database
        .query(
            "SELECT variant_key, event_type, events, value_sum FROM daily_outcomes ORDER BY variant_key, event_type",
            &[],
        )
        .await
        .expect("daily outcomes")
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2), row.get(3)))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("control".into(), "add_to_cart".into(), 1, None),
            ("treatment".into(), "add_to_cart".into(), 1, None),
            ("treatment".into(), "purchase".into(), 1, Some(30.0)),
        ]
    );
}
