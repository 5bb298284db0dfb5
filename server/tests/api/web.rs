//! The web client's files as the server sends them (issue 25 §7): precompressed, and cached by
//! browsers for a year when they live in a build's versioned directory.

use crate::helpers::spawn_app_with;

#[tokio::test]
async fn the_build_is_sent_precompressed_and_kept_by_version() {
    // A build as scripts/version-assets.mjs leaves it: the page at the root, the files in
    // v/<hash>/, each with .br and .gz siblings (their bodies marked, to see which is sent).
    let web = tempfile::tempdir().expect("web dir");
    let build = web.path().join("v/0123456789abcdef");
    std::fs::create_dir_all(&build).expect("build dir");
    for (dir, file) in [(web.path(), "index.html"), (build.as_path(), "app.js")] {
        std::fs::write(dir.join(file), format!("plain {file}")).expect("file");
        std::fs::write(dir.join(format!("{file}.br")), format!("br {file}")).expect("br");
        std::fs::write(dir.join(format!("{file}.gz")), format!("gz {file}")).expect("gz");
    }
    let web_dir = web.path().to_owned();
    let app = spawn_app_with(|options| options.web_dir = Some(web_dir)).await;
    let get = |path: &str, accept: &str| {
        let request = app.http.get(format!("{}{path}", app.base));
        let request = if accept.is_empty() {
            request
        } else {
            request.header("accept-encoding", accept)
        };
        async move {
            let response = request.send().await.expect("send");
            let header = |name: &str| {
                response
                    .headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned()
            };
            let (encoding, cache) = (header("content-encoding"), header("cache-control"));
            let status = response.status().as_u16();
            let body = response.text().await.expect("body");
            (status, encoding, cache, body)
        }
    };
    const YEAR: &str = "public, max-age=31536000, immutable";
    let script = "/v/0123456789abcdef/app.js";
    assert_eq!(
        get(script, "gzip, br").await,
        (200, "br".into(), YEAR.into(), "br app.js".into())
    );
    assert_eq!(
        get(script, "gzip").await,
        (200, "gzip".into(), YEAR.into(), "gz app.js".into())
    );
    assert_eq!(
        get(script, "").await,
        (200, String::new(), YEAR.into(), "plain app.js".into())
    );
    // The page is checked on every visit, and a route of the app gets the page.
    for path in ["/", "/some/route"] {
        assert_eq!(
            get(path, "br").await,
            (200, "br".into(), "no-cache".into(), "br index.html".into()),
            "{path}"
        );
    }
    // A file of another build is a miss, never the page, and the miss is not kept.
    let (status, _, cache, _) = get("/v/fedcba9876543210/app.js", "br").await;
    assert_eq!((status, cache.as_str()), (404, "no-store"));
}
