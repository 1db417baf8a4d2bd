//! Downloading against a tiny HTTP server on 127.0.0.1 started by each test.
#![cfg(feature = "download")]

mod common;

use std::collections::HashMap;
use std::fs;

use common::{gz, listing, real_data_dir, real_file, Reply, Server, NAMES};
use rustflow_mnist::download::download_file;
use rustflow_mnist::{idx, read_data_sets_with, Error, ReadOptions};
use sha2::{Digest, Sha256};

fn hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn routes(entries: Vec<(String, Reply)>) -> HashMap<String, Reply> {
    entries.into_iter().collect()
}

#[test]
fn falls_back_past_404_truncated_corrupt_and_wrong_mirrors() {
    let plain: Vec<u8> = (0..50_000u32).map(|i| (i % 251) as u8).collect();
    let good = gz(&plain);
    let mut corrupt = good.clone();
    let mid = corrupt.len() / 2;
    for b in &mut corrupt[mid..mid + 64] {
        *b ^= 0x5a;
    }
    let other = gz(b"some other content");
    let server = Server::start(
        routes(vec![
            ("/trunc/x.gz".into(), Reply::Truncated(good.clone())),
            ("/corrupt/x.gz".into(), Reply::Ok(corrupt)),
            ("/other/x.gz".into(), Reply::Ok(other)),
            ("/good/x.gz".into(), Reply::Ok(good.clone())),
        ]),
        10,
    );
    let dir = tempfile::tempdir().unwrap();
    let mirrors: Vec<String> = ["m404", "trunc", "corrupt", "other", "good"]
        .iter()
        .map(|m| server.url(m))
        .collect();
    let path = download_file(dir.path(), "x.gz", &hex(&plain), &mirrors).unwrap();
    assert_eq!(path, dir.path().join("x.gz"));
    assert_eq!(fs::read(&path).unwrap(), good);
    assert_eq!(listing(dir.path()), vec!["x.gz"]);
    assert_eq!(
        server.requests(),
        vec![
            "/m404/x.gz",
            "/trunc/x.gz",
            "/corrupt/x.gz",
            "/other/x.gz",
            "/good/x.gz"
        ]
    );
}

#[test]
fn all_mirrors_failing_leave_no_file() {
    let plain = b"payload".to_vec();
    let mut corrupt = gz(&plain);
    let n = corrupt.len();
    corrupt[n - 8] ^= 1; // CRC
    let server = Server::start(
        routes(vec![
            ("/corrupt/y.gz".into(), Reply::Ok(corrupt)),
            ("/trunc/y.gz".into(), Reply::Truncated(gz(&plain))),
        ]),
        10,
    );
    // A port with nothing listening.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/", l.local_addr().unwrap())
    };
    let dir = tempfile::tempdir().unwrap();
    let mirrors = vec![
        server.url("m404"),
        server.url("corrupt"),
        server.url("trunc"),
        closed,
    ];
    match download_file(dir.path(), "y.gz", &hex(&plain), &mirrors) {
        Err(e @ Error::Download { .. }) => {
            let msg = e.to_string();
            let Error::Download {
                file,
                dir: d,
                attempts,
                missing,
            } = e
            else {
                unreachable!()
            };
            assert_eq!(file, "y.gz");
            assert_eq!(missing, vec!["y.gz"]);
            assert_eq!(d, dir.path());
            assert_eq!(attempts.len(), 4, "{attempts:?}");
            assert!(attempts[0].contains("404"), "{attempts:?}");
            assert!(attempts[1].contains("gzip"), "{attempts:?}");
            assert!(msg.contains("MNIST_DATA_DIR"), "{msg}");
            assert!(msg.contains(&dir.path().display().to_string()), "{msg}");
        }
        other => panic!("{other:?}"),
    }
    assert!(listing(dir.path()).is_empty(), "{:?}", listing(dir.path()));
    // No mirrors at all.
    assert!(matches!(
        download_file(dir.path(), "y.gz", &hex(&plain), &[]),
        Err(Error::Download { attempts, .. }) if attempts.is_empty()
    ));
}

/// The real file, gzipped.
fn real_gz_bytes(name: &str) -> Vec<u8> {
    let p = real_file(&real_data_dir(), name);
    let raw = fs::read(&p).unwrap();
    if idx::is_gzip(&raw) {
        raw
    } else {
        gz(&raw)
    }
}

fn download_options(mirrors: Vec<String>) -> ReadOptions {
    common::isolate_from_env();
    ReadOptions {
        download: true,
        mirrors,
        ..ReadOptions::default()
    }
}

#[test]
fn read_data_sets_downloads_into_a_new_directory() {
    let server = Server::start(
        routes(
            NAMES
                .iter()
                .map(|n| (format!("/good/{n}.gz"), Reply::Ok(real_gz_bytes(n))))
                .collect(),
        ),
        8,
    );
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("MNIST_data");
    let o = download_options(vec![server.url("m404"), server.url("good")]);
    let d = read_data_sets_with(&dir, &o).unwrap();
    assert_eq!(d.train.num_examples(), 55_000);
    assert_eq!(d.validation.num_examples(), 5_000);
    assert_eq!(d.test.num_examples(), 10_000);
    assert_eq!(&d.test.class_ids()[..4], &[7, 2, 1, 0]);
    let want: Vec<String> = {
        let mut v: Vec<String> = NAMES.iter().map(|n| format!("{n}.gz")).collect();
        v.sort();
        v
    };
    assert_eq!(listing(&dir), want);
    assert_eq!(server.requests().len(), 8);
    // Second time: nothing to download.
    drop(server);
    let d = read_data_sets_with(&dir, &download_options(vec![])).unwrap();
    assert_eq!(d.train.num_examples(), 55_000);
}

#[test]
fn only_missing_files_are_downloaded_and_bad_ones_rejected() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // The two label files are present; the images come from the server.
    for n in [NAMES[1], NAMES[3]] {
        fs::write(dir.join(format!("{n}.gz")), real_gz_bytes(n)).unwrap();
    }
    // First a server whose test images are corrupt (synthetic content with
    // the right name: checksum mismatch).
    let fake = gz(&common::images_idx(3, common::pixel));
    let server = Server::start(
        routes(vec![
            (
                format!("/good/{}.gz", NAMES[0]),
                Reply::Ok(real_gz_bytes(NAMES[0])),
            ),
            (format!("/good/{}.gz", NAMES[2]), Reply::Ok(fake)),
        ]),
        4,
    );
    match read_data_sets_with(dir, &download_options(vec![server.url("good")])) {
        Err(e @ Error::Download { .. }) => {
            let msg = e.to_string();
            let Error::Download {
                file,
                attempts,
                missing,
                ..
            } = e
            else {
                unreachable!()
            };
            assert_eq!(file, format!("{}.gz", NAMES[2]));
            assert_eq!(missing, vec![format!("{}.gz", NAMES[2])]);
            assert!(msg.contains("still missing in"), "{msg}");
            assert!(attempts[0].contains("SHA-256"), "{attempts:?}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        server.requests(),
        vec![
            format!("/good/{}.gz", NAMES[0]),
            format!("/good/{}.gz", NAMES[2])
        ]
    );
    drop(server);
    // The good file was kept, the bad one never appeared, no temp files.
    let mut want = vec![
        format!("{}.gz", NAMES[0]),
        format!("{}.gz", NAMES[1]),
        format!("{}.gz", NAMES[3]),
    ];
    want.sort();
    assert_eq!(listing(dir), want);

    // Now a good server: only the one missing file is fetched.
    let server = Server::start(
        routes(vec![(
            format!("/good/{}.gz", NAMES[2]),
            Reply::Ok(real_gz_bytes(NAMES[2])),
        )]),
        4,
    );
    let d = read_data_sets_with(dir, &download_options(vec![server.url("good")])).unwrap();
    assert_eq!(d.test.num_examples(), 10_000);
    assert_eq!(server.requests(), vec![format!("/good/{}.gz", NAMES[2])]);
}

#[test]
fn offline_error_lists_every_missing_file_and_leaves_nothing() {
    // Nothing listens on this port: like a machine without network.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/mnist/", l.local_addr().unwrap())
    };
    let tmp = tempfile::tempdir().unwrap();
    // One file present: it is not listed as missing.
    fs::write(
        tmp.path().join(format!("{}.gz", NAMES[1])),
        gz(b"not looked at"),
    )
    .unwrap();
    match read_data_sets_with(tmp.path(), &download_options(vec![closed])) {
        Err(e @ Error::Download { .. }) => {
            let msg = e.to_string();
            let Error::Download {
                file,
                dir,
                attempts,
                missing,
            } = e
            else {
                unreachable!()
            };
            assert_eq!(file, format!("{}.gz", NAMES[0]));
            assert_eq!(dir, tmp.path());
            assert_eq!(attempts.len(), 1);
            let want: Vec<String> = [NAMES[0], NAMES[2], NAMES[3]]
                .iter()
                .map(|n| format!("{n}.gz"))
                .collect();
            assert_eq!(missing, want);
            for n in &want {
                assert!(msg.contains(n.as_str()), "{msg}");
            }
            assert!(msg.contains(&tmp.path().display().to_string()), "{msg}");
            assert!(msg.contains("MNIST_DATA_DIR"), "{msg}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(listing(tmp.path()), vec![format!("{}.gz", NAMES[1])]);
}
