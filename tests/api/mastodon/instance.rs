//! What the server says about itself: the instance documents (v1 and v2), its rules, peers
//! and activity, and NodeInfo.

use serde_json::json;

use crate::helpers::TestApp;
use crate::{both_databases, both_databases_with};

fn streaming_url(app: &TestApp) -> String {
    app.mastodon_address.replacen("http://", "ws://", 1)
}

fn domain(app: &TestApp) -> String {
    app.mastodon_address
        .trim_start_matches("http://")
        .to_owned()
}

async fn instance_v1_has_mastodon_4_2s_shape(app: TestApp) {
    let instance = app.masto_get("/api/v1/instance", None).await;
    let version = instance["version"].as_str().unwrap();
    assert_eq!(
        version,
        format!("4.2.0 (compatible; Roost {})", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(instance["uri"], domain(&app));
    assert_eq!(instance["title"], "Roost");
    assert!(instance["description"].is_string());
    assert!(instance["short_description"].is_string());
    assert_eq!(instance["email"], "");
    assert_eq!(instance["urls"]["streaming_api"], streaming_url(&app));
    assert_eq!(
        instance["thumbnail"],
        format!("{}/headers/original/missing.png", app.mastodon_address)
    );
    assert_eq!(instance["languages"], json!(["en"]));
    assert_eq!(instance["registrations"], true);
    assert_eq!(instance["approval_required"], false);
    for count in ["user_count", "status_count", "domain_count"] {
        assert!(instance["stats"][count].is_u64(), "{count}");
    }
    let configuration = &instance["configuration"];
    assert_eq!(configuration["statuses"]["max_characters"], 500);
    assert_eq!(configuration["statuses"]["max_media_attachments"], 4);
    assert_eq!(configuration["statuses"]["characters_reserved_per_url"], 23);
    assert_eq!(configuration["accounts"]["max_featured_tags"], 0);
    let media = &configuration["media_attachments"];
    assert_eq!(media["image_size_limit"], 10 * 1024 * 1024);
    let types = media["supported_mime_types"].as_array().unwrap();
    for mime in ["image/jpeg", "image/png", "image/gif", "image/webp"] {
        assert!(types.contains(&json!(mime)), "{mime}");
    }
    for limit in [
        "max_options",
        "max_characters_per_option",
        "min_expiration",
        "max_expiration",
    ] {
        assert!(configuration["polls"][limit].is_u64(), "polls.{limit}");
    }
    assert_eq!(instance["contact_account"], serde_json::Value::Null);
    assert!(instance["rules"].is_array());
    // Trailing slashes are tolerated.
    assert_eq!(app.masto_get("/api/v1/instance/", None).await, instance);
}

async fn instance_v2_has_mastodon_4_2s_shape(app: TestApp) {
    let instance = app.masto_get("/api/v2/instance", None).await;
    assert!(
        instance["version"]
            .as_str()
            .unwrap()
            .starts_with("4.2.0 (compatible; Roost ")
    );
    assert_eq!(instance["domain"], domain(&app));
    assert_eq!(instance["title"], "Roost");
    assert!(instance["description"].is_string());
    assert_eq!(
        instance["thumbnail"]["url"],
        format!("{}/headers/original/missing.png", app.mastodon_address)
    );
    assert_eq!(
        instance["configuration"]["urls"]["streaming"],
        streaming_url(&app)
    );
    assert_eq!(instance["configuration"]["statuses"]["max_characters"], 500);
    assert_eq!(
        instance["configuration"]["statuses"]["max_media_attachments"],
        4
    );
    assert_eq!(
        instance["configuration"]["media_attachments"]["image_size_limit"],
        10 * 1024 * 1024
    );
    assert_eq!(instance["registrations"]["enabled"], true);
    assert_eq!(instance["registrations"]["approval_required"], false);
    assert_eq!(instance["contact"], json!({"email": "", "account": null}));
    assert_eq!(instance["languages"], json!(["en"]));
    assert!(instance["usage"]["users"]["active_month"].is_u64());
    let rules = app.masto_get("/api/v1/instance/rules", None).await;
    assert_eq!(instance["rules"], rules);
    for rule in rules.as_array().unwrap() {
        assert!(rule["id"].is_string() && rule["text"].is_string(), "{rule}");
    }
    assert_eq!(
        app.masto_get("/api/v1/instance/peers", None).await,
        json!([])
    );
    assert_eq!(
        app.masto_get("/api/v1/instance/activity", None).await,
        json!([])
    );
}

const PUBLIC_URL: &[(&str, &str)] = &[("ROOST_MASTODON_PUBLIC_URL", "https://social.example/")];

async fn the_public_url_names_the_instance(app: TestApp) {
    let instance = app.masto_get("/api/v1/instance", None).await;
    assert_eq!(instance["uri"], "social.example");
    assert_eq!(instance["urls"]["streaming_api"], "wss://social.example");
    let instance = app.masto_get("/api/v2/instance", None).await;
    assert_eq!(instance["domain"], "social.example");
    assert_eq!(
        instance["configuration"]["urls"]["streaming"],
        "wss://social.example"
    );
}

async fn nodeinfo_is_linked_and_served(app: TestApp) {
    let links = app.masto_get("/.well-known/nodeinfo", None).await;
    assert_eq!(
        links["links"][0]["rel"],
        "http://nodeinfo.diaspora.software/ns/schema/2.0"
    );
    let href = links["links"][0]["href"].as_str().unwrap();
    assert_eq!(href, format!("{}/nodeinfo/2.0", app.mastodon_address));
    let nodeinfo = app.masto_get("/nodeinfo/2.0", None).await;
    assert_eq!(nodeinfo["version"], "2.0");
    assert_eq!(nodeinfo["software"]["name"], "roost");
    assert_eq!(nodeinfo["software"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(nodeinfo["protocols"], json!([]));
    assert_eq!(nodeinfo["openRegistrations"], true);
    assert!(nodeinfo["usage"]["users"]["total"].is_u64());
}

both_databases!(
    instance_v1_has_mastodon_4_2s_shape,
    instance_v2_has_mastodon_4_2s_shape,
    nodeinfo_is_linked_and_served,
);

both_databases_with!(PUBLIC_URL; the_public_url_names_the_instance);
