//! Recurrent cells (`tf.nn.rnn_cell`): `BasicRNNCell`, `BasicLSTMCell`, `LSTMCell`,
//! `GRUCell`, `MultiRNNCell`, with TensorFlow's variable names.

use crate::{
    add, concat, constant, matmul, mul, ones, random_uniform, sigmoid, slice, split, sub, tanh,
    zeros, zeros_like, Variable,
};
use rustflow_graph::{Error, Graph, Result, Tensor};
use std::sync::OnceLock;

use super::lstm_gates;

/// A recurrent cell: one time step maps `(input, state)` to `(output, new state)`. Its
/// variables are created by [`RNNCell::build`], once, under a scope (`rnn/basic_lstm_cell/
/// kernel`); `static_rnn` and `dynamic_rnn` build it under `rnn`.
pub trait RNNCell: Send + Sync {
    /// The width of each state tensor (LSTMs: `[c, h]`).
    fn state_size(&self) -> Vec<usize>;
    /// The width of the output.
    fn output_size(&self) -> usize;
    /// Creates the variables for inputs of width `input_depth`, named under `scope`; later
    /// calls do nothing.
    fn build(&self, g: &Graph, scope: &str, input_depth: usize) -> Result<()>;
    /// One step on a built cell: `(output, new state)`.
    fn call(&self, x: &Tensor, state: &[Tensor]) -> Result<(Tensor, Vec<Tensor>)>;
    /// The cell's variables, in creation order (empty before it is built).
    fn variables(&self) -> Vec<Variable>;

    /// The zero state for the batch of `x` (`[batch, size]` per state tensor; the batch may
    /// be unknown until run time).
    fn zero_state(&self, x: &Tensor) -> Result<Vec<Tensor>> {
        let g = x.graph();
        let column = zeros_like(&slice(x, &[0, 0], &[-1, 1])?)?;
        self.state_size()
            .into_iter()
            .map(|n| add(&column, &zeros(g, &[1, n])?))
            .collect()
    }
}

/// TensorFlow's default initializer of a cell's kernel: Glorot (Xavier) uniform.
fn glorot(g: &Graph, name: &str, rows: usize, cols: usize) -> Result<Variable> {
    let limit = (6.0 / (rows + cols) as f32).sqrt();
    Variable::new(
        &random_uniform(g, &[rows, cols], -limit, limit, None)?,
        &format!("{name}/"),
    )
}

fn bias(g: &Graph, name: &str, n: usize, value: f32) -> Result<Variable> {
    let init = if value == 0.0 {
        zeros(g, &[n])?
    } else {
        mul(&ones(g, &[n])?, &constant(g, value, "Const"))?
    };
    Variable::new(&init, &format!("{name}/"))
}

fn built<'a>(w: &'a OnceLock<Vec<Variable>>, cell: &str) -> Result<&'a [Variable]> {
    w.get()
        .map(Vec::as_slice)
        .ok_or_else(|| Error::InvalidArgument {
            node: cell.into(),
            op: "RNNCell".into(),
            msg: "the cell is called before it is built (RNNCell::build)".into(),
        })
}

fn build_once(
    w: &OnceLock<Vec<Variable>>,
    make: impl FnOnce() -> Result<Vec<Variable>>,
) -> Result<()> {
    if w.get().is_none() {
        let vars = make()?;
        let _ = w.set(vars);
    }
    Ok(())
}

/// `[x, h] · kernel + bias`.
fn linear(x: &Tensor, h: &Tensor, kernel: &Tensor, b: &Tensor) -> Result<Tensor> {
    add(&matmul(&concat(&[x, h], 1)?, kernel)?, b)
}

/// `h' = tanh([x, h] · kernel + bias)` (`BasicRNNCell`; variables `basic_rnn_cell/kernel`,
/// `basic_rnn_cell/bias`).
#[derive(Debug)]
pub struct BasicRNNCell {
    units: usize,
    weights: OnceLock<Vec<Variable>>,
}

impl BasicRNNCell {
    fn make(&self, g: &Graph, s: &str, input_depth: usize) -> Result<Vec<Variable>> {
        let n = self.units;
        Ok(vec![
            glorot(g, &format!("{s}/kernel"), input_depth + n, n)?,
            bias(g, &format!("{s}/bias"), n, 0.0)?,
        ])
    }

    fn step(&self, x: &Tensor, h: &Tensor, w: &[Variable]) -> Result<Tensor> {
        tanh(&linear(x, h, &w[0], &w[1])?)
    }
}

/// The constructor and [`RNNCell`] of a cell whose state is its output, one vector of
/// `units`, from its inherent `make` (its weights under a scope) and `step` (the new state).
macro_rules! one_state_cell {
    ($t:ident, $scope:literal) => {
        impl $t {
            /// A cell of `num_units`.
            pub fn new(num_units: usize) -> Self {
                $t {
                    units: num_units,
                    weights: OnceLock::new(),
                }
            }
        }

        impl RNNCell for $t {
            fn state_size(&self) -> Vec<usize> {
                vec![self.units]
            }
            fn output_size(&self) -> usize {
                self.units
            }
            fn build(&self, g: &Graph, scope: &str, input_depth: usize) -> Result<()> {
                let s = format!("{scope}/{}", $scope);
                build_once(&self.weights, || self.make(g, &s, input_depth))
            }
            fn call(&self, x: &Tensor, state: &[Tensor]) -> Result<(Tensor, Vec<Tensor>)> {
                let h = self.step(x, &state[0], built(&self.weights, $scope)?)?;
                Ok((h.clone(), vec![h]))
            }
            fn variables(&self) -> Vec<Variable> {
                self.weights.get().cloned().unwrap_or_default()
            }
        }
    };
}
one_state_cell!(BasicRNNCell, "basic_rnn_cell");
one_state_cell!(GRUCell, "gru_cell");

/// The LSTM of `BasicLSTMCell` and `LSTMCell`: state `(c, h)`, gates `i, j, f, o` from one
/// product `[x, h] · kernel + bias`, optional peepholes (`LSTMCell`'s `w_f_diag`, `w_i_diag`,
/// `w_o_diag`).
#[derive(Debug)]
struct Lstm {
    units: usize,
    forget_bias: f32,
    peepholes: bool,
    name: &'static str,
    weights: OnceLock<Vec<Variable>>,
}

impl Lstm {
    fn build(&self, g: &Graph, scope: &str, input_depth: usize) -> Result<()> {
        build_once(&self.weights, || {
            let s = format!("{scope}/{}", self.name);
            let n = self.units;
            let mut v = vec![
                glorot(g, &format!("{s}/kernel"), input_depth + n, 4 * n)?,
                bias(g, &format!("{s}/bias"), 4 * n, 0.0)?,
            ];
            if self.peepholes {
                for d in ["w_f_diag", "w_i_diag", "w_o_diag"] {
                    let limit = (3.0 / n as f32).sqrt();
                    v.push(Variable::new(
                        &random_uniform(g, &[n], -limit, limit, None)?,
                        &format!("{s}/{d}/"),
                    )?);
                }
            }
            Ok(v)
        })
    }

    fn call(&self, x: &Tensor, state: &[Tensor]) -> Result<(Tensor, Vec<Tensor>)> {
        let w = built(&self.weights, self.name)?;
        let (c, h) = (&state[0], &state[1]);
        let z = linear(x, h, &w[0], &w[1])?;
        let peepholes: Vec<Tensor> = w[2..].iter().map(|v| (**v).clone()).collect();
        let (new_c, new_h) = lstm_gates(&z, c, self.forget_bias, &peepholes)?;
        Ok((new_h.clone(), vec![new_c, new_h]))
    }
}

/// `BasicLSTMCell(num_units, forget_bias)`: state `(c, h)`; variables
/// `basic_lstm_cell/kernel` `[input + units, 4 units]` (input rows first) and
/// `basic_lstm_cell/bias`; gates in TensorFlow's order `i, j, f, o`.
#[derive(Debug)]
pub struct BasicLSTMCell(Lstm);

impl BasicLSTMCell {
    /// A cell of `num_units` whose forget gate adds `forget_bias` (TensorFlow: 1.0).
    pub fn new(num_units: usize, forget_bias: f32) -> Self {
        BasicLSTMCell(Lstm {
            units: num_units,
            forget_bias,
            peepholes: false,
            name: "basic_lstm_cell",
            weights: OnceLock::new(),
        })
    }
}

/// `LSTMCell(num_units, use_peepholes, forget_bias)`: [`BasicLSTMCell`]'s equations with
/// optional peephole connections; variables `lstm_cell/kernel`, `lstm_cell/bias`, and
/// `lstm_cell/w_f_diag`, `w_i_diag`, `w_o_diag` with peepholes.
#[derive(Debug)]
pub struct LSTMCell(Lstm);

impl LSTMCell {
    /// A cell of `num_units`, with peepholes if `use_peepholes`.
    pub fn new(num_units: usize, use_peepholes: bool, forget_bias: f32) -> Self {
        LSTMCell(Lstm {
            units: num_units,
            forget_bias,
            peepholes: use_peepholes,
            name: "lstm_cell",
            weights: OnceLock::new(),
        })
    }
}

macro_rules! lstm_cell {
    ($t:ty) => {
        impl RNNCell for $t {
            fn state_size(&self) -> Vec<usize> {
                vec![self.0.units, self.0.units]
            }
            fn output_size(&self) -> usize {
                self.0.units
            }
            fn build(&self, g: &Graph, scope: &str, input_depth: usize) -> Result<()> {
                self.0.build(g, scope, input_depth)
            }
            fn call(&self, x: &Tensor, state: &[Tensor]) -> Result<(Tensor, Vec<Tensor>)> {
                self.0.call(x, state)
            }
            fn variables(&self) -> Vec<Variable> {
                self.0.weights.get().cloned().unwrap_or_default()
            }
        }
    };
}
lstm_cell!(BasicLSTMCell);
lstm_cell!(LSTMCell);

/// `GRUCell(num_units)`: `r, u = sigmoid([x, h] · gates/kernel + gates/bias)`,
/// `c = tanh([x, r h] · candidate/kernel + candidate/bias)`, `h' = u h + (1 - u) c`;
/// variables `gru_cell/gates/{kernel,bias}` (bias starts at 1) and
/// `gru_cell/candidate/{kernel,bias}`.
#[derive(Debug)]
pub struct GRUCell {
    units: usize,
    weights: OnceLock<Vec<Variable>>,
}

impl GRUCell {
    fn make(&self, g: &Graph, s: &str, input_depth: usize) -> Result<Vec<Variable>> {
        let n = self.units;
        Ok(vec![
            glorot(g, &format!("{s}/gates/kernel"), input_depth + n, 2 * n)?,
            bias(g, &format!("{s}/gates/bias"), 2 * n, 1.0)?,
            glorot(g, &format!("{s}/candidate/kernel"), input_depth + n, n)?,
            bias(g, &format!("{s}/candidate/bias"), n, 0.0)?,
        ])
    }

    fn step(&self, x: &Tensor, h: &Tensor, w: &[Variable]) -> Result<Tensor> {
        let ru = split(&sigmoid(&linear(x, h, &w[0], &w[1])?)?, 2, 1)?;
        let c = tanh(&linear(x, &mul(&ru[0], h)?, &w[2], &w[3])?)?;
        let one = constant(x.graph(), 1.0f32, "one");
        add(&mul(&ru[1], h)?, &mul(&sub(&one, &ru[1])?, &c)?)
    }
}

/// `MultiRNNCell(cells)`: the cells stacked, each one's output the next one's input; the
/// state is every cell's state in order; variables under `multi_rnn_cell/cell_<k>/`.
pub struct MultiRNNCell {
    cells: Vec<Box<dyn RNNCell>>,
}

impl MultiRNNCell {
    /// The stack of `cells`, first cell first.
    pub fn new(cells: Vec<Box<dyn RNNCell>>) -> Self {
        MultiRNNCell { cells }
    }
}

impl RNNCell for MultiRNNCell {
    fn state_size(&self) -> Vec<usize> {
        self.cells.iter().flat_map(|c| c.state_size()).collect()
    }
    fn output_size(&self) -> usize {
        self.cells.last().map_or(0, |c| c.output_size())
    }
    fn build(&self, g: &Graph, scope: &str, input_depth: usize) -> Result<()> {
        let mut depth = input_depth;
        for (k, c) in self.cells.iter().enumerate() {
            c.build(g, &format!("{scope}/multi_rnn_cell/cell_{k}"), depth)?;
            depth = c.output_size();
        }
        Ok(())
    }
    fn call(&self, x: &Tensor, state: &[Tensor]) -> Result<(Tensor, Vec<Tensor>)> {
        let mut out = x.clone();
        let mut new_state = Vec::with_capacity(state.len());
        let mut rest = state;
        for c in &self.cells {
            let (mine, others) = rest.split_at(c.state_size().len());
            let (o, s) = c.call(&out, mine)?;
            out = o;
            new_state.extend(s);
            rest = others;
        }
        Ok((out, new_state))
    }
    fn variables(&self) -> Vec<Variable> {
        self.cells.iter().flat_map(|c| c.variables()).collect()
    }
}
