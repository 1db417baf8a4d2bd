//! Restoring arbitrary bytes as a checkpoint must fail cleanly or restore valid values.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rustflow::prelude::*;
use rustflow::train::Saver;
use std::sync::OnceLock;

struct Fixture {
    graph: Graph,
    saver: Saver,
    path: std::path::PathBuf,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let graph = Graph::new();
        graph.variable(&graph.zeros(&[2, 3]).unwrap(), "W").unwrap();
        graph.variable(&graph.constant(Value::scalar(1i64)), "step").unwrap();
        let saver = Saver::new(&graph);
        let path = std::env::temp_dir().join(format!("rustflow-fuzz-{}.safetensors", std::process::id()));
        Fixture { graph, saver, path }
    })
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    std::fs::write(&f.path, data).unwrap();
    let sess = Session::new(&f.graph);
    if f.saver.restore(&sess, &f.path).is_ok() {
        // Whatever was restored has the graph's shapes.
        let w = f.graph.tensor_by_name("W:0").unwrap();
        assert_eq!(sess.eval(&w, &feed! {}).unwrap().shape(), &[2, 3]);
    }
});
