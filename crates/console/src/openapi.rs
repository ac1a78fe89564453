//! The OpenAPI 3.1 document of the management API, generated from the handlers' annotations
//! (utoipa), served at `/api/openapi.json`, with a browsable page at `/api/docs` (plain HTML
//! and a few lines of script, nothing fetched from elsewhere).

use axum::Json;
use axum::response::Html;
use utoipa::OpenApi;

use crate::routes::{
    account, alerts, by_time, clients, consumption, dial, groups, inspect, instance, messages,
    messaging, overview, resend, session, topics, tps, trace, users,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Apogee management API",
        description = "The managed RocketMQ services' management API (/api/manager/...): every request carries accessKey and secretKey in its query string; every answer is {\"code\",\"message\",\"result\"}. See docs/console.md."
    ),
    paths(
        account::account,
        instance::base,
        instance::detail,
        tps::cluster,
        tps::topic,
        topics::create,
        topics::delete,
        topics::modify,
        topics::detail,
        topics::list,
        consumption::queues,
        consumption::topic_depth,
        consumption::producers,
        consumption::consumers,
        groups::create,
        groups::modify,
        groups::delete,
        groups::detail,
        groups::list,
        groups::open_status,
        consumption::group_depth,
        consumption::reset_offset,
        messages::by_id,
        messages::by_offset,
        messages::by_key,
        messaging::publish,
        messaging::consume,
        messaging::ack,
        messaging::change_visibility,
        alerts::list,
        alerts::create,
        alerts::update,
        alerts::delete,
        alerts::events,
        session::login,
        session::current,
        session::logout,
        overview::overview,
        overview::clusters,
        clients::connection,
        users::list,
        users::create,
        users::modify,
        users::delete,
        users::acl,
        users::grant,
        users::revoke,
        dial::send,
        dial::consume,
        resend::dlq,
        inspect::route,
        inspect::producers,
        inspect::topic_stats,
        by_time::by_time,
        trace::trace,
        inspect::running_info,
        inspect::broker,
        resend::dlq_resend,
        resend::message_resend,
    ),
    tags(
        (name = "instance", description = "The cluster (§7.4)"),
        (name = "topics", description = "Topics (§7.5)"),
        (name = "groups", description = "Subscription groups and consumption (§7.6, §7.7)"),
        (name = "messages", description = "Message queries with consume status (§7.9)"),
        (name = "alerts", description = "Alert rules and events (Apogee's own)"),
        (name = "messaging", description = "HTTP messaging: publish, consume with receipt handles, ack, change visibility (Apogee's own)"),
        (name = "console", description = "The web console's own endpoints: login, app users, dial test, overview (Apogee's own)"),
    )
)]
pub struct ApiDoc;

/// GET /api/openapi.json
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

/// GET /api/docs: every operation of the document with its parameters, read in the browser.
pub async fn page() -> Html<&'static str> {
    Html(PAGE)
}

const PAGE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Apogee management API</title>
<style>
body{font:14px/1.5 system-ui,sans-serif;margin:2rem auto;max-width:60rem;padding:0 1rem;color:#222}
h1{font-size:1.4rem} h2{font-size:1.1rem;margin-top:2rem;border-bottom:1px solid #ddd}
.op{margin:.8rem 0;padding:.6rem .8rem;border:1px solid #e3e3e3;border-radius:6px}
.m{display:inline-block;min-width:4.5rem;font-weight:600;text-transform:uppercase}
.get{color:#0a7}.post{color:#06c}.delete{color:#c33} code{font-size:13px}
td{padding:0 .8rem 0 0;vertical-align:top} .muted{color:#777}
</style></head><body>
<h1>Apogee management API</h1>
<p id="about" class="muted">Loading <a href="/api/openapi.json">/api/openapi.json</a> …</p>
<div id="ops"></div>
<script>
fetch('/api/openapi.json').then(r => r.json()).then(doc => {
  document.getElementById('about').textContent = doc.info.description;
  const byTag = {};
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      (byTag[(op.tags || ['other'])[0]] ||= []).push({path, method, op});
    }
  }
  const root = document.getElementById('ops');
  for (const [tag, ops] of Object.entries(byTag)) {
    const h = document.createElement('h2'); h.textContent = tag; root.append(h);
    for (const {path, method, op} of ops) {
      const div = document.createElement('div'); div.className = 'op';
      const head = document.createElement('div');
      const m = document.createElement('span'); m.className = 'm ' + method; m.textContent = method;
      const p = document.createElement('code'); p.textContent = path;
      head.append(m, p, ' — ', op.summary || '');
      div.append(head);
      const table = document.createElement('table');
      for (const prm of op.parameters || []) {
        const tr = table.insertRow();
        tr.insertCell().textContent = prm.name;
        tr.insertCell().textContent = prm.in;
        tr.insertCell().textContent = prm.description || '';
      }
      if (op.requestBody) { table.insertRow().insertCell().textContent = 'JSON body'; }
      div.append(table); root.append(div);
    }
  }
}).catch(e => { document.getElementById('about').textContent = 'Could not load the document: ' + e; });
</script></body></html>
"#;
