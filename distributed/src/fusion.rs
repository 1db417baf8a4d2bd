//! Tensor fusion: gradients packed into buffers that are all-reduced as soon as they are
//! complete, while the backward pass goes on (Horovod's fusion buffer).
//!
//! A [`Bucket`] is a fixed group of gradients chosen when the graph is built. Each gradient
//! has a `HorovodFuse` node, which hands it to the bucket and returns at once; the one that
//! completes the bucket submits it to the communicator thread, which packs and reduces it
//! while the executor's threads go on with the backward pass. Each gradient's
//! `HorovodFusedAllreduce` node then gives its averaged part; it runs only after every
//! `HorovodFuse` node of the step, so a thread waiting for a reduction never holds back a
//! gradient that another process waits for.

use crate::comm::{self, Collective, Header, Payload, Reply};
use rustflow_graph::{
    fmt_dims, not_differentiable, DType, GradContext, KernelContext, Op, OpKind, Result, Tensor,
    Value,
};
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex, PoisonError};

/// One fusion buffer: its gradients, and the state of the current step.
#[derive(Debug)]
pub(crate) struct Bucket {
    /// The name every process gives this buffer.
    pub name: String,
    /// The names of its gradients, in packing order.
    pub members: Vec<String>,
    /// Whether the reduction starts as soon as the buffer is complete (overlapping the rest
    /// of the backward pass) rather than when the first averaged gradient is asked for.
    overlap: bool,
    state: Mutex<State>,
}

/// Each member's offset and shape in a fused buffer.
type Layout = Vec<(usize, Vec<usize>)>;

#[derive(Debug, Default)]
struct State {
    slots: Vec<Option<Value>>,
    /// The reduction submitted and not yet received.
    pending: Option<PendingReply>,
    /// The reduced buffer and each member's (offset, shape) in it.
    result: Option<(Reply, Layout)>,
    layout: Layout,
    popped: usize,
}

struct PendingReply(Receiver<Reply>);

impl std::fmt::Debug for PendingReply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PendingReply")
    }
}

impl Bucket {
    pub(crate) fn new(name: String, members: Vec<String>, overlap: bool) -> Bucket {
        let n = members.len();
        Bucket {
            name,
            members,
            overlap,
            state: Mutex::new(State {
                slots: vec![None; n],
                ..State::default()
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Hands gradient `j` of this step to the bucket; with overlap, the last one submits it.
    fn push(&self, j: usize, v: Value) -> std::result::Result<(), String> {
        if v.dtype() != DType::F32 {
            return Err(format!(
                "gradient '{}' is {}, fusion buffers hold float",
                self.members[j],
                v.dtype().tf_name()
            ));
        }
        let mut st = self.lock();
        if st.result.is_some() || st.popped > 0 {
            // A step that failed after its reduction: its results are stale.
            st.result = None;
            st.popped = 0;
        }
        if let Some(p) = st.pending.take() {
            // A step that failed before its pops: wait for its reduction so that every
            // process stays in step, and drop it.
            let _ = p.0.recv();
        }
        st.slots[j] = Some(v);
        if !self.overlap || st.slots.iter().any(Option::is_none) {
            return Ok(());
        }
        self.submit(&mut st)
    }

    /// Packs the complete buffer and hands it to the communicator.
    fn submit(&self, st: &mut State) -> std::result::Result<(), String> {
        if st.slots.iter().any(Option::is_none) {
            return Err(format!(
                "fusion buffer '{}' was not filled this step",
                self.name
            ));
        }
        let values: Vec<Value> = st.slots.iter_mut().filter_map(Option::take).collect();
        let mut layout = Vec::with_capacity(values.len());
        let mut at = 0;
        for v in &values {
            layout.push((at, v.shape().to_vec()));
            at += v.len();
        }
        let members = self
            .members
            .iter()
            .zip(&values)
            .map(|(n, v)| format!("{n} {}", fmt_dims(v.shape())))
            .collect::<Vec<_>>()
            .join(", ");
        let header = Header {
            name: self.name.clone(),
            kind: Collective::Average,
            dtype: DType::F32,
            shape: vec![at],
            members,
        };
        let payload = match <[Value; 1]>::try_from(values) {
            Ok([one]) => Payload::Tensor(one.reshaped(&[at]).map_err(|e| e.to_string())?),
            Err(values) => Payload::Fused(values),
        };
        st.layout = layout;
        st.pending = Some(PendingReply(comm::submit(header, payload)));
        Ok(())
    }

    /// The averaged gradient `j` of this step, once the bucket is reduced.
    fn pop(&self, j: usize, ctx: &KernelContext<'_>) -> std::result::Result<Value, String> {
        let mut st = self.lock();
        if st.result.is_none() {
            if st.pending.is_none() {
                self.submit(&mut st)?;
            }
            let p = st.pending.take().expect("submitted above");
            let reply =
                p.0.recv()
                    .unwrap_or_else(|_| Err("the MPI thread has stopped".into()));
            let layout = std::mem::take(&mut st.layout);
            st.result = Some((reply, layout));
        }
        let (reply, layout) = st.result.as_ref().expect("set above");
        let out = match reply {
            Err(msg) => Err(msg.clone()),
            Ok(flat) if layout.len() == 1 => flat.reshaped(&layout[0].1).map_err(|e| e.to_string()),
            Ok(flat) => {
                let (at, shape) = &layout[j];
                let len = shape.iter().product::<usize>();
                let src = flat.as_slice::<f32>().map_err(|e| e.to_string())?;
                let mut buf = ctx.output_f32(len);
                buf.copy_from_slice(&src[*at..at + len]);
                Value::new(shape, buf).map_err(|e| e.to_string())
            }
        };
        st.popped += 1;
        if st.popped == self.members.len() {
            st.result = None;
            st.popped = 0;
        }
        out
    }
}

/// `HorovodFuse`: hands one gradient to its fusion buffer; no output.
#[derive(Debug)]
pub(crate) struct Fuse {
    pub bucket: Arc<Bucket>,
    pub index: usize,
}

impl Op for Fuse {
    fn op_type(&self) -> &'static str {
        "HorovodFuse"
    }
    fn kind(&self) -> OpKind {
        OpKind::Stateful
    }
    /// The reduction starts when the last gradient of the buffer arrives, while the backward
    /// pass goes on.
    fn urgent(&self) -> bool {
        true
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let v = ctx.take_input(0);
        self.bucket
            .push(self.index, v)
            .map_err(|msg| crate::unavailable(&self.bucket.name, self.op_type(), msg))?;
        Ok(vec![])
    }
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        not_differentiable(gc)
    }
    fn attrs(&self) -> String {
        format!("buffer={:?}, index={}", self.bucket.name, self.index)
    }
}

/// `HorovodFusedAllreduce`: one gradient averaged over the processes, out of its reduced
/// fusion buffer.
#[derive(Debug)]
pub(crate) struct FusedAllreduce {
    pub bucket: Arc<Bucket>,
    pub index: usize,
}

impl Op for FusedAllreduce {
    fn op_type(&self) -> &'static str {
        "HorovodFusedAllreduce"
    }
    fn kind(&self) -> OpKind {
        OpKind::Stateful
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let v = self
            .bucket
            .pop(self.index, ctx)
            .map_err(|msg| crate::unavailable(&self.bucket.name, self.op_type(), msg))?;
        Ok(vec![v])
    }
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        not_differentiable(gc)
    }
    fn attrs(&self) -> String {
        format!("buffer={:?}, index={}", self.bucket.name, self.index)
    }
}
