//! Tests of the test harness itself: the throwaway PostgreSQL and its per-test databases.

use std::{
    collections::HashSet,
    io::{BufRead as _, BufReader},
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use vary_tests::{TestDatabase, TestPostgres};

/// Set in the child process of `throwaway_cluster_is_removed_when_its_test_process_is_killed`.
const CHILD_ENV: &str = "VARY_HARNESS_CHILD";

/// How the child reports its cluster dir on stdout.
const DIR_LINE_PREFIX: &str = "cluster dir: ";

async fn current_database(database: &TestDatabase) -> String {
    let client = database.connect().await.expect("test database accepts connections");
    client
        .query_one("SELECT current_database()", &[])
        .await
        .expect("current_database() works")
        .get(0)
}

#[tokio::test]
async fn two_databases_are_distinct_and_usable() {
    let first = TestPostgres::create_database().await.expect("first database");
    let second = TestPostgres::create_database().await.expect("second database");
    assert_ne!(first.name, second.name);
    assert_eq!(current_database(&first).await, first.name);
    assert_eq!(current_database(&second).await, second.name);

    let first_client = first.connect().await.expect("connect to first");
    first_client
        .batch_execute("CREATE TABLE only_in_first (id int); INSERT INTO only_in_first VALUES (1)")
        .await
        .expect("first database accepts DDL and writes");
    let second_client = second.connect().await.expect("connect to second");
    let tables_in_second: i64 = second_client
        .query_one("SELECT count(*) FROM pg_tables WHERE tablename = 'only_in_first'", &[])
        .await
        .expect("catalog query works")
        .get(0);
    assert_eq!(tables_in_second, 0, "a table made in one test database leaked into another");
}

#[tokio::test]
async fn database_url_works_with_tokio_postgres_config_and_deadpool() {
    let database = TestPostgres::create_database().await.expect("database");
    let config: tokio_postgres::Config = database.url.parse().expect("url parses as a Config");
    assert_eq!(config.get_dbname(), Some(database.name.as_str()));

    let manager = deadpool_postgres::Manager::new(config, tokio_postgres::NoTls);
    let pool = deadpool_postgres::Pool::builder(manager).max_size(2).build().expect("pool builds");
    let client = pool.get().await.expect("pool hands out a connection");
    let one: i32 = client.query_one("SELECT 1", &[]).await.expect("query works").get(0);
    assert_eq!(one, 1);
}

#[tokio::test]
async fn concurrent_create_database_calls_all_succeed_with_distinct_names() {
    const TASKS: usize = 24;
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| {
            tokio::spawn(async {
                let database = TestPostgres::create_database().await.expect("database");
                assert_eq!(current_database(&database).await, database.name);
                database.name
            })
        })
        .collect();
    let mut names = HashSet::new();
    for task in tasks {
        names.insert(task.await.expect("task did not panic"));
    }
    assert_eq!(names.len(), TASKS);
}

/// Runs in a child process: starts the cluster, reports its dir, then waits to be killed.
#[tokio::test]
#[ignore = "helper: run by throwaway_cluster_is_removed_when_its_test_process_is_killed"]
async fn child_process_starts_a_cluster_and_waits_to_be_killed() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    let postgres = TestPostgres::shared().await.expect("cluster starts");
    let dir = postgres.cluster_dir().expect("no DATABASE_URL in the child");
    println!("{DIR_LINE_PREFIX}{}", dir.display());
    std::future::pending::<()>().await;
}

#[tokio::test]
async fn throwaway_cluster_is_removed_when_its_test_process_is_killed() {
    if std::env::var_os("DATABASE_URL").is_some() {
        return; // no throwaway cluster to remove
    }
    let mut child = Command::new(std::env::current_exe().expect("test binary path"))
        .args(["--ignored", "--exact", "--nocapture"])
        .arg("child_process_starts_a_cluster_and_waits_to_be_killed")
        .env(CHILD_ENV, "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("child test process spawns");
    let stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
    let dir: PathBuf = stdout
        .lines()
        .map(|line| line.expect("child stdout is readable"))
        .find_map(|line| line.strip_prefix(DIR_LINE_PREFIX).map(PathBuf::from))
        .expect("child reports its cluster dir");
    let postmaster_pid = postmaster_pid(&dir);
    assert!(Path::new(&format!("/proc/{postmaster_pid}")).exists(), "postgres is running");

    child.kill().expect("child can be killed");
    child.wait().expect("child is reaped");

    // The watchdog has no signal to await from here; poll, bounded.
    let deadline = Instant::now() + Duration::from_secs(30);
    while dir.exists() || Path::new(&format!("/proc/{postmaster_pid}")).exists() {
        assert!(Instant::now() < deadline, "cluster {} outlived its process", dir.display());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The first line of `postmaster.pid` is the server's pid.
fn postmaster_pid(cluster_dir: &Path) -> u32 {
    let pid_file = cluster_dir.join("data/postmaster.pid");
    let contents = std::fs::read_to_string(&pid_file).expect("postmaster.pid is readable");
    contents.lines().next().and_then(|line| line.parse().ok()).expect("postmaster.pid has a pid")
}
