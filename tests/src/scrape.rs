//! Reads the binaries' plain-HTTP observability endpoints the way Prometheus and the
//! kubelet do: a real HTTP/1.1 GET over a TCP socket, and a small parser of the text
//! exposition format for assertions.

use anyhow::{Context as _, bail};
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// An HTTP response: status code and body.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// The body, as text.
    pub body: String,
}

/// `GET path` on `addr`, HTTP/1.1 with `Connection: close`, read to the end.
pub async fn http_get(addr: SocketAddr, path: &str) -> anyhow::Result<HttpResponse> {
    let mut stream =
        tokio::net::TcpStream::connect(addr).await.with_context(|| format!("connect to {addr}"))?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await?;
    let text = String::from_utf8(raw).context("response is not UTF-8")?;
    let (head, body) = text.split_once("\r\n\r\n").context("no end of headers")?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .with_context(|| format!("no status in {head:?}"))?;
    let chunked = head.lines().any(|line| {
        line.to_ascii_lowercase().starts_with("transfer-encoding:") && line.contains("chunked")
    });
    let body = if chunked { dechunk(body)? } else { body.to_owned() };
    Ok(HttpResponse { status, body })
}

fn dechunk(mut body: &str) -> anyhow::Result<String> {
    let mut out = String::new();
    loop {
        let (size, rest) = body.split_once("\r\n").context("truncated chunk size")?;
        let size = usize::from_str_radix(size.trim(), 16).context("bad chunk size")?;
        if size == 0 {
            return Ok(out);
        }
        if rest.len() < size {
            bail!("truncated chunk");
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
}

/// One sample line of the exposition format.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The series name (`vary_rpc_requests_total`).
    pub name: String,
    /// Its labels, in order.
    pub labels: Vec<(String, String)>,
    /// Its value.
    pub value: f64,
}

/// Every sample in `text` (comments skipped).
pub fn samples(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .filter_map(parse_line)
        .collect()
}

/// The value of the one sample named `name` whose labels include `labels`; `None` when
/// there is none (panics when several match: the caller's labels are ambiguous).
pub fn value(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let matching: Vec<Sample> = samples(text)
        .into_iter()
        .filter(|sample| sample.name == name)
        .filter(|sample| {
            labels
                .iter()
                .all(|(key, value)| sample.labels.iter().any(|(k, v)| k == key && v == value))
        })
        .collect();
    assert!(matching.len() <= 1, "{name} {labels:?} matches several samples: {matching:?}");
    matching.first().map(|sample| sample.value)
}

fn parse_line(line: &str) -> Option<Sample> {
    let (series, value) = line.rsplit_once(' ')?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        value => value.parse().ok()?,
    };
    let (name, labels) = match series.split_once('{') {
        None => (series.to_owned(), Vec::new()),
        Some((name, rest)) => {
            let rest = rest.strip_suffix('}')?;
            let labels = rest
                .split("\",")
                .filter(|pair| !pair.is_empty())
                .filter_map(|pair| {
                    let (key, value) = pair.split_once("=\"")?;
                    Some((key.to_owned(), value.trim_end_matches('"').to_owned()))
                })
                .collect();
            (name.to_owned(), labels)
        }
    };
    Some(Sample { name, labels, value })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_parse_with_and_without_labels() {
        let text = "# TYPE x counter\nx_total{method=\"/a.B/C\",code=\"OK\"} 3\ny 1.5\nz_bucket{le=\"+Inf\"} 2\n# EOF\n";
        assert_eq!(value(text, "x_total", &[("code", "OK")]), Some(3.0));
        assert_eq!(value(text, "x_total", &[("method", "/a.B/C")]), Some(3.0));
        assert_eq!(value(text, "x_total", &[("code", "INTERNAL")]), None);
        assert_eq!(value(text, "y", &[]), Some(1.5));
        assert_eq!(value(text, "z_bucket", &[("le", "+Inf")]), Some(2.0));
    }
}
