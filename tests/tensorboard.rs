//! TensorBoard's files: the event log real TensorFlow wrote reads back as TensorBoard read it
//! (`../shared/interop/deep_mnist/events_expected.json`), and what rustflow writes reads back
//! with the same reader, whole or cut short, and fails by name when corrupt.

use rustflow::prelude::*;
use rustflow::proto::tensorboard::{event::What, summary::value::Value as V, Event};
use rustflow::proto::Message;
use rustflow::summary::{self, EventReader, FileWriter};
use rustflow::RunOptions;
use serde_json::Value as Json;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn interop() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/interop/deep_mnist")
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("rustflow-tb-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// The summary values of `events` by tag: (step, value) in file order.
fn values(events: &[Event]) -> BTreeMap<String, Vec<(i64, V)>> {
    let mut m: BTreeMap<String, Vec<(i64, V)>> = BTreeMap::new();
    for e in events {
        if let Some(What::Summary(s)) = &e.what {
            for v in &s.value {
                if let Some(val) = &v.value {
                    m.entry(v.tag.clone())
                        .or_default()
                        .push((e.step, val.clone()));
                }
            }
        }
    }
    m
}

#[test]
fn tensorflows_event_log_reads_as_tensorboard_read_it() {
    let dir = interop().join("events");
    let file = std::fs::read_dir(&dir)
        .expect("the interop events folder")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().contains("tfevents"))
        .expect("an event file");
    let events: Vec<Event> = EventReader::open(&file)
        .unwrap()
        .collect::<rustflow::Result<_>>()
        .unwrap();
    let want: Json = serde_json::from_str(
        &std::fs::read_to_string(interop().join("events_expected.json")).unwrap(),
    )
    .unwrap();
    assert!(matches!(&events[0].what, Some(What::FileVersion(v)) if v == "brain.Event:2"));
    assert!(events
        .iter()
        .any(|e| matches!(e.what, Some(What::GraphDef(_)))));
    assert!(events
        .iter()
        .any(|e| matches!(e.what, Some(What::MetaGraphDef(_)))));
    let got = values(&events);

    for (tag, points) in want["scalars"].as_object().unwrap() {
        let got: Vec<(i64, f32)> = got[tag]
            .iter()
            .map(|(s, v)| match v {
                V::SimpleValue(x) => (*s, *x),
                v => panic!("{tag}: {v:?} is not a scalar"),
            })
            .collect();
        let want: Vec<(i64, f32)> = points
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p[0].as_i64().unwrap(), p[1].as_f64().unwrap() as f32))
            .collect();
        assert_eq!(got, want, "scalar {tag}");
    }
    for (tag, hists) in want["histograms"].as_object().unwrap() {
        let hists = hists.as_array().unwrap();
        if let Some(tag) = tag.strip_suffix(".steps") {
            let steps: Vec<i64> = got[tag].iter().map(|(s, _)| *s).collect();
            let want: Vec<i64> = hists.iter().filter_map(Json::as_i64).collect();
            assert_eq!(steps, want, "{tag} steps");
            continue;
        }
        assert_eq!(got[tag].len(), hists.len());
        for ((step, v), h) in got[tag].iter().zip(hists) {
            let V::Histo(p) = v else {
                panic!("{tag} is not a histogram")
            };
            assert_eq!(*step, h["step"].as_i64().unwrap());
            assert_eq!(p.num, h["num"].as_f64().unwrap());
            assert_eq!(p.min as f32, h["min"].as_f64().unwrap() as f32);
            assert_eq!(p.max as f32, h["max"].as_f64().unwrap() as f32);
            assert!((p.sum - h["sum"].as_f64().unwrap()).abs() < 1e-9);
            assert_eq!(p.bucket.len() as u64, h["buckets"].as_u64().unwrap());
        }
    }
    for (tag, images) in want["images"].as_object().unwrap() {
        let (step, V::Image(img)) = &got[tag][0] else {
            panic!("{tag} is not an image")
        };
        let w = &images[0];
        assert_eq!(*step, w["step"].as_i64().unwrap());
        assert_eq!(img.width as u64, w["width"].as_u64().unwrap());
        assert_eq!(img.height as u64, w["height"].as_u64().unwrap());
        let sha = format!("{:x}", Sha256::digest(&img.encoded_image_string));
        assert_eq!(sha, w["png_sha256"].as_str().unwrap(), "{tag}");
    }
}

/// A small graph with one summary of each kind, merged.
fn summaries(g: &Graph) -> rustflow::Result<(Tensor, Tensor)> {
    let x = g.placeholder_named(F32, shape![?, 4, 4, 1], "x");
    let loss = rustflow::reduce_mean(&x, None, false)?;
    g.name_scope("train", |_| summary::scalar("loss", &loss))?;
    summary::histogram("pixels", &x)?;
    summary::image("input", &x, 2)?;
    let note = g.constant(Value::strings(&[], vec![b"*hello*".to_vec()])?);
    summary::text("note", &note)?;
    Ok((x, summary::merge_all(g)?.expect("four summaries")))
}

#[test]
fn what_the_writer_writes_reads_back() {
    let g = Graph::new();
    let (x, merged) = summaries(&g).unwrap();
    let sess = Session::new(&g);
    let dir = temp_dir("roundtrip");
    let writer = FileWriter::new(&dir, None).unwrap();
    let images: Vec<f32> = (0..48).map(|i| i as f32 / 47.0).collect();
    let feed = feed! { &x => Value::new(&[3, 4, 4, 1], images).unwrap() };
    for step in [0, 10, 20] {
        let (out, meta) = sess
            .run_with(
                &fetches![&merged],
                &feed,
                &RunOptions {
                    trace: step == 10,
                    ..RunOptions::default()
                },
            )
            .unwrap();
        writer.add_summary(out.value(0).unwrap(), step).unwrap();
        if step == 10 {
            writer.add_run_metadata(&meta, "step_10", step).unwrap();
        }
    }
    writer.flush().unwrap();
    // Flushed events are readable while the writer is still open.
    let path = writer.path().to_path_buf();
    let seen = EventReader::open(&path).unwrap().count();
    assert_eq!(seen, 5, "version, three summaries, run metadata");
    writer.close().unwrap();

    let events: Vec<Event> = EventReader::open(&path)
        .unwrap()
        .collect::<rustflow::Result<_>>()
        .unwrap();
    let got = values(&events);
    let tags: Vec<&str> = got.keys().map(String::as_str).collect();
    assert_eq!(
        tags,
        [
            "input/image/0",
            "input/image/1",
            "note",
            "pixels",
            "train/loss"
        ]
    );
    let loss: Vec<(i64, f32)> = got["train/loss"]
        .iter()
        .map(|(s, v)| match v {
            V::SimpleValue(x) => (*s, *x),
            _ => panic!(),
        })
        .collect();
    let mean = (0..48).map(|i| i as f32 / 47.0).sum::<f32>() / 48.0;
    assert_eq!(loss.len(), 3);
    for (s, v) in &loss {
        assert!([0, 10, 20].contains(s));
        assert!((v - mean).abs() < 1e-6);
    }
    let V::Histo(h) = &got["pixels"][0].1 else {
        panic!()
    };
    assert_eq!((h.num, h.min, h.max), (48.0, 0.0, 1.0));
    assert_eq!(h.bucket.iter().sum::<f64>(), 48.0);
    let V::Image(img) = &got["input/image/1"][0].1 else {
        panic!()
    };
    assert_eq!((img.width, img.height, img.colorspace), (4, 4, 1));
    assert_eq!(&img.encoded_image_string[1..4], b"PNG");
    let run = events
        .iter()
        .find_map(|e| match &e.what {
            Some(What::TaggedRunMetadata(r)) => Some(r.clone()),
            _ => None,
        })
        .expect("run metadata");
    assert_eq!(run.tag, "step_10");
    let meta =
        rustflow::proto::tensorboard::RunMetadata::decode(run.run_metadata.as_slice()).unwrap();
    let nodes = &meta.step_stats.unwrap().dev_stats[0].node_stats;
    assert!(nodes.iter().any(|n| n.node_name == "Merge/MergeSummary"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_cut_file_reads_to_the_cut_and_a_corrupt_one_names_the_offset() {
    let dir = temp_dir("damage");
    let writer = FileWriter::new(&dir, None).unwrap();
    let g = Graph::new();
    let s = summary::scalar("v", &g.constant(1.5f32)).unwrap();
    let value = Session::new(&g).eval(&s, &feed! {}).unwrap();
    for step in 0..4 {
        writer.add_summary(&value, step).unwrap();
    }
    let path = writer.path().to_path_buf();
    writer.close().unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let whole = EventReader::open(&path).unwrap().count();
    assert_eq!(whole, 5);
    // Cut anywhere: every record before the cut, then the end.
    let cut_path = dir.join("cut");
    let mut boundaries = vec![0];
    for e in EventReader::open(&path).unwrap() {
        boundaries.push(boundaries.last().unwrap() + e.unwrap().encode_to_vec().len() + 16);
    }
    for cut in 1..bytes.len() {
        std::fs::write(&cut_path, &bytes[..cut]).unwrap();
        let mut r = EventReader::open(&cut_path).unwrap();
        let read: Vec<Event> = r.by_ref().collect::<rustflow::Result<_>>().unwrap();
        assert!(read.len() < whole, "cut at {cut}");
        // A cut between two records is a shorter file, not a truncated one.
        let between = boundaries.contains(&cut);
        assert_eq!(r.truncated_at().is_none(), between, "cut at {cut}");
    }
    // A flipped byte in the third record: the first two read, then an error naming the file
    // and the third record's offset.
    let third: usize = EventReader::open(&path)
        .unwrap()
        .take(2)
        .map(|e| e.unwrap().encode_to_vec().len() + 16)
        .sum();
    let mut bad = bytes.clone();
    bad[third + 14] ^= 1;
    std::fs::write(&cut_path, &bad).unwrap();
    let read: Vec<_> = EventReader::open(&cut_path).unwrap().collect();
    assert_eq!(read.len(), 3);
    let err = read[2].as_ref().unwrap_err().to_string();
    assert!(
        err.contains("cut") && err.contains(&format!("byte offset {third}")),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_graph_is_the_second_event_with_its_shapes() {
    let g = Graph::new();
    let (_, merged) = summaries(&g).unwrap();
    let dir = temp_dir("graph");
    let writer = FileWriter::new(&dir, Some(&g)).unwrap();
    let path = writer.path().to_path_buf();
    writer.close().unwrap();
    let events: Vec<Event> = EventReader::open(&path)
        .unwrap()
        .collect::<rustflow::Result<_>>()
        .unwrap();
    assert_eq!(events.len(), 2);
    assert!(matches!(&events[0].what, Some(What::FileVersion(v)) if v == "brain.Event:2"));
    let Some(What::GraphDef(bytes)) = &events[1].what else {
        panic!("the second event is not the graph: {:?}", events[1].what)
    };
    let def = rustflow::proto::GraphDef::decode(bytes.as_slice()).unwrap();
    let node = |name: &str| {
        def.node
            .iter()
            .find(|n| n.name == name)
            .unwrap_or_else(|| panic!("no node {name}"))
    };
    assert_eq!(node("x").op, "Placeholder");
    assert_eq!(node("train/loss").op, "ScalarSummary");
    assert_eq!(node(&merged.op().name()).op, "MergeSummary");
    assert_eq!(node(&merged.op().name()).input.len(), 4);
    // `_output_shapes` as TensorFlow's `add_shapes=True` writes it: x is [?, 4, 4, 1].
    use rustflow::proto::attr_value::Value as A;
    let Some(A::List(shapes)) = &node("x").attr["_output_shapes"].value else {
        panic!("x has no _output_shapes")
    };
    let dims: Vec<i64> = shapes.shape[0].dim.iter().map(|d| d.size).collect();
    assert_eq!(dims, [-1, 4, 4, 1]);
    for id in g.node_ids() {
        node(&g.node(id).name);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn merge_all_merges_the_summaries_collection() {
    let g = Graph::new();
    let a = summary::scalar("a", &g.constant(1.0f32)).unwrap();
    let merged = summary::merge_all(&g).unwrap().unwrap();
    // Made after merge_all: not in the merged summary, as in TensorFlow.
    summary::scalar("b", &g.constant(2.0f32)).unwrap();
    let in_collection = g.get_collection(rustflow::GraphKeys::SUMMARIES);
    assert_eq!(in_collection.len(), 2);
    assert_eq!(in_collection[0], a.clone().into());
    let out = Session::new(&g).eval(&merged, &feed! {}).unwrap();
    let s = rustflow::proto::tensorboard::Summary::decode(out.as_strings().unwrap()[0].as_slice())
        .unwrap();
    let tags: Vec<&str> = s.value.iter().map(|v| v.tag.as_str()).collect();
    assert_eq!(tags, ["a"]);
    assert_eq!(
        summary::merge_all(&g).unwrap().unwrap().op().inputs().len(),
        2
    );
}

#[test]
fn events_reach_the_file_without_a_flush() {
    let dir = temp_dir("background");
    let writer = FileWriter::new(&dir, None).unwrap();
    let g = Graph::new();
    let s = summary::scalar("v", &g.constant(0.5f32)).unwrap();
    let value = Session::new(&g).eval(&s, &feed! {}).unwrap();
    writer.add_summary(&value, 7).unwrap();
    // A process killed now loses at most what the writer's thread has held for less than
    // FLUSH_EVERY: after it, the events are in the file although the writer is still open.
    std::thread::sleep(
        summary::EventFileWriter::FLUSH_EVERY + std::time::Duration::from_millis(500),
    );
    let events: Vec<Event> = EventReader::open(writer.path())
        .unwrap()
        .collect::<rustflow::Result<_>>()
        .unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[1].step, 7);
    drop(writer);
    let _ = std::fs::remove_dir_all(&dir);
}
