//! The web console's side of the control plane over real sockets: gRPC-Web calls over
//! HTTP/1.1 meet the same access policy, size limit and metrics as native gRPC, and the
//! console's files are served under `/console/` (and only there, only to GET/HEAD).

mod browser;
mod files;
mod grpc_web;
mod http1;

use std::path::PathBuf;

/// The body of the test console's index.html.
pub(crate) const INDEX_HTML: &str = "<!doctype html><title>Vary test console</title>";
/// The body of its one hashed asset, at `/console/assets/app-1a2b3c.js`.
pub(crate) const APP_JS: &str = "console.log('vary test console');";
/// The body of a file next to (outside) the console directory, which must never be served.
pub(crate) const SECRET: &str = "outside-the-console-dir-secret";

/// A temporary tree: `console/` (index.html, assets/app-1a2b3c.js) and `secret.txt` beside
/// it. The console directory is the returned path; keep the guard alive.
pub(crate) fn console_dir() -> (tempfile::TempDir, PathBuf) {
    let root = tempfile::tempdir().expect("tempdir");
    let console = root.path().join("console");
    std::fs::create_dir_all(console.join("assets")).expect("mkdir");
    std::fs::write(console.join("index.html"), INDEX_HTML).expect("write index.html");
    std::fs::write(console.join("assets/app-1a2b3c.js"), APP_JS).expect("write app.js");
    std::fs::write(root.path().join("secret.txt"), SECRET).expect("write secret");
    (root, console)
}
