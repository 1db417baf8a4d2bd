//! Helpers shared by the integration tests: synthetic IDX files, the real
//! data directory, and a tiny HTTP server on 127.0.0.1.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use flate2::write::GzEncoder;
use flate2::Compression;

/// The directory with the real MNIST files: `$MNIST_DATA_DIR`, else
/// `../shared/mnist`; relative paths are taken from the workspace root.
pub fn real_data_dir() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let d = original_env()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("../shared/mnist"));
    if d.is_relative() {
        root.join(d)
    } else {
        d
    }
}

/// `dir/<name>.gz` if it exists, else `dir/<name>`.
pub fn real_file(dir: &Path, name: &str) -> PathBuf {
    let g = dir.join(format!("{name}.gz"));
    if g.exists() {
        g
    } else {
        dir.join(name)
    }
}

/// Removes `MNIST_DATA_DIR` from this test process's environment, once,
/// before the caller goes on: the loader searches that directory for missing
/// files, which would hide the errors (and downloads) these tests expect when
/// the suite itself is run with `MNIST_DATA_DIR` set. Every test of a binary
/// that uses this calls it before touching the loader, so no test reads the
/// environment while it changes.
pub fn isolate_from_env() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        original_env();
        std::env::remove_var("MNIST_DATA_DIR");
    });
}

/// `MNIST_DATA_DIR` as it was when the test process started (captured before
/// [`isolate_from_env`] removes it).
fn original_env() -> Option<std::ffi::OsString> {
    static ORIGINAL: std::sync::OnceLock<Option<std::ffi::OsString>> = std::sync::OnceLock::new();
    ORIGINAL
        .get_or_init(|| std::env::var_os("MNIST_DATA_DIR").filter(|v| !v.is_empty()))
        .clone()
}

pub fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// An images IDX file of `n` 28x28 images; pixel `p` of image `i` is `f(i, p)`.
pub fn images_idx(n: usize, f: impl Fn(usize, usize) -> u8) -> Vec<u8> {
    let mut v = vec![0, 0, 8, 3];
    for d in [n as u32, 28, 28] {
        v.extend_from_slice(&d.to_be_bytes());
    }
    for i in 0..n {
        for p in 0..784 {
            v.push(f(i, p));
        }
    }
    v
}

/// A labels IDX file.
pub fn labels_idx(labels: &[u8]) -> Vec<u8> {
    let mut v = vec![0, 0, 8, 1];
    v.extend_from_slice(&(labels.len() as u32).to_be_bytes());
    v.extend_from_slice(labels);
    v
}

/// Pixel pattern used by [`write_synthetic`]: image `i` has pixel 0 = i and
/// pixel 1 = 255, the rest `(i + p) % 256`.
pub fn pixel(i: usize, p: usize) -> u8 {
    match p {
        0 => i as u8,
        1 => 255,
        _ => ((i + p) % 256) as u8,
    }
}

/// Label of example `i` in the synthetic files.
pub fn label(i: usize) -> u8 {
    ((i * 7 + 3) % 10) as u8
}

/// The four decompressed synthetic files (train images, train labels, test
/// images, test labels).
pub fn synthetic(n_train: usize, n_test: usize) -> [Vec<u8>; 4] {
    let tl: Vec<u8> = (0..n_train).map(label).collect();
    let sl: Vec<u8> = (0..n_test).map(|i| label(i + 100)).collect();
    [
        images_idx(n_train, pixel),
        labels_idx(&tl),
        images_idx(n_test, |i, p| pixel(i + 100, p)),
        labels_idx(&sl),
    ]
}

pub const NAMES: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];

/// Writes the four files gzipped as `<name>.gz` into `dir`.
pub fn write_gz(dir: &Path, files: &[Vec<u8>; 4]) {
    for (name, bytes) in NAMES.iter().zip(files) {
        std::fs::write(dir.join(format!("{name}.gz")), gz(bytes)).unwrap();
    }
}

/// Names of the entries of `dir`, sorted.
pub fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// What the server answers for a path.
#[derive(Clone)]
pub enum Reply {
    /// Status 200 with this body.
    Ok(Vec<u8>),
    /// Status 200 announcing the full length but closing after half the body.
    Truncated(Vec<u8>),
}

/// A one-thread HTTP/1.1 server on 127.0.0.1 for at most `max_requests`
/// connections and at most 60 seconds; unknown paths get 404.
pub struct Server {
    pub base: String,
    pub requests: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Server {
    pub fn start(routes: HashMap<String, Reply>, max_requests: usize) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (req2, stop2) = (requests.clone(), stop.clone());
        let handle = std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(60);
            let mut served = 0;
            while served < max_requests
                && Instant::now() < deadline
                && !stop2.load(Ordering::SeqCst)
            {
                match listener.accept() {
                    Ok((s, _)) => {
                        served += 1;
                        let _ = handle(s, &routes, &req2);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(2));
                    }
                    Err(_) => break,
                }
            }
        });
        Server {
            base,
            requests,
            stop,
            handle: Some(handle),
        }
    }

    pub fn url(&self, prefix: &str) -> String {
        format!("{}/{prefix}/", self.base)
    }

    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn handle(
    mut s: TcpStream,
    routes: &HashMap<String, Reply>,
    log: &Mutex<Vec<String>>,
) -> std::io::Result<()> {
    s.set_nonblocking(false)?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16384 {
        let n = s.read(&mut buf)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&head);
    let path = text.split_whitespace().nth(1).unwrap_or("").to_string();
    log.lock().unwrap().push(path.clone());
    match routes.get(&path) {
        Some(Reply::Ok(body)) => {
            write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Type: application/gzip\r\nConnection: close\r\n\r\n",
                body.len()
            )?;
            s.write_all(body)?;
        }
        Some(Reply::Truncated(body)) => {
            write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            )?;
            s.write_all(&body[..body.len() / 2])?;
        }
        None => {
            s.write_all(
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot found",
            )?;
        }
    }
    s.flush()
}
