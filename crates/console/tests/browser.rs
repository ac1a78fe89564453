//! The web console in a real browser: Debian's headless Chromium driven over WebDriver
//! (chromedriver, through fantoccini) against a console in front of an in-process NameServer
//! and broker. Logs in, creates a topic through the form and finds it in the list, dial-tests
//! it, finds a message by key with its consume status, resets a group's offset and reads the
//! before/after table, resends dead letters and a message, creates a user, switches to Chinese, and watches the TPS chart gain a
//! point; every page's screenshot is saved under `target/tmp/console-screenshots/`.
//!
//! Without chromedriver the test says so and passes, unless `APOGEE_REQUIRE_BROWSER` is set
//! (`.ci/run` installs Chromium and sets it).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(30);

struct Browser {
    driver: Child,
    client: Client,
    shots: PathBuf,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn find(program: &str, env: &str) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(env) {
        return Some(PathBuf::from(p));
    }
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|dir| PathBuf::from(dir).join(program))
        .find(|p| p.is_file())
}

async fn browser() -> Option<Browser> {
    let (driver, chromium) = match (
        find("chromedriver", "APOGEE_CHROMEDRIVER"),
        find("chromium", "APOGEE_CHROMIUM"),
    ) {
        (Some(d), Some(c)) => (d, c),
        _ => {
            assert!(
                std::env::var_os("APOGEE_REQUIRE_BROWSER").is_none(),
                "APOGEE_REQUIRE_BROWSER is set but chromedriver or chromium is not on PATH \
                 (apt-get install chromium chromium-driver)"
            );
            eprintln!("browser test skipped: chromedriver or chromium not found");
            return None;
        }
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(driver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let started = Instant::now();
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            started.elapsed() < WAIT,
            "chromedriver did not listen within {WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let caps = json!({ "goog:chromeOptions": {
        "binary": chromium,
        "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1400,1000", "--lang=en-GB"],
    }});
    let Value::Object(caps) = caps else {
        unreachable!()
    };
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("a Chromium session");
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("console-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    Some(Browser {
        driver: child,
        client,
        shots,
    })
}

impl Browser {
    async fn shot(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        std::fs::write(self.shots.join(format!("{name}.png")), png).unwrap();
    }

    /// Waits for `css` to be on the page; returns its element. On failure the page is saved as
    /// `failure.png` and its text is in the panic message.
    async fn el(&self, css: &str) -> fantoccini::elements::Element {
        match self
            .client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
        {
            Ok(e) => e,
            Err(e) => {
                self.shot("failure").await;
                let text = self.js("return document.body.innerText").await;
                panic!("no {css} within {WAIT:?}: {e}; the page says: {text}")
            }
        }
    }

    /// Waits until `css`'s text contains `text`; returns the text.
    async fn text(&self, css: &str, text: &str) -> String {
        let started = Instant::now();
        loop {
            if let Ok(e) = self.client.find(Locator::Css(css)).await
                && let Ok(now) = e.text().await
                && now.contains(text)
            {
                return now;
            }
            if started.elapsed() > WAIT {
                self.shot("failure").await;
                let page = self.js("return document.body.innerText").await;
                panic!("{css} never showed {text:?}; the page says: {page}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn fill(&self, css: &str, value: &str) {
        let e = self.el(css).await;
        e.clear().await.unwrap();
        e.send_keys(value).await.unwrap();
    }

    async fn click(&self, css: &str) {
        self.el(css).await.click().await.unwrap();
    }

    async fn goto(&self, base: &str, hash: &str) {
        self.client.goto(&format!("{base}/{hash}")).await.unwrap();
    }

    /// The samples the overview's TPS chart draws.
    async fn points(&self) -> usize {
        // Read in the page: the chart is redrawn every few seconds.
        self.el("#tps-chart svg").await;
        let n = self
            .js("const s = document.querySelector('#tps-chart svg'); return s ? s.dataset.points : '0'")
            .await;
        n.as_str().and_then(|n| n.parse().ok()).unwrap_or(0)
    }

    async fn js(&self, script: &str) -> Value {
        self.client.execute(script, vec![]).await.unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_a_browser_the_console_should_do_what_an_operator_does() {
    let Some(b) = browser().await else { return };
    let e = common::env().await;
    let base = format!("http://{}", e.addr);
    e.console
        .sample_at(apogee_console::history::now_ms() - 60_000)
        .await
        .unwrap();

    log_in(&b, &base).await;
    chart_gains_a_point(&b, &e).await;
    create_a_topic(&b, &base).await;
    dial_test(&b, &base).await;
    message_consume_status(&b, &base).await;
    reset_offset(&b, &base).await;
    resend_dead_letters(&b, &base, &e).await;
    create_a_user(&b, &base).await;
    alert_rule(&b, &base).await;
    other_pages_and_chinese(&b, &base).await;
    refuse_without_csrf(&b).await;
    log_out(&b).await;
    b.client.clone().close().await.unwrap();
}

/// Logs in; the session cookie is out of the page's reach.
async fn log_in(b: &Browser, base: &str) {
    b.goto(base, "").await;
    b.el("#login:not([hidden]) #login-form").await;
    b.shot("01-login").await;
    b.fill("#login-ak", "admin").await;
    b.fill("#login-sk", "s3cret").await;
    b.click("#login-submit").await;
    b.el("#app:not([hidden]) #figures .figure").await;
    let cookie = b.js("return document.cookie").await;
    assert!(
        !cookie.as_str().unwrap().contains("apogee_session"),
        "the session cookie is HttpOnly"
    );
}

/// The TPS chart gains a point when a sample is taken.
async fn chart_gains_a_point(b: &Browser, e: &common::Env) {
    let before = b.points().await;
    e.console
        .sample_at(apogee_console::history::now_ms())
        .await
        .unwrap();
    let started = Instant::now();
    while b.points().await <= before {
        assert!(
            started.elapsed() < WAIT,
            "the chart stayed at {before} points"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    b.shot("02-overview").await;
}

/// Create a topic through the form and find it in the list.
async fn create_a_topic(b: &Browser, base: &str) {
    b.goto(base, "#/topics").await;
    b.click("#topic-new").await;
    b.fill("#topic-form input[name=topicName]", "BrowserTopic")
        .await;
    b.fill("#topic-form input[name=writeQueueNums]", "2").await;
    b.fill("#topic-form input[name=readQueueNums]", "2").await;
    b.click("#topic-form button[type=submit]").await;
    b.text("#toast", "BrowserTopic").await;
    b.fill("#topic-filter", "browser").await;
    b.click("form.toolbar button[type=submit]").await;
    b.text("#topic-list", "BrowserTopic").await;
    b.shot("03-topics").await;
}

/// Dial test: send five messages with a key, consume them.
async fn dial_test(b: &Browser, base: &str) {
    b.goto(base, "#/topics/BrowserTopic").await;
    b.fill("#dial-send-form input[name=count]", "5").await;
    b.fill("#dial-send-form input[name=key]", "browser-key")
        .await;
    b.click("#dial-send-form button[type=submit]").await;
    b.text("#dial-sent", "Sent 5 messages").await;
    b.fill("#dial-consume-form input[name=count]", "5").await;
    b.click("#dial-consume-form button[type=submit]").await;
    b.text("#dial-consumed", "Consumed 5 messages").await;
    b.shot("04-dial-test").await;
}

/// Find a message by key and see that the dial group consumed it.
async fn message_consume_status(b: &Browser, base: &str) {
    b.goto(base, "#/messages/BrowserTopic").await;
    b.fill("#message-form input[name=key]", "browser-key").await;
    b.click("#message-form button[type=submit]").await;
    b.el("#message-result tr.clickable")
        .await
        .click()
        .await
        .unwrap();
    b.text("#message-detail", "apogee-console-dial").await;
    b.text("#message-detail .track-status", "CONSUMED").await;
    b.text("#trace-result", "No trace of this message").await;
    b.shot("05-message").await;
}

/// Reset the dial group to an hour ago: every queue goes back to 0.
async fn reset_offset(b: &Browser, base: &str) {
    b.goto(base, "#/groups/apogee-console-dial").await;
    b.fill("#reset-form input[name=topicName]", "BrowserTopic")
        .await;
    b.js("const d = new Date(Date.now() - 3600e3 - new Date().getTimezoneOffset() * 60e3); \
          document.querySelector('#reset-form input[name=time]').value = d.toISOString().slice(0, 16);")
        .await;
    b.click("#reset-form button[type=submit]").await;
    let table = b.text("#reset-result", "moved").await;
    assert!(
        table.contains("Before") && table.contains("After"),
        "{table}"
    );
    let moved = b
        .js("return [...document.querySelectorAll('#reset-result tbody tr')].map(r => [r.cells[2].textContent, r.cells[3].textContent])")
        .await;
    let moved = moved.as_array().unwrap();
    assert_eq!(moved.len(), 2, "one row per queue: {moved:?}");
    let before: i64 = moved
        .iter()
        .map(|r| r[0].as_str().unwrap().parse::<i64>().unwrap())
        .sum();
    assert_eq!(before, 5, "the five consumed messages: {moved:?}");
    assert!(
        moved.iter().all(|r| r[1] == "0"),
        "back to the start: {moved:?}"
    );
    b.shot("06-reset-offset").await;
}

/// A group's dead letters are listed and all resent; a message is resent to a group.
async fn resend_dead_letters(b: &Browser, base: &str, e: &common::Env) {
    let producer = apogee_client::Producer::start(
        common::client(e),
        apogee_client::ProducerConfig::new("browser-dlq"),
    )
    .await
    .unwrap();
    let admin = apogee_client::Admin::start(common::client(e))
        .await
        .unwrap();
    common::dead_letters(e, &producer, &admin).await;
    b.goto(base, "#/groups/billing").await;
    b.text("#dlq", "dead 2").await;
    b.click("#dlq-resend-all").await;
    b.client.accept_alert().await.unwrap();
    b.text("#dlq-done", "Resent 3 messages").await;
    b.shot("07-dead-letters").await;
    b.goto(base, "#/messages/BrowserTopic").await;
    b.fill("#message-form input[name=key]", "browser-key").await;
    b.click("#message-form button[type=submit]").await;
    b.el("#message-result tr.clickable")
        .await
        .click()
        .await
        .unwrap();
    b.click("#resend-form button[type=submit]").await;
    b.text("#resend-result", "retry topic").await;
    producer.shutdown().await;
}

/// Create an alert rule through the form, then turn it off.
async fn alert_rule(b: &Browser, base: &str) {
    b.goto(base, "#/alerts").await;
    b.fill("#rule-form input[name=name]", "dial behind").await;
    b.fill("#rule-form input[name=topicName]", "BrowserTopic")
        .await;
    b.fill("#rule-form input[name=groupName]", "apogee-console-dial")
        .await;
    b.click("#rule-form button[type=submit]").await;
    b.text("main#view", "dial behind").await;
    b.click("main#view tbody button.link:nth-of-type(2)").await;
    b.text("main#view tbody", "off").await;
    b.shot("11-alerts").await;
}

/// Create an app user.
async fn create_a_user(b: &Browser, base: &str) {
    b.goto(base, "#/users").await;
    b.fill("#user-form input[name=username]", "browser_user")
        .await;
    b.fill("#user-form input[name=password]", "pw-12345").await;
    b.click("#user-form button[type=submit]").await;
    b.text("#user-list", "browser_user").await;
    b.shot("08-users").await;
}

/// The other pages, then the same in Chinese.
async fn other_pages_and_chinese(b: &Browser, base: &str) {
    for (hash, name) in [
        ("#/cluster", "08-cluster"),
        ("#/groups", "09-groups"),
        ("#/alerts", "10-alerts"),
    ] {
        b.goto(base, hash).await;
        b.el("main#view table").await;
        b.shot(name).await;
    }
    b.goto(base, "#/overview").await;
    b.el("#figures .figure").await;
    b.click("header .lang-switch").await;
    b.text("#nav", "概览").await;
    b.el("#figures .figure").await;
    b.shot("12-overview-zh").await;
    b.js("localStorage.removeItem('apogee.lang')").await;
}

/// A change without the CSRF token is refused, even with the session cookie.
async fn refuse_without_csrf(b: &Browser) {
    let status = b
        .js(
            "return fetch('/api/console/users', {method: 'POST', headers: {'Content-Type': \
             'application/json'}, body: '{}'}).then(r => r.status)",
        )
        .await;
    assert_eq!(status, json!(403));
}

/// Logging out ends the session: the API no longer answers the cookie.
async fn log_out(b: &Browser) {
    b.click("#logout").await;
    b.el("#login:not([hidden])").await;
    let status = b
        .js("return fetch('/api/console/users').then(r => r.status)")
        .await;
    assert_eq!(status, json!(401));
}
