use futures::StreamExt as _;
use tokio_postgres::AsyncMessage;
use vary_proto::pb;
use vary_tests::{TestControlPlane, fixtures};

/// Concurrent writers to different experiments: every committed change gets its own
/// revision, and revisions increase in commit order. Postgres delivers NOTIFYs in commit
/// order, so the revisions announced on the config channel must be strictly increasing.
#[tokio::test]
async fn concurrent_writers_get_unique_revisions_strictly_increasing_in_commit_order() {
    let server = TestControlPlane::start().await.expect("control plane");
    let pg_config: tokio_postgres::Config = server.database.url.parse().expect("url");
    let (listener, mut connection) =
        pg_config.connect(tokio_postgres::NoTls).await.expect("connect");
    let (notifications_tx, mut notifications) = tokio::sync::mpsc::unbounded_channel();
    let pump = tokio::spawn(async move {
        let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(Ok(message)) = messages.next().await {
            if let AsyncMessage::Notification(notification) = message {
                let _ =
                    notifications_tx.send(notification.payload().parse::<i64>().expect("revision"));
            }
        }
    });
    listener.batch_execute("LISTEN vary_config").await.expect("listen");

    const WRITERS: usize = 12;
    const CHANGES_PER_WRITER: usize = 4;
    let client = server.experiments().await.expect("client");
    let writers = (0..WRITERS).map(|writer| {
        let mut client = client.clone();
        tokio::spawn(async move {
            let key = format!("concurrent-{writer}");
            let mut revisions = Vec::new();
            let created = client
                .create_experiment(pb::CreateExperimentRequest {
                    key: key.clone(),
                    spec: Some(fixtures::spec("C")),
                    change_note: String::new(),
                })
                .await
                .expect("create")
                .into_inner();
            revisions.push(created.experiment.expect("experiment").revision);
            for step in 1..CHANGES_PER_WRITER {
                let ramped = client
                    .set_experiment_allocation(pb::SetExperimentAllocationRequest {
                        key: key.clone(),
                        allocation_bps: step as u32 * 100,
                        change_note: String::new(),
                    })
                    .await
                    .expect("ramp")
                    .into_inner();
                revisions.push(ramped.experiment.expect("experiment").revision);
            }
            revisions
        })
    });
    let mut returned: Vec<i64> = futures::future::join_all(writers)
        .await
        .into_iter()
        .flat_map(|revisions| revisions.expect("writer"))
        .collect();

    let total = WRITERS * CHANGES_PER_WRITER;
    let mut announced = Vec::with_capacity(total);
    while announced.len() < total {
        let revision =
            tokio::time::timeout(std::time::Duration::from_secs(30), notifications.recv())
                .await
                .expect("notification in time")
                .expect("channel open");
        announced.push(revision);
    }
    assert!(
        announced.windows(2).all(|pair| pair[0] < pair[1]),
        "not in commit order: {announced:?}"
    );
    returned.sort_unstable();
    assert_eq!(returned, announced, "each change reports the revision it committed at");
    assert_eq!(returned, (1..=total as i64).collect::<Vec<_>>(), "no gaps, no duplicates");
    pump.abort();
}
