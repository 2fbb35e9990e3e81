//! Issue 10, item 7: what a control plane answers cannot send the poller, or its token,
//! elsewhere; names are percent-encoded into URL paths; bodies are capped while they stream.

use std::sync::Arc;
use std::time::{Duration, Instant};

use app::mesh::repo;
use kuma_sim::clock::{ManualClock, SystemClock};
use kuma_sim::WorldSpec;
use secrecy::SecretString;
use server::config::kuma::ControlPlane;
use server::config::KumaArgs;
use server::mesh::poller::Poller;

use super::front::{recorder, Front, Mode, HUGE};
use super::{args, services, small_world};
use crate::util::TestApp;

const TOKEN: &str = "kuma-token-for-the-configured-control-plane-only";

async fn poller_with(app: &TestApp, url: &str, args: &KumaArgs) -> Poller {
    let cp = ControlPlane {
        name: "default".into(),
        url: url.to_owned(),
        token: Some(SecretString::from(TOKEN)),
        policy_mode: Default::default(),
    };
    Poller::new(app.pool.clone(), &cp, args).await.expect("poller")
}

async fn last_error(app: &TestApp) -> String {
    let status = app.get_json_as("/api/v1/mesh/status", &app.admin_token).await;
    status["items"][0]["last_error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error recorded: {status}"))
        .to_owned()
}

#[tokio::test]
async fn issue_10_a_next_link_or_redirect_elsewhere_fails_the_poll_and_the_token_stays_home() {
    let app = TestApp::new().await;
    let front = Front::start(small_world(), Arc::new(SystemClock::new()), &[]).await;
    let mut poller = poller_with(&app, &front.url, &args()).await;
    poller.poll_once().await.expect("a faithful poll");
    let stored = services(&app).await;
    assert!(!stored.is_empty());
    let bearer = format!("Bearer {TOKEN}");
    assert!(
        front
            .seen()
            .iter()
            .all(|s| s.authorization.as_deref() == Some(bearer.as_str())),
        "the configured control plane gets the token"
    );

    for (what, mode) in [
        ("next link", Mode::ForeignNext as fn(String) -> Mode),
        ("redirect", Mode::ForeignRedirect),
    ] {
        // Elsewhere answers like a control plane with nothing in it: following it would "work".
        let (elsewhere, asked) = recorder().await;
        front.set_mode(mode(elsewhere.clone()));
        let err = poller
            .poll_once()
            .await
            .expect_err("a poll sent to another origin fails");
        let text = format!("{err:#}");
        assert!(
            text.contains("GET /meshes?size=1000") && text.contains(&format!("{elsewhere},")),
            "{what}: the error names the request and where it was sent: {text}"
        );
        assert!(text.contains("not the configured control plane"), "{what}: {text}");
        assert!(
            asked.lock().expect("asked").is_empty(),
            "{what}: the other server was never asked, so never got the token: {:?}",
            asked.lock().expect("asked")
        );
        assert_eq!(services(&app).await, stored, "{what}: the stored state is unchanged");
        assert_eq!(last_error(&app).await, err.to_string(), "{what}: the error is recorded");
    }
}

#[tokio::test]
async fn issue_10_names_with_slash_and_question_mark_are_one_encoded_path_segment() {
    const MESH: &str = "a/b?c#d%2Fe";
    const PROXY: &str = "web/1?x";
    let app = TestApp::new().await;
    let world = WorldSpec::parse(
        r#"{
        "meshes": [{"name": "hostile-mesh"}],
        "services": [
            {"name": "web", "mesh": "hostile-mesh", "proxies": [{"name": "hostile-proxy"}]},
            {"name": "backend", "mesh": "hostile-mesh", "replicas": 1}
        ],
        "traffic": [{"from": "web", "to": "backend", "rps": 10, "mesh": "hostile-mesh"}]
    }"#,
    )
    .expect("world");
    let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
    let front = Front::start(
        world,
        clock.clone(),
        &[("hostile-mesh", MESH), ("hostile-proxy", PROXY)],
    )
    .await;
    let mut poller = poller_with(&app, &front.url, &args()).await;
    poller.poll_once().await.expect("the poll succeeds");

    let proxies = repo::list_proxies(&app.pool, "default").await.expect("proxies");
    assert!(
        proxies.iter().any(|p| p.mesh == MESH && p.name == PROXY),
        "the names are stored as served: {proxies:?}"
    );
    let t0 = Instant::now();
    poller.stats_at(t0).await.expect("first stats read");
    clock.advance(Duration::from_secs(60));
    poller
        .stats_at(t0 + Duration::from_secs(60))
        .await
        .expect("second stats read");
    let web: Vec<f64> =
        sqlx::query_scalar("SELECT requests_per_s FROM mesh_traffic WHERE service = 'web' AND direction = 'outbound'")
            .fetch_all(&app.pool)
            .await
            .expect("traffic");
    assert!(
        web.len() == 1 && (web[0] - 10.0).abs() < 0.01,
        "the stats of {PROXY:?} (web's only proxy) were read: {web:?}"
    );

    let paths: Vec<String> = front.seen().into_iter().map(|s| s.path).collect();
    for want in [
        "/meshes/a%2Fb%3Fc%23d%252Fe/dataplanes+insights?size=1000",
        "/meshes/a%2Fb%3Fc%23d%252Fe/meshtrafficpermissions?size=1000",
        "/meshes/a%2Fb%3Fc%23d%252Fe/dataplanes/web%2F1%3Fx/stats",
    ] {
        assert!(paths.iter().any(|p| p == want), "no request for {want}: {paths:#?}");
    }
}

#[tokio::test]
async fn issue_10_a_100_mib_answer_fails_at_the_cap_and_is_never_read_whole() {
    // Kernel socket buffers and the server's own buffer let some bytes past the cap before the
    // poller hangs up; a fraction of the 100 MiB answer, never the whole of it.
    const AT_MOST_SENT: u64 = 32 * 1024 * 1024;
    let logs = crate::logs::install();
    let app = TestApp::new().await;
    let front = Front::start(small_world(), Arc::new(SystemClock::new()), &[]).await;
    let capped = KumaArgs {
        kuma_max_body_size: 1024 * 1024,
        ..args()
    };
    let mut poller = poller_with(&app, &front.url, &capped).await;
    poller.poll_once().await.expect("a faithful poll");
    let stored = services(&app).await;

    for declared in [false, true] {
        front.set_mode(Mode::Huge {
            suffix: "/dataplanes+insights",
            declared,
        });
        let err = poller.poll_once().await.expect_err("a 100 MiB page fails the poll");
        let text = format!("{err:#}");
        assert!(
            text.contains("GET /meshes/default/dataplanes+insights?size=1000")
                && text.contains("larger than 1048576 bytes")
                && text.contains("--kuma-max-body-size"),
            "declared: {declared}: {text}"
        );
        assert_eq!(last_error(&app).await, err.to_string());
        assert_eq!(services(&app).await, stored, "the stored state is unchanged");
        let sent = front.largest_huge();
        assert!(
            sent < AT_MOST_SENT,
            "declared: {declared}: {sent} of {HUGE} bytes were sent: the poller read on past the cap"
        );
    }

    // Envoy stats are capped the same way; the proxies' traffic is not counted, and one warning
    // says why.
    front.set_mode(Mode::Faithful);
    poller.poll_once().await.expect("recovered");
    front.set_mode(Mode::Huge {
        suffix: "/stats",
        declared: false,
    });
    assert_eq!(poller.stats_once().await.expect("stats round"), 0);
    let sent = front.largest_huge();
    assert!(sent < AT_MOST_SENT, "{sent} bytes of one stats answer were sent");
    let stats_reads = front.seen().iter().filter(|s| s.path.ends_with("/stats")).count();
    assert!(stats_reads > 0, "the online proxies' stats were asked for");
    assert_eq!(
        logs.count("Envoy stats over the body cap", "larger than 1048576 bytes"),
        1,
        "one warning for the round"
    );
}
