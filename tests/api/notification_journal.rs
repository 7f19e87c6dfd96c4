//! The shared notification journal against a real `redis-server`: what the
//! receiver appends is read back verbatim and in order by every replica and
//! after restarts, a resend stores nothing, the age trim tells late readers
//! what they missed, and a Redis that is down is an error, not a hang.

use std::time::{Duration, Instant};

use secrecy::SecretString;
use tco_gateway::{
    config::RedisSettings,
    domain::{Appended, Cursor, JournalError, NotificationJournal, RawForm},
    notifications::journal::{RedisJournal, follower_client},
    shared_state,
};

use crate::{helpers::PATIENCE, redis_server::RedisServer};

const WEEK: Duration = Duration::from_secs(7 * 24 * 3600);

/// A journal as a gateway replica builds it: its own shared connection and follower client.
async fn replica(redis: &RedisServer, retention: Duration) -> RedisJournal {
    let settings = RedisSettings { url: Some(SecretString::from(redis.url())) };
    let connection = shared_state::connect(&settings).await.unwrap().unwrap();
    let client = follower_client(settings.url.as_ref().unwrap()).unwrap();
    RedisJournal::new(connection, client, retention)
}

fn form(message_id: &str) -> RawForm {
    RawForm::new(vec![
        ("message_type".into(), "ORDER_CREATED".into()),
        ("message_id".into(), message_id.into()),
        ("vendor_id".into(), "250111206876".into()),
    ])
}

fn message_ids(entries: &[tco_gateway::domain::JournalEntry]) -> Vec<&str> {
    entries.iter().map(|entry| entry.form.get("message_id").unwrap()).collect()
}

/// Appends until Redis answers (the shared connection reconnects in the background after a restart).
async fn append_once_redis_is_back(journal: &RedisJournal, key: &str, form: RawForm) -> Cursor {
    let started = Instant::now();
    loop {
        match journal.append(key, form.clone()).await {
            Ok(appended) => return appended.cursor(),
            Err(error) => assert!(started.elapsed() < PATIENCE, "Redis never came back: {error}"),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Redis's own clock, in milliseconds (what stamps entry ids and trims them).
async fn redis_millis(redis: &RedisServer) -> u64 {
    let (seconds, micros): (u64, u64) = redis::cmd("TIME").query_async(&mut redis.connection().await).await.unwrap();
    seconds * 1000 + micros / 1000
}

#[tokio::test]
async fn appended_entries_read_back_in_order_with_their_fields_verbatim() {
    let redis = RedisServer::start().await;
    let journal = replica(&redis, WEEK).await;
    let odd = RawForm::new(vec![
        ("message_id".into(), "1".into()),
        ("IPN_PID[]".into(), "1".into()),
        ("IPN_PID[]".into(), "2".into()),
        ("customer_name".into(), "  Zoë & Ødegård=1%20 ".into()),
        ("empty".into(), String::new()),
        ("v".into(), "not the format version".into()),
    ]);
    let first = journal.append("250111206876:1", odd.clone()).await.unwrap();
    let second = journal.append("250111206876:2", form("2")).await.unwrap();
    let third = journal.append("250111206876:3", form("3")).await.unwrap();
    let empty = journal.append("250111206876:4", RawForm::default()).await.unwrap();
    assert!(matches!(first, Appended::New(_)));
    assert!(first.cursor() < second.cursor() && second.cursor() < third.cursor() && third.cursor() < empty.cursor());

    let page = journal.read_after(Cursor::ORIGIN, 2).await.unwrap();
    assert!(!page.gap);
    assert_eq!(page.entries.len(), 2);
    assert_eq!(page.entries[0].cursor, first.cursor());
    assert_eq!(*page.entries[0].form, odd, "every field, in posted order, repeated names and all");
    assert_eq!(page.entries[1].cursor, second.cursor());
    let rest = journal.read_after(page.entries[1].cursor, 10).await.unwrap();
    assert_eq!(message_ids(&rest.entries[..1]), ["3"]);
    assert!(rest.entries[1].form.is_empty());
    assert_eq!(rest.entries.len(), 2);
    assert!(journal.read_after(empty.cursor(), 10).await.unwrap().entries.is_empty());
    assert_eq!(journal.head().await.unwrap(), empty.cursor());
}

#[tokio::test]
async fn a_duplicate_key_returns_the_first_cursor_and_stores_nothing() {
    let redis = RedisServer::start().await;
    let journal = replica(&redis, WEEK).await;
    let first = journal.append("250111206876:7", form("7")).await.unwrap();
    let resent = journal.append("250111206876:7", form("7, resent")).await.unwrap();
    assert_eq!(resent, Appended::Duplicate(first.cursor()));
    let read = journal.read_after(Cursor::ORIGIN, 10).await.unwrap();
    assert_eq!(message_ids(&read.entries), ["7"]);
    let length: u64 =
        redis::cmd("XLEN").arg("tco:ins:{journal}").query_async(&mut redis.connection().await).await.unwrap();
    assert_eq!(length, 1);
}

#[tokio::test]
async fn replicas_see_each_others_appends_through_follow_and_read_after() {
    let redis = RedisServer::start().await;
    let (one, two) = (replica(&redis, WEEK).await, replica(&redis, WEEK).await);
    let mut two_follows = two.follow();
    let mut one_follows = one.follow();

    let on_one = one.append("250111206876:1", form("1")).await.unwrap().cursor();
    let seen = tokio::time::timeout(PATIENCE, two_follows.wait_for(|newest| *newest >= on_one)).await;
    assert_eq!(*seen.expect("replica two learns of replica one's append").unwrap(), on_one);
    assert_eq!(message_ids(&two.read_after(Cursor::ORIGIN, 10).await.unwrap().entries), ["1"]);

    let on_two = two.append("250111206876:2", form("2")).await.unwrap().cursor();
    let seen = tokio::time::timeout(PATIENCE, one_follows.wait_for(|newest| *newest >= on_two)).await;
    assert_eq!(*seen.expect("replica one learns of replica two's append").unwrap(), on_two);
    assert_eq!(message_ids(&one.read_after(on_one, 10).await.unwrap().entries), ["2"]);

    // The key is shared too: a resend to the other replica is a duplicate.
    assert_eq!(two.append("250111206876:1", form("1")).await.unwrap(), Appended::Duplicate(on_one));
}

#[tokio::test]
async fn every_accepted_entry_outlives_a_gateway_restart_and_a_redis_restart() {
    let mut redis = RedisServer::start().await;
    let before = replica(&redis, WEEK).await;
    let mut following = before.follow();
    let first = before.append("250111206876:1", form("1")).await.unwrap().cursor();
    let second = before.append("250111206876:2", form("2")).await.unwrap().cursor();

    // A gateway restart: a new journal on the same Redis.
    let restarted = replica(&redis, WEEK).await;
    assert_eq!(message_ids(&restarted.read_after(Cursor::ORIGIN, 10).await.unwrap().entries), ["1", "2"]);
    assert_eq!(restarted.head().await.unwrap(), second);

    // A Redis restart (appendonly, SIGTERM): nothing accepted is lost, keys included.
    redis.restart().await;
    let third = append_once_redis_is_back(&restarted, "250111206876:3", form("3")).await;
    let after_redis_restart = replica(&redis, WEEK).await;
    let read = after_redis_restart.read_after(Cursor::ORIGIN, 10).await.unwrap();
    assert_eq!(message_ids(&read.entries), ["1", "2", "3"]);
    assert_eq!(read.entries[0].cursor, first);
    assert_eq!(after_redis_restart.append("250111206876:2", form("2")).await.unwrap(), Appended::Duplicate(second));

    // The old journal's follower reconnected and saw what another replica appended meanwhile.
    let seen = tokio::time::timeout(PATIENCE, following.wait_for(|newest| *newest >= third)).await;
    assert_eq!(*seen.expect("the follower reconnects after a Redis restart").unwrap(), third);
}

#[tokio::test]
async fn the_age_trim_reports_a_gap_only_to_readers_before_a_trimmed_entry() {
    let redis = RedisServer::start().await;
    let retention = Duration::from_millis(100);
    let journal = replica(&redis, retention).await;
    let old = journal.append("250111206876:1", form("1")).await.unwrap().cursor();
    let older_than_retention = journal.append("250111206876:2", form("2")).await.unwrap().cursor();
    assert!(!journal.read_after(Cursor::ORIGIN, 10).await.unwrap().gap, "nothing trimmed yet");

    // Wait on Redis's clock (what trims), not on ours.
    let started = Instant::now();
    while redis_millis(&redis).await <= older_than_retention.millis() + 100 {
        assert!(started.elapsed() < PATIENCE, "Redis's clock stands still");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let new = journal.append("250111206876:3", form("3")).await.unwrap().cursor();

    let from_origin = journal.read_after(Cursor::ORIGIN, 10).await.unwrap();
    assert_eq!(message_ids(&from_origin.entries), ["3"]);
    assert!(from_origin.gap, "entries 1 and 2 were trimmed before this reader saw them");
    let after_first = journal.read_after(old, 10).await.unwrap();
    assert!(after_first.gap, "entry 2 was trimmed before this reader saw it");
    let after_both = journal.read_after(older_than_retention, 10).await.unwrap();
    assert_eq!(message_ids(&after_both.entries), ["3"]);
    assert!(!after_both.gap, "this reader saw everything that was trimmed");
    assert!(!journal.read_after(new, 10).await.unwrap().gap);
    // The dedupe key went with its entry: a resend now is stored again.
    assert!(
        matches!(journal.append("250111206876:1", form("1")).await.unwrap(), Appended::New(cursor) if cursor > new)
    );
}

#[tokio::test]
async fn a_redis_that_is_down_is_an_unavailable_journal_not_a_hang() {
    let mut redis = RedisServer::start().await;
    let journal = replica(&redis, WEEK).await;
    journal.append("250111206876:1", form("1")).await.unwrap();
    redis.stop().await;
    let url = redis.url();
    let port = url.rsplit(':').next().unwrap();

    let appended = tokio::time::timeout(PATIENCE, journal.append("250111206876:2", form("2"))).await;
    let read = tokio::time::timeout(PATIENCE, journal.read_after(Cursor::ORIGIN, 10)).await;
    let head = tokio::time::timeout(PATIENCE, journal.head()).await;
    for (operation, error) in [
        ("append", appended.expect("append answers").unwrap_err()),
        ("read", read.expect("read answers").unwrap_err()),
        ("head", head.expect("head answers").unwrap_err()),
    ] {
        let JournalError::Unavailable(text) = &error;
        assert!(text.starts_with(operation), "{operation}: {text}");
        assert!(!text.contains(port), "never the address: {text}");
    }
}

#[tokio::test]
async fn dropping_the_journal_stops_its_follower() {
    let redis = RedisServer::start().await;
    let journal = replica(&redis, WEEK).await;
    let mut following = journal.follow();
    // The follower is up once it published the head it read (a first append makes that observable).
    let appended = journal.append("250111206876:1", form("1")).await.unwrap().cursor();
    following.wait_for(|newest| *newest >= appended).await.unwrap();
    drop(journal);
    let closed = tokio::time::timeout(PATIENCE, following.changed()).await;
    assert!(closed.expect("the follower ends with the journal").is_err(), "nothing is published any more");
}
