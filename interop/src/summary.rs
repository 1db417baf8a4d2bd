//! [`FileWriter`] (`tf.compat.v1.summary.FileWriter`): an event file that starts with the graph
//! TensorBoard draws.

use crate::convert::shape_proto;
use crate::export::to_graph_def;
use rustflow_graph::{Graph, Result};
use rustflow_proto::Message;
use rustflow_proto::{attr_value::ListValue, attr_value::Value as Attr, AttrValue, GraphDef};
use rustflow_runtime::EventFileWriter;
use std::ops::Deref;
use std::path::Path;

/// Writes `events.out.tfevents.<seconds>.<host>` in `logdir` for TensorBoard, as
/// `tf.compat.v1.summary.FileWriter(logdir, graph)`: the file-version event, then the graph
/// (a `GraphDef` with each node's `_output_shapes`, which TensorBoard shows on the edges), then
/// whatever [`add_summary`](EventFileWriter::add_summary),
/// [`add_run_metadata`](EventFileWriter::add_run_metadata) and the other methods of
/// [`EventFileWriter`] (which it dereferences to) add, written on a background thread.
///
/// ```no_run
/// use rustflow_graph::Graph;
/// use rustflow_interop::summary::FileWriter;
/// let g = Graph::new();
/// // ... build the model and `let merged = summary::merge_all(&g)?` ...
/// let writer = FileWriter::new("logs/run1", Some(&g))?;
/// // writer.add_summary(&sess.eval(&merged, &feeds)?, step)?;
/// writer.close()?;
/// # Ok::<(), rustflow_graph::Error>(())
/// ```
pub struct FileWriter {
    events: EventFileWriter,
}

impl FileWriter {
    /// Creates `logdir` if needed and a new event file in it; with a graph, writes the graph.
    /// A graph that cannot be exported is an error naming its node (the file then holds only
    /// the version event).
    pub fn new(logdir: impl AsRef<Path>, graph: Option<&Graph>) -> Result<FileWriter> {
        let writer = FileWriter {
            events: EventFileWriter::new(logdir)?,
        };
        if let Some(g) = graph {
            writer.add_graph(g)?;
        }
        Ok(writer)
    }

    /// Writes `graph` as TensorBoard's graph (`add_graph`): its nodes as they are now.
    pub fn add_graph(&self, graph: &Graph) -> Result<()> {
        let def = graph_def_with_shapes(graph)?;
        self.events.add_graph_def(def.encode_to_vec())
    }

    /// Flushes and closes the file; the writer's thread ends.
    pub fn close(self) -> Result<()> {
        self.events.close()
    }
}

impl Deref for FileWriter {
    type Target = EventFileWriter;

    fn deref(&self) -> &EventFileWriter {
        &self.events
    }
}

/// `graph.as_graph_def(add_shapes=True)`: each node that keeps its rustflow name carries the
/// static shapes of its outputs as `_output_shapes`.
pub fn graph_def_with_shapes(graph: &Graph) -> Result<GraphDef> {
    let mut def = to_graph_def(graph)?;
    for node in &mut def.node {
        let Ok(op) = graph.operation_by_name(&node.name) else {
            continue; // a node the export added (an attribute made a constant)
        };
        let shapes = (0..op.num_outputs())
            .map(|i| op.output(i).map(|t| shape_proto(&t.shape())))
            .collect::<Result<Vec<_>>>()?;
        let list = ListValue {
            shape: shapes,
            ..Default::default()
        };
        node.attr.insert(
            "_output_shapes".into(),
            AttrValue {
                value: Some(Attr::List(list)),
            },
        );
    }
    Ok(def)
}
