//! `static_rnn` (unrolled) and `dynamic_rnn` (a `while_loop` over a `TensorArray`).

use super::rnn_cell::RNNCell;
use crate::{
    add, constant, less, select, transpose, while_loop, zeros, zeros_like, TensorArray,
    WhileOptions,
};
use rustflow_graph::{Error, Result, Tensor};

/// What `static_rnn` and `dynamic_rnn` take beyond the cell and the inputs (TensorFlow's
/// keyword arguments).
#[derive(Clone, Debug)]
pub struct RnnOptions {
    /// The state before the first step; zeros by default.
    pub initial_state: Option<Vec<Tensor>>,
    /// Each sequence's length (int32 `[batch]`): past it, outputs are zero and the state is
    /// carried unchanged.
    pub sequence_length: Option<Tensor>,
    /// `dynamic_rnn` only: inputs and outputs are `[time, batch, depth]` instead of
    /// `[batch, time, depth]`.
    pub time_major: bool,
    /// The variable scope (`rnn`).
    pub scope: String,
}

impl Default for RnnOptions {
    fn default() -> Self {
        RnnOptions {
            initial_state: None,
            sequence_length: None,
            time_major: false,
            scope: "rnn".into(),
        }
    }
}

fn input_depth(x: &Tensor, what: &str) -> Result<usize> {
    x.shape()
        .dims()
        .and_then(|d| d.last().copied().flatten())
        .ok_or_else(|| Error::InvalidArgument {
            node: x.op().name(),
            op: what.into(),
            msg: format!(
                "the inputs' last dimension must be known, got {}",
                x.shape()
            ),
        })
}

/// One step of `cell` with TensorFlow's handling of `sequence_length`: outputs past a
/// sequence's end are zero and its state is carried.
fn step(
    cell: &dyn RNNCell,
    x: &Tensor,
    state: &[Tensor],
    t: &Tensor,
    len: Option<&Tensor>,
) -> Result<(Tensor, Vec<Tensor>)> {
    let (out, new) = cell.call(x, state)?;
    let Some(len) = len else {
        return Ok((out, new));
    };
    // `t < len` picks rows (TensorFlow's `where(copy_cond, ...)` in `_rnn_step`).
    let running = less(t, len)?;
    let new = new
        .iter()
        .zip(state)
        .map(|(n, o)| select(&running, n, o))
        .collect::<Result<_>>()?;
    Ok((select(&running, &out, &zeros_like(&out)?)?, new))
}

fn start(cell: &dyn RNNCell, x0: &Tensor, options: &RnnOptions, what: &str) -> Result<Vec<Tensor>> {
    cell.build(x0.graph(), &options.scope, input_depth(x0, what)?)?;
    match &options.initial_state {
        Some(s) if s.len() != cell.state_size().len() => Err(Error::InvalidArgument {
            node: options.scope.clone(),
            op: what.into(),
            msg: format!(
                "{} initial state tensors for a cell with {}",
                s.len(),
                cell.state_size().len()
            ),
        }),
        Some(s) => Ok(s.clone()),
        None => cell.zero_state(x0),
    }
}

/// Runs `cell` over `inputs` (one `[batch, depth]` tensor per time step), unrolled: one copy
/// of the cell's ops per step (`tf.nn.static_rnn`). Returns the outputs and the final state.
///
/// ```
/// use rustflow_graph::{Graph, DType, shape};
/// use rustflow_ops::{placeholder, nn::{static_rnn, BasicLSTMCell, RnnOptions, RNNCell}};
/// let g = Graph::new();
/// let xs: Vec<_> = (0..3).map(|t| placeholder(&g, DType::F32, shape![?, 5], &format!("x{t}"))).collect();
/// let cell = BasicLSTMCell::new(8, 1.0);
/// let (outs, state) = static_rnn(&cell, &xs, RnnOptions::default()).unwrap();
/// assert_eq!(outs.len(), 3);
/// assert_eq!(state[1].shape().to_string(), "[?,8]");
/// assert_eq!(cell.variables()[0].op_name(), "rnn/basic_lstm_cell/kernel");
/// ```
pub fn static_rnn(
    cell: &dyn RNNCell,
    inputs: &[Tensor],
    options: RnnOptions,
) -> Result<(Vec<Tensor>, Vec<Tensor>)> {
    let Some(x0) = inputs.first() else {
        return Err(Error::InvalidArgument {
            node: options.scope,
            op: "static_rnn".into(),
            msg: "static_rnn needs at least one input".into(),
        });
    };
    let mut state = start(cell, x0, &options, "static_rnn")?;
    let mut outputs = Vec::with_capacity(inputs.len());
    for (t, x) in inputs.iter().enumerate() {
        let tt = constant(x.graph(), t as i32, "time");
        let (o, s) = step(cell, x, &state, &tt, options.sequence_length.as_ref())?;
        outputs.push(o);
        state = s;
    }
    Ok((outputs, state))
}

/// Runs `cell` over `inputs` (`[batch, time, depth]`, or `[time, batch, depth]` with
/// `time_major`) in a `while_loop`, so the graph holds one copy of the cell whatever the
/// number of steps, which may be unknown until run time (`tf.nn.dynamic_rnn`). Returns the
/// outputs (shaped as the inputs, with the cell's output width) and the final state.
pub fn dynamic_rnn(
    cell: &dyn RNNCell,
    inputs: &Tensor,
    options: RnnOptions,
) -> Result<(Tensor, Vec<Tensor>)> {
    let g = inputs.graph();
    if inputs.shape().rank() != Some(3) {
        return Err(Error::InvalidArgument {
            node: inputs.op().name(),
            op: "dynamic_rnn".into(),
            msg: format!("the inputs must have rank 3, got {}", inputs.shape()),
        });
    }
    let x = if options.time_major {
        inputs.clone()
    } else {
        transpose(inputs, Some(&[1, 0, 2]))?
    };
    let input_ta = TensorArray::unstack(&x)?;
    let steps = input_ta.size()?;
    let x0 = input_ta.read(&constant(g, 0i32, "zero"))?;
    let state = start(cell, &x0, &options, "dynamic_rnn")?;
    let zero_out = add(
        &zeros_like(&crate::slice(&x0, &[0, 0], &[-1, 1])?)?,
        &zeros(g, &[1, cell.output_size()])?,
    )?;
    let out_ta = TensorArray::like(&steps, &zero_out)?;
    let len = options.sequence_length.as_ref();
    let i0 = constant(g, 0i32, "time");
    let mut vars: Vec<&Tensor> = vec![&i0, out_ta.flow()];
    vars.extend(&state);
    let res = while_loop(
        |v| less(&v[0], &steps),
        |v| {
            let (o, s) = step(cell, &input_ta.read(&v[0])?, &v[2..], &v[0], len)?;
            let ta = TensorArray::from_flow(&v[1]).write(&v[0], &o)?;
            let mut next = vec![add(&v[0], &constant(g, 1i32, "one"))?, ta.flow().clone()];
            next.extend(s);
            Ok(next)
        },
        &vars,
        WhileOptions::default(),
    )?;
    let outputs = TensorArray::from_flow(&res[1]).stack();
    let outputs = if options.time_major {
        outputs
    } else {
        transpose(&outputs, Some(&[1, 0, 2]))?
    };
    Ok((outputs, res[2..].to_vec()))
}
