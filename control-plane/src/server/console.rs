//! The web console's static files, served on the gRPC listener (`--console-dir`,
//! docs/console.md).
//!
//! This is the one place where a request is answered without the access policy:
//! [`is_console_request`] picks out `GET`/`HEAD` requests for `/`, `/console` and paths
//! under `/console/`, and the outermost layer ([`ConsoleLayer`]) answers them from the
//! directory before gRPC-Web translation, the RPC metrics, the access policy and the
//! message-size limit run. The files are the app itself, public like any web page; every
//! call the app then makes is gRPC-Web with the user's token and meets the policy. gRPC
//! is always `POST`, so no call can take this path, and anything else under `/console/`
//! (a `POST`, say) goes through the policy unchanged (where it is not a method, so it is
//! denied). Without a console directory nothing is bypassed.

use std::{
    future::Future,
    path::{Path, PathBuf},
    pin::Pin,
    task::{Context, Poll},
};

use anyhow::{Context as _, bail};
use http::{HeaderValue, Method, Request, Response, StatusCode, Uri, header};
use tonic::body::Body;
use tower::{Layer, Service, ServiceExt as _};
use tower_http::services::ServeDir;

/// Where the console lives in the URL space; `/` redirects here.
pub const CONSOLE_PATH: &str = "/console/";

/// Under this, file names carry a content hash (the app's build output), so they may be
/// cached for long; everything else is revalidated on every use.
const HASHED_ASSETS_PATH: &str = "/console/assets/";

/// `Cache-Control` of hashed assets: a year, never revalidated.
const CACHE_HASHED: &str = "public, max-age=31536000, immutable";

/// `Cache-Control` of everything else, index.html above all: a new release is seen at once.
const CACHE_REVALIDATE: &str = "no-cache";

/// `Content-Security-Policy` of every console answer. The app is one script and one
/// stylesheet from this origin, and talks only to this origin (gRPC-Web); its charts are
/// SVG with presentation attributes, not inline styles; its favicon is a `data:` URL. So
/// nothing inline and nothing from elsewhere runs, even if some text were ever rendered
/// unescaped. The browser test fails on any violation (`console/e2e/smoke.mjs`).
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// Whether a request with `method` and `path` is for the console's files, not a gRPC call:
/// `GET`/`HEAD` of `/`, `/console` or anything under `/console/`. These are the only
/// requests answered without the access policy (see the module docs).
pub fn is_console_request(method: &Method, path: &str) -> bool {
    let read = method == Method::GET || method == Method::HEAD;
    read && (path == "/" || path == "/console" || path.starts_with(CONSOLE_PATH))
}

/// The console's directory, checked at start-up.
#[derive(Debug, Clone)]
pub struct ConsoleFiles {
    dir: PathBuf,
    /// Files as they are (a directory answers its index.html); a missing one is 404. The
    /// app routes in the URL's fragment (`/console/#/experiments/x`), which browsers never
    /// send, so no path needs to fall back to index.html.
    files: ServeDir,
}

impl ConsoleFiles {
    /// The console in `dir`; fails (so the server does not start) unless `dir` is a
    /// directory holding `index.html`.
    pub fn open(dir: &Path) -> anyhow::Result<Self> {
        let dir = dir
            .canonicalize()
            .with_context(|| format!("--console-dir {}: cannot open it", dir.display()))?;
        let index = dir.join("index.html");
        if !index.is_file() {
            bail!(
                "--console-dir {}: no index.html in it (is it the app's build output?)",
                dir.display()
            );
        }
        Ok(Self { files: ServeDir::new(&dir), dir })
    }

    /// The directory served.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Answers a request that [`is_console_request`] picked out.
    async fn answer<B>(self, request: Request<B>) -> Response<Body>
    where
        B: Send + 'static,
    {
        let path = request.uri().path();
        if path == "/" || path == "/console" {
            return redirect(CONSOLE_PATH);
        }
        let under_assets = path.starts_with(HASHED_ASSETS_PATH);
        let Ok(response) = self.files.oneshot(strip_console_prefix(request)).await;
        let mut response = response.map(Body::new);
        fix_redirect(&mut response);
        let cache = if under_assets && response.status() == StatusCode::OK {
            CACHE_HASHED
        } else {
            CACHE_REVALIDATE
        };
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
        headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        );
        response
    }
}

/// The request with `/console` taken off the front of its path (ServeDir maps the whole
/// path into the directory).
fn strip_console_prefix<B>(mut request: Request<B>) -> Request<B> {
    let rest = request
        .uri()
        .path_and_query()
        .map(|path| path.as_str().strip_prefix("/console").unwrap_or(path.as_str()).to_owned())
        .unwrap_or_else(|| "/".to_owned());
    // `rest` is a suffix of a valid path-and-query that starts with `/`, so it parses.
    if let Ok(uri) = Uri::builder().path_and_query(rest).build() {
        *request.uri_mut() = uri;
    }
    request
}

/// ServeDir redirects a directory without its trailing slash (`/assets` → `/assets/`) in
/// terms of the path it saw; put `/console` back in front.
fn fix_redirect(response: &mut Response<Body>) {
    if !response.status().is_redirection() {
        return;
    }
    let location = response.headers().get(header::LOCATION).and_then(|value| value.to_str().ok());
    if let Some(location) = location.filter(|location| location.starts_with('/'))
        && let Ok(fixed) = HeaderValue::from_str(&format!("/console{location}"))
    {
        response.headers_mut().insert(header::LOCATION, fixed);
    }
}

/// A temporary redirect to `location` (temporary: browsers must not remember it, in case
/// the console is turned off or moved).
fn redirect(location: &'static str) -> Response<Body> {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::TEMPORARY_REDIRECT;
    response.headers_mut().insert(header::LOCATION, HeaderValue::from_static(location));
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(CACHE_REVALIDATE));
    response
}

/// The outermost layer: answers console requests from [`ConsoleFiles`], passes the rest on.
/// Without files it passes everything on.
#[derive(Debug, Clone)]
pub struct ConsoleLayer {
    files: Option<ConsoleFiles>,
}

impl ConsoleLayer {
    /// Serves `files` when given.
    pub fn new(files: Option<ConsoleFiles>) -> Self {
        Self { files }
    }
}

impl<S> Layer<S> for ConsoleLayer {
    type Service = Console<S>;

    fn layer(&self, inner: S) -> Console<S> {
        Console { inner, files: self.files.clone() }
    }
}

/// The service wrapper of [`ConsoleLayer`].
#[derive(Debug, Clone)]
pub struct Console<S> {
    inner: S,
    files: Option<ConsoleFiles>,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Console<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Future: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    ResBody::Error: Into<tower::BoxError>,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        if let Some(files) = &self.files
            && is_console_request(request.method(), request.uri().path())
        {
            let files = files.clone();
            return Box::pin(async move { Ok::<_, Self::Error>(files.answer(request).await) });
        }
        let call = self.inner.call(request);
        Box::pin(async move { Ok(call.await?.map(Body::new)) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_reads_of_the_console_paths_are_console_requests() {
        for path in ["/", "/console", "/console/", "/console/index.html", "/console/a/b"] {
            assert!(is_console_request(&Method::GET, path), "GET {path}");
            assert!(is_console_request(&Method::HEAD, path), "HEAD {path}");
        }
        for method in [Method::POST, Method::PUT, Method::DELETE, Method::OPTIONS, Method::PATCH] {
            assert!(!is_console_request(&method, "/console/x"), "{method} /console/x");
            assert!(!is_console_request(&method, "/"), "{method} /");
        }
        for path in ["/consoles", "/console.js", "/vary.v1.AuthService/WhoAmI", "//console/", ""] {
            assert!(!is_console_request(&Method::GET, path), "GET {path}");
        }
    }

    #[test]
    fn the_prefix_is_stripped_and_the_query_kept() {
        let stripped = |uri: &str| {
            strip_console_prefix(Request::get(uri).body(()).expect("request")).uri().to_string()
        };
        assert_eq!(stripped("/console/"), "/");
        assert_eq!(stripped("/console/assets/app.js?v=1"), "/assets/app.js?v=1");
        assert_eq!(stripped("http://host:1/console/x"), "/x");
    }

    #[test]
    fn start_up_refuses_a_directory_without_index_html() {
        let dir = tempfile::tempdir().expect("tempdir");
        let error = ConsoleFiles::open(dir.path()).expect_err("no index.html");
        assert!(format!("{error:#}").contains("no index.html"), "{error:#}");
        let error = ConsoleFiles::open(&dir.path().join("missing")).expect_err("missing dir");
        assert!(format!("{error:#}").contains("cannot open"), "{error:#}");
        std::fs::write(dir.path().join("index.html"), "<!doctype html>").expect("write");
        ConsoleFiles::open(dir.path()).expect("a console");
    }
}
