//! `import_meta_graph`: a `MetaGraphDef` (`model.ckpt.meta`): its graph, saver and collections.

use crate::import::{import_graph_def, Element, ImportOptions};
use rustflow_graph::{Error, Graph, Result};
use rustflow_proto::{collection_def::Kind, Message, MetaGraphDef, SaverDef};
use std::collections::BTreeMap;
use std::path::Path;

/// What [`import_meta_graph`] brings back besides the nodes.
#[derive(Debug, Clone)]
pub struct MetaGraph {
    /// The saver's tensor and op names (`save/Const:0`, `save/restore_all`), if any.
    pub saver_def: Option<SaverDef>,
    /// Each collection's node or tensor names (`train_op` → `["Adam"]`); collections of
    /// serialized protos (`variables`) are listed by their count of entries.
    pub collections: BTreeMap<String, Vec<String>>,
}

/// Reads `path` (`tf.train.import_meta_graph`) and imports its graph into `graph` under
/// `options`. An op type rustflow does not have is an error naming it and the node, before
/// anything is added.
pub fn import_meta_graph(
    graph: &Graph,
    path: impl AsRef<Path>,
    options: &ImportOptions,
) -> Result<(MetaGraph, Vec<Element>)> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.into(),
        source,
    })?;
    let meta = MetaGraphDef::decode(bytes.as_slice()).map_err(|e| {
        let (at, why) = crate::wire::meta_graph_def(&bytes).unwrap_or((0, e.to_string()));
        Error::DataLoss {
            path: path.into(),
            offset: at as u64,
            msg: format!("not a MetaGraphDef: {why}"),
        }
    })?;
    let elements = import_graph_def(graph, &meta.graph_def.clone().unwrap_or_default(), options)?;
    let collections = meta
        .collection_def
        .iter()
        .map(|(name, c)| {
            let items = match &c.kind {
                Some(Kind::NodeList(l)) => l.value.clone(),
                Some(Kind::BytesList(l)) => vec![format!("<{} serialized entries>", l.value.len())],
                Some(Kind::Int64List(l)) => l.value.iter().map(i64::to_string).collect(),
                Some(Kind::FloatList(l)) => l.value.iter().map(f32::to_string).collect(),
                Some(Kind::AnyList(l)) => vec![format!("<{} Any entries>", l.value.len())],
                None => Vec::new(),
            };
            (name.clone(), items)
        })
        .collect();
    Ok((
        MetaGraph {
            saver_def: meta.saver_def,
            collections,
        },
        elements,
    ))
}
