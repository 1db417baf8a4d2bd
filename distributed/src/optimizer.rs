//! `DistributedOptimizer`: any optimizer, with its gradients averaged across processes.

use crate::fusion::{Bucket, Fuse, FusedAllreduce};
use rustflow_graph::{Graph, Operation, Result, Tensor};
use rustflow_ops::train::{Hyper, Optimizer};
use rustflow_ops::Variable;
use std::sync::Arc;

/// Wraps an optimizer so that each gradient is averaged over all processes before it is
/// applied (`hvd.DistributedOptimizer`). The gradients are packed into fusion buffers of at
/// most [`DistributedOptimizer::fusion_threshold`] bytes, last variable first (the order the
/// backward pass produces them); each buffer is all-reduced as soon as its last gradient is
/// computed, while the backward pass goes on. A tensor larger than the threshold is a buffer
/// of its own.
///
/// The gradient of the mean loss over the processes is the mean of their gradients: with
/// `N` processes of batch `b` each, a step is one step of batch `N*b` (Horovod scales the
/// learning rate by `N` to keep the per-image step of a sum-of-losses model; see the
/// README).
///
/// The overlap needs a core for the communicator thread: on a core that also computes, the
/// reduction and the backward pass slow each other down (every message between the
/// processes waits for a time slice), so by default a buffer is reduced during the backward
/// pass only when the process may run on more cores than its thread pool computes on, and
/// otherwise once the backward pass is done ([`DistributedOptimizer::with_overlap`]).
///
/// Each process must build the same graph (the buffers are matched by name and checked for
/// shapes); one step at a time per optimizer.
#[derive(Debug)]
pub struct DistributedOptimizer<O> {
    inner: O,
    fusion_threshold: usize,
    overlap: Option<bool>,
}

impl<O: Optimizer> DistributedOptimizer<O> {
    /// `inner` with fusion buffers of 4 MiB.
    pub fn new(inner: O) -> Self {
        DistributedOptimizer {
            inner,
            fusion_threshold: 4 << 20,
            overlap: None,
        }
    }

    /// Whether buffers are reduced during the backward pass (`true`) or after it (`false`),
    /// instead of deciding by the cores this process may use.
    pub fn with_overlap(mut self, overlap: bool) -> Self {
        self.overlap = Some(overlap);
        self
    }

    /// Whether the buffers are reduced during the backward pass.
    pub fn overlaps(&self) -> bool {
        self.overlap.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .is_ok_and(|cores| cores.get() > rayon::current_num_threads())
        })
    }

    /// The same with fusion buffers of at most `bytes` (0: one buffer per gradient).
    pub fn with_fusion_threshold(mut self, bytes: usize) -> Self {
        self.fusion_threshold = bytes;
        self
    }

    /// The fusion buffers' size in bytes.
    pub fn fusion_threshold(&self) -> usize {
        self.fusion_threshold
    }

    /// The wrapped optimizer.
    pub fn inner(&self) -> &O {
        &self.inner
    }

    /// Averages `grads_and_vars`' gradients over the processes through fusion buffers.
    fn average(
        &self,
        g: &Graph,
        grads_and_vars: Vec<(Option<Tensor>, Variable)>,
    ) -> Result<Vec<(Option<Tensor>, Variable)>> {
        // Last variable first: the backward pass reaches the last layers first.
        let order: Vec<usize> = (0..grads_and_vars.len())
            .rev()
            .filter(|&i| grads_and_vars[i].0.is_some())
            .collect();
        let mut buckets: Vec<Vec<usize>> = Vec::new();
        let mut bytes = 0usize;
        for &i in &order {
            let grad = grads_and_vars[i].0.as_ref().expect("filtered");
            let size = grad
                .shape()
                .num_elements()
                .or_else(|| grads_and_vars[i].1.shape().num_elements())
                .map_or(usize::MAX, |n| n * 4);
            match buckets.last_mut() {
                Some(b) if bytes.saturating_add(size) <= self.fusion_threshold => {
                    b.push(i);
                    bytes += size;
                }
                _ => {
                    buckets.push(vec![i]);
                    bytes = size;
                }
            }
        }
        let overlap = self.overlaps();
        let mut averaged: Vec<Option<Tensor>> = vec![None; grads_and_vars.len()];
        g.without_control_dependencies(|g| {
            g.name_scope("DistributedOptimizer", |g| {
                let mut fuses = Vec::new();
                let mut plans = Vec::new();
                for members in &buckets {
                    let name = g.unique_name("fusion_buffer");
                    let names = members
                        .iter()
                        .map(|&i| grads_and_vars[i].0.as_ref().expect("filtered").name())
                        .collect();
                    let bucket = Arc::new(Bucket::new(name, names, overlap));
                    for (index, &i) in members.iter().enumerate() {
                        let grad = grads_and_vars[i].0.as_ref().expect("filtered");
                        let op = Fuse {
                            bucket: bucket.clone(),
                            index,
                        };
                        fuses.push(
                            g.add_node("HorovodFuse", Arc::new(op), &[grad], &[], vec![])?
                                .id(),
                        );
                        plans.push((bucket.clone(), index, i));
                    }
                }
                for (bucket, index, i) in plans {
                    let spec = grads_and_vars[i].0.as_ref().expect("filtered").spec();
                    let op = FusedAllreduce { bucket, index };
                    let out = g.add_node(
                        "HorovodFusedAllreduce",
                        Arc::new(op),
                        &[],
                        &fuses,
                        vec![spec],
                    )?;
                    averaged[i] = Some(out.output(0)?);
                }
                Ok(())
            })
        })?;
        Ok(averaged
            .into_iter()
            .zip(grads_and_vars)
            .map(|(a, (_, v))| (a, v))
            .collect())
    }
}

impl<O: Optimizer> Optimizer for DistributedOptimizer<O> {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn hypers(&self) -> Vec<(&'static str, &Hyper)> {
        self.inner.hypers()
    }
    fn apply_dense(&self, grad: &Tensor, var: &Variable, h: &[Tensor]) -> Result<Operation> {
        self.inner.apply_dense(grad, var, h)
    }
    fn create_slots(&self, vars: &[&Variable]) -> Result<()> {
        self.inner.create_slots(vars)
    }
    fn get_slot(&self, var: &Variable, name: &str) -> Option<Variable> {
        self.inner.get_slot(var, name)
    }
    fn finish(&self, g: &Graph, updates: &[Operation], h: &[Tensor]) -> Result<Vec<Operation>> {
        self.inner.finish(g, updates, h)
    }
    /// The wrapped optimizer's gradients, each averaged over the processes.
    fn compute_gradients(
        &self,
        loss: &Tensor,
        var_list: Option<&[Variable]>,
    ) -> Result<Vec<(Option<Tensor>, Variable)>> {
        let gv = self.inner.compute_gradients(loss, var_list)?;
        self.average(loss.graph(), gv)
    }
}
