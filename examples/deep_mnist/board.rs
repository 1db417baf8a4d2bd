//! `--logdir DIR`: what the training writes for TensorBoard, as TensorFlow's
//! `mnist_with_summaries.py` does: the training cross-entropy and accuracy every `--log-every`
//! steps, histograms of the variables every 1000 of them, a few input images and the command
//! line (text) once, the graph, and one traced training step (compute time per node in
//! TensorBoard's graph).

use crate::tutorial::{Cnn, Res};
use rustflow::prelude::*;
use rustflow::summary::{self, FileWriter};
use rustflow::{reshape, trainable_variables, RunOptions};
use std::cell::Cell;
use std::path::Path;

/// Steps between two histograms of the variables.
const HISTOGRAMS_EVERY: usize = 1000;

/// The summary ops of the network and the writer they go to.
pub struct Board {
    writer: FileWriter,
    /// Cross-entropy and accuracy.
    scalars: Tensor,
    /// `merge_all`: the scalars and the histograms.
    all: Tensor,
    /// A few input images and the command line, written with the first summaries.
    once: Tensor,
    once_written: Cell<bool>,
}

impl Board {
    /// Adds the summary ops to `net`'s graph and starts an event file in `logdir` with it.
    pub fn new(logdir: &Path, net: &Cnn) -> Res<Board> {
        let g = &net.g;
        let scalars = [
            summary::scalar("cross_entropy", &net.cross_entropy)?,
            summary::scalar("accuracy", &net.accuracy)?,
        ];
        g.name_scope("variables", |_| {
            trainable_variables(g)?
                .iter()
                .map(|v| summary::histogram(&v.op().name(), v))
                .collect::<Result<Vec<_>>>()
        })?;
        let all = summary::merge_all(g)?.ok_or("no summaries")?;
        let scalars = summary::merge(&[&scalars[0], &scalars[1]])?;
        let images = summary::image("input", &reshape(&net.x, &[-1, 28, 28, 1])?, 3)?;
        let command: Vec<String> = std::env::args().collect();
        let command = g.constant(Value::strings(&[], vec![command.join(" ").into_bytes()])?);
        let once = summary::merge(&[&images, &summary::text("command", &command)?])?;
        Ok(Board {
            writer: FileWriter::new(logdir, Some(g))?,
            scalars,
            all,
            once,
            once_written: Cell::new(false),
        })
    }

    /// Evaluates the summaries due at `step` on `feeds` (the batch, no dropout), writes them,
    /// and returns the batch's accuracy.
    pub fn log(&self, sess: &Session, net: &Cnn, feeds: &FeedDict, step: usize) -> Res<f32> {
        let merged = if step.is_multiple_of(HISTOGRAMS_EVERY) {
            &self.all
        } else {
            &self.scalars
        };
        let first = !self.once_written.replace(true);
        let out = if first {
            sess.run(&fetches![&net.accuracy, merged, &self.once], feeds)?
        } else {
            sess.run(&fetches![&net.accuracy, merged], feeds)?
        };
        for k in 1..out.0.len() {
            self.writer.add_summary(out.value(k)?, step as i64)?;
        }
        Ok(out.value(0)?.scalar_value::<f32>()?)
    }

    /// Runs one training step traced and writes its statistics (`add_run_metadata`).
    pub fn traced_step(&self, sess: &Session, net: &Cnn, feeds: &FeedDict, step: usize) -> Res<()> {
        let trace = RunOptions {
            trace: true,
            ..RunOptions::default()
        };
        let (_, meta) = sess.run_with(&fetches![&net.train_step], feeds, &trace)?;
        self.writer
            .add_run_metadata(&meta, &format!("step{step}"), step as i64)?;
        Ok(())
    }

    /// Flushes and closes the event file.
    pub fn close(self) -> Res<()> {
        Ok(self.writer.close()?)
    }
}
