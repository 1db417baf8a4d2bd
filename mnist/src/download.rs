//! Downloading missing files from mirrors (feature `download`).
//!
//! A file is fetched into a temporary file in the target directory, its
//! decompressed SHA-256 is checked, and only then is it renamed into place.
//! On any failure the temporary file is removed: a half-written or corrupt
//! file is never left behind under the real name.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::loader::sha256_hex;
use crate::{idx, Error};

/// Largest response body accepted (the largest MNIST file is under 10 MB).
pub const MAX_DOWNLOAD_BYTES: u64 = 256 * 1024 * 1024;

/// Removes the file on drop unless disarmed.
struct TempFile {
    path: PathBuf,
    armed: bool,
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if self.armed {
            let _ = fs::remove_file(&self.path);
        }
    }
}

fn temp_path(dir: &Path, file_name: &str) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    dir.join(format!(".{file_name}.{}.{n}.part", std::process::id()))
}

fn url_for(mirror: &str, file_name: &str) -> String {
    if mirror.ends_with('/') {
        format!("{mirror}{file_name}")
    } else {
        format!("{mirror}/{file_name}")
    }
}

/// Downloads `file_name` from the first mirror that serves it with the right
/// content: `<mirror><file_name>` is fetched into a temporary file in `dir`,
/// decompressed (if gzipped) and its SHA-256 compared with `sha256_hex`, then
/// renamed to `dir/file_name`. Returns that final path.
///
/// Mirrors are tried in order; a mirror that fails (connection error, HTTP
/// error status, body larger than [`MAX_DOWNLOAD_BYTES`], corrupt gzip,
/// wrong checksum) is recorded and the next one is tried. If all fail, the
/// result is [`Error::Download`] listing every attempt, and no file is left
/// in `dir`.
pub fn download_file(
    dir: &Path,
    file_name: &str,
    sha256_hex: &str,
    mirrors: &[String],
) -> Result<PathBuf, Error> {
    let agent = ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_secs(30))
        .timeout_read(Duration::from_secs(60))
        .build();
    let dest = dir.join(file_name);
    let mut attempts = Vec::new();
    for mirror in mirrors {
        let url = url_for(mirror, file_name);
        match try_mirror(&agent, &url, dir, file_name, &dest, sha256_hex) {
            Ok(()) => return Ok(dest),
            Err(reason) => attempts.push(format!("{url}: {reason}")),
        }
    }
    Err(Error::Download {
        file: file_name.to_string(),
        dir: dir.to_path_buf(),
        attempts,
        missing: vec![file_name.to_string()],
    })
}

fn try_mirror(
    agent: &ureq::Agent,
    url: &str,
    dir: &Path,
    file_name: &str,
    dest: &Path,
    want_sha: &str,
) -> Result<(), String> {
    let resp = match agent.get(url).call() {
        Ok(r) => r,
        Err(ureq::Error::Status(code, r)) => {
            return Err(format!("HTTP {code} {}", r.status_text()));
        }
        Err(e) => return Err(e.to_string()),
    };
    let tmp = TempFile {
        path: temp_path(dir, file_name),
        armed: true,
    };
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp.path)
        .map_err(|e| format!("cannot create {}: {e}", tmp.path.display()))?;
    let mut w = BufWriter::new(file);
    let mut body = resp.into_reader().take(MAX_DOWNLOAD_BYTES + 1);
    let n = io::copy(&mut body, &mut w).map_err(|e| format!("reading the body failed: {e}"))?;
    if n > MAX_DOWNLOAD_BYTES {
        return Err(format!("body larger than {MAX_DOWNLOAD_BYTES} bytes"));
    }
    let file = w
        .into_inner()
        .map_err(|e| format!("writing {} failed: {}", tmp.path.display(), e.error()))?;
    file.sync_all()
        .map_err(|e| format!("writing {} failed: {e}", tmp.path.display()))?;
    drop(file);

    verify(&tmp.path, want_sha)?;
    fs::rename(&tmp.path, dest).map_err(|e| {
        format!(
            "cannot rename {} to {}: {e}",
            tmp.path.display(),
            dest.display()
        )
    })?;
    let mut tmp = tmp;
    tmp.armed = false;
    // Make the rename durable where the platform allows it.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

fn verify(path: &Path, want_sha: &str) -> Result<(), String> {
    let mut raw = Vec::new();
    File::open(path)
        .and_then(|mut f| f.read_to_end(&mut raw))
        .map_err(|e| format!("cannot read back {}: {e}", path.display()))?;
    let plain = idx::decompress(raw, path).map_err(|e| e.to_string())?;
    let got = sha256_hex(&plain);
    if got != want_sha {
        return Err(format!(
            "SHA-256 of the decompressed content is {got}, expected {want_sha}"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_join_with_one_slash() {
        assert_eq!(url_for("http://h/m/", "a.gz"), "http://h/m/a.gz");
        assert_eq!(url_for("http://h/m", "a.gz"), "http://h/m/a.gz");
    }

    #[test]
    fn temp_file_removed_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let p = temp_path(dir.path(), "x.gz");
        let p2 = temp_path(dir.path(), "x.gz");
        assert_ne!(p, p2);
        fs::write(&p, b"partial").unwrap();
        drop(TempFile {
            path: p.clone(),
            armed: true,
        });
        assert!(!p.exists());
    }
}
