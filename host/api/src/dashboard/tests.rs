use super::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Serves the dashboard's routes on a loopback port and returns its address.
async fn serve_dashboard() -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, routes::<()>()).await.unwrap() });
    addr
}

/// One HTTP/1.1 GET over a fresh connection: (status line, headers lowercased, body).
async fn get(addr: std::net::SocketAddr, path: &str) -> (String, String, Vec<u8>) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await.unwrap();
    let cut = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("no header end");
    let head = String::from_utf8(raw[..cut].to_vec()).unwrap();
    let (status, headers) = head.split_once("\r\n").unwrap_or((&head, ""));
    (
        status.to_string(),
        headers.to_lowercase(),
        raw[cut + 4..].to_vec(),
    )
}

#[tokio::test]
async fn every_asset_is_served_with_its_type_and_a_strict_policy() {
    let addr = serve_dashboard().await;
    for a in ASSETS {
        let (status, headers, body) = get(addr, a.path).await;
        assert_eq!(status, "HTTP/1.1 200 OK", "{}", a.path);
        assert!(
            headers.contains(&format!("content-type: {}", a.content_type)),
            "{}: {headers}",
            a.path
        );
        assert!(headers.contains("content-security-policy: default-src 'none'"));
        assert!(headers.contains("x-content-type-options: nosniff"));
        // Served without a token: the assets hold no fleet data.
        assert_eq!(body, a.body.as_bytes(), "{}", a.path);
    }
    let (status, _, _) = get(addr, "/dashboard/missing.js").await;
    assert!(status.starts_with("HTTP/1.1 404"), "{status}");
}

/// Everything the page loads comes from this binary: no other origin is named, and every
/// local file it names (links, scripts, module imports) is compiled in.
#[test]
fn the_page_loads_nothing_from_elsewhere_and_nothing_missing() {
    let served: Vec<&str> = ASSETS.iter().map(|a| a.path).collect();
    for a in ASSETS {
        let text = a.body.replace("http://www.w3.org/2000/svg", "");
        for bad in ["http://", "https://", "src=\"//", "href=\"//", "@import"] {
            assert!(
                !text.contains(bad),
                "{} names another origin: {bad}",
                a.path
            );
        }
        if a.content_type.starts_with("text/css") {
            assert!(
                !text.contains("url("),
                "{} loads a resource by url()",
                a.path
            );
        }
        for name in local_names(a.body) {
            assert!(
                served.contains(&name.as_str()),
                "{} loads {name}, which is not compiled in",
                a.path
            );
        }
    }
}

/// The local files an asset names: `"/dashboard/x"` in HTML and `'./x.js'` module imports.
fn local_names(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, _) in text.match_indices("/dashboard/") {
        let rest = &text[i..];
        let end = rest.find(['"', '\'']).unwrap_or(rest.len());
        out.push(rest[..end].to_string());
    }
    for (i, _) in text.match_indices("from './") {
        let rest = &text[i + "from './".len()..];
        let end = rest.find('\'').unwrap_or(rest.len());
        out.push(format!("/dashboard/{}", &rest[..end]));
    }
    out
}
