//! `lstm_gates`: the element-wise half of an LSTM step in one kernel — TensorFlow's
//! `LSTMBlockCell` without its matrix product, which stays a `MatMul` (so it keeps the GEMM
//! kernels and runs beside other nodes).
//!
//! From the gate pre-activations `z = [x, h] · kernel + bias` (`[batch, 4 units]`, gates in
//! TensorFlow's order `i, j, f, o`) and the previous cell state `c`:
//! `c' = c ⊙ σ(f + forget_bias) + σ(i) ⊙ tanh(j)`, `h' = tanh(c') ⊙ σ(o)`, with peepholes
//! (`w_f_diag`, `w_i_diag`, `w_o_diag`) adding `w_f ⊙ c` to `f`, `w_i ⊙ c` to `i` and `w_o ⊙ c'`
//! to `o`. The separate ops compute the same values bit for bit; one node replaces about a dozen
//! (and its gradient about twenty-five), and no intermediate `[batch, units]` tensor is stored.

use crate::math::approx::{sigmoid, tanh};
use crate::math::kernels::PAR_CHUNK;
use crate::util::{add, expect_dtype, shape_error};
use crate::{constant, gradients, mul, split, zeros_like};
use rayon::prelude::*;
use rustflow_graph::{
    fmt_dims, DType, Dim, Error, GradContext, KernelContext, Op, Result, Shape, Tensor, TensorSpec,
    Value,
};

/// The `LSTMGates` op: inputs `z [batch, 4 units]`, `c [batch, units]` and, with
/// peepholes, `w_f_diag`, `w_i_diag`, `w_o_diag` (`[units]` each); outputs `c'`, `h'` and
/// the activations its gradient reads (`[batch, 5 units]`: `σ(i), tanh(j), σ(f), σ(o),
/// tanh(c')`), as `LSTMBlockCell` outputs its gates. Like TensorFlow's, the gradient takes the
/// upstream gradients of `c'` and `h'` only: the activations are functions of `z` and `c`,
/// which the gradient covers, and `lstm_gates` does not hand them out.
#[derive(Debug)]
pub struct LstmGates {
    forget_bias: f32,
}

/// The `LSTMGatesGrad` op: inputs `z`, `c`, `dc'`, `dh'`, the forward activations and the
/// peephole weights; outputs `dz`, `dc` and the peephole weights' gradients (summed over the
/// batch).
#[derive(Debug)]
pub struct LstmGatesGrad {
    forget_bias: f32,
}

/// The new cell state and output of an LSTM step: `(c', h')` from the gate pre-activations
/// `z` (`[batch, 4 units]`, gates `i, j, f, o`), the state `c` (`[batch, units]`) and, for
/// `LSTMCell`'s peepholes, `[w_f_diag, w_i_diag, w_o_diag]` (`[units]` each).
///
/// ```
/// use rustflow_graph::{Graph, DType, shape};
/// use rustflow_ops::{placeholder, nn::lstm_gates};
/// let g = Graph::new();
/// let z = placeholder(&g, DType::F32, shape![?, 32], "z");
/// let c = placeholder(&g, DType::F32, shape![?, 8], "c");
/// let (c2, h2) = lstm_gates(&z, &c, 1.0, &[]).unwrap();
/// assert_eq!((c2.shape().to_string(), h2.shape().to_string()), ("[?,8]".into(), "[?,8]".into()));
/// ```
pub fn lstm_gates(
    z: &Tensor,
    c: &Tensor,
    forget_bias: f32,
    peepholes: &[Tensor],
) -> Result<(Tensor, Tensor)> {
    let g = z.graph();
    let op = "LSTMGates";
    let mut inputs = vec![z, c];
    inputs.extend(peepholes);
    for t in &inputs {
        expect_dtype(g, op, op, t, &[DType::F32])?;
    }
    let fail = |msg: String| shape_error(g, op, op, msg, &inputs);
    if !matches!(peepholes.len(), 0 | 3) {
        return Err(fail(format!(
            "takes 0 or 3 peephole weights, got {}",
            peepholes.len()
        )));
    }
    let dims = |t: &Tensor, rank: usize| match t.shape().dims() {
        None => Ok(vec![None; rank]),
        Some(d) if d.len() == rank => Ok(d.to_vec()),
        Some(d) => Err(fail(format!("must be rank {rank}, got rank {}", d.len()))),
    };
    let (zd, cd) = (dims(z, 2)?, dims(c, 2)?);
    let units = merge(zd[1].map(|n| n / 4), cd[1])
        .filter(|_| zd[1].is_none_or(|n| n % 4 == 0))
        .ok_or_else(|| {
            fail(format!(
                "z must be [batch, 4 units] and c [batch, units]: z {}, c {}",
                z.shape(),
                c.shape()
            ))
        })?;
    let batch = merge(zd[0], cd[0]).ok_or_else(|| {
        fail(format!(
            "batch sizes differ: z {}, c {}",
            z.shape(),
            c.shape()
        ))
    })?;
    for w in peepholes {
        if merge(dims(w, 1)?[0], units).is_none() {
            return Err(fail(format!(
                "a peephole weight must be [units], got {}",
                w.shape()
            )));
        }
    }
    let spec = TensorSpec::new(DType::F32, Shape::new(vec![batch, units]));
    let node = add(
        g,
        op,
        LstmGates { forget_bias },
        &inputs,
        vec![
            spec.clone(),
            spec,
            TensorSpec::new(DType::F32, Shape::new(vec![batch, units.map(|n| 5 * n)])),
        ],
    )?;
    Ok((node.output(0)?, node.output(1)?))
}

/// Two dimensions that must agree: the known one, or `None` (outer) when both are known and
/// differ.
fn merge(a: Dim, b: Dim) -> Option<Dim> {
    match (a, b) {
        (Some(x), Some(y)) if x != y => None,
        _ => Some(a.or(b)),
    }
}

/// The separate ops an `LSTMGates` node stands for, as `BasicLSTMCell` and `LSTMCell` built
/// them: the reference its gradient's gradient differentiates.
fn reference(z: &Tensor, c: &Tensor, forget_bias: f32, w: &[Tensor]) -> Result<[Tensor; 2]> {
    use crate::{add, sigmoid, tanh};
    let gates = split(z, 4, 1)?;
    let (i, j, f, o) = (&gates[0], &gates[1], &gates[2], &gates[3]);
    let fb = constant(z.graph(), forget_bias, "forget_bias");
    let (f, i) = match w {
        [wf, wi, _] => (add(f, &mul(wf, c)?)?, add(i, &mul(wi, c)?)?),
        _ => (f.clone(), i.clone()),
    };
    let new_c = add(
        &mul(c, &sigmoid(&add(&f, &fb)?)?)?,
        &mul(&sigmoid(&i)?, &tanh(j)?)?,
    )?;
    let o = match w {
        [_, _, wo] => add(o, &mul(wo, &new_c)?)?,
        _ => o.clone(),
    };
    let new_h = mul(&tanh(&new_c)?, &sigmoid(&o)?)?;
    Ok([new_c, new_h])
}

/// The run-time operands: `(batch, units, z, c, peepholes)`, or the error naming the shapes.
/// Inputs `2..n_state` are `[batch, units]`; the grad op's activations (`[batch, 5 units]`)
/// follow them when `acts`, then the peephole weights, if any.
type Operands<'a> = (usize, usize, &'a [f32], &'a [f32], Option<[&'a [f32]; 3]>);
fn operands<'a>(ctx: &'a KernelContext<'_>, n_state: usize, acts: bool) -> Result<Operands<'a>> {
    let (z, c) = (ctx.input(0), ctx.input(1));
    let first_peep = n_state + usize::from(acts);
    let bad = || {
        let shapes: Vec<String> = ctx.inputs.iter().map(|v| fmt_dims(v.shape())).collect();
        Error::Kernel(format!(
            "z must be [batch, 4 units], c and the gradients [batch, units], the activations \
             [batch, 5 units], peepholes [units]; got {}",
            shapes.join(", ")
        ))
    };
    let &[b, h] = c.shape() else {
        return Err(bad());
    };
    if z.shape() != [b, 4 * h]
        || ctx.inputs[2..n_state].iter().any(|v| v.shape() != [b, h])
        || (acts && ctx.input(n_state).shape() != [b, 5 * h])
        || !matches!(ctx.inputs.len() - first_peep, 0 | 3)
        || ctx.inputs[first_peep..].iter().any(|v| v.shape() != [h])
    {
        return Err(bad());
    }
    let w = if ctx.inputs.len() > first_peep {
        let s = |k: usize| ctx.inputs[first_peep + k].as_slice::<f32>();
        Some([s(0)?, s(1)?, s(2)?])
    } else {
        None
    };
    Ok((b, h, z.as_slice()?, c.as_slice()?, w))
}

/// Rows per parallel task for rows of `width` floats (one task for small tensors).
fn rows_per_task(rows: usize, width: usize) -> usize {
    (PAR_CHUNK / width.max(1)).clamp(1, rows.max(1))
}

/// The four gate pre-activations of a row of `z`, each cut to `h` units.
fn gate_rows(z: &[f32], h: usize) -> [&[f32]; 4] {
    [&z[..h], &z[h..2 * h], &z[2 * h..3 * h], &z[3 * h..4 * h]]
}

/// The peephole weights cut to `h` units (empty slices without peepholes: `P` is false and
/// nothing reads them).
fn peep_rows<const P: bool>(w: Option<[&[f32]; 3]>, h: usize) -> [&[f32]; 3] {
    match w {
        Some([a, b, c]) if P => [&a[..h], &b[..h], &c[..h]],
        _ => [&[]; 3],
    }
}

/// Unit `k`'s activated gates `(i, j, f, o)` and new cell state, from its pre-activations,
/// previous cell state `c` and (with `P`) peephole weights, in the separate ops' order of
/// operations. Inlined into loops over units that compile to vector instructions.
#[inline(always)]
fn gates<const P: bool>(
    [zi, zj, zf, zo]: [f32; 4],
    c: f32,
    fb: f32,
    [wf, wi, wo]: [f32; 3],
) -> ([f32; 4], f32) {
    let (zf, zi) = if P {
        (zf + wf * c, zi + wi * c)
    } else {
        (zf, zi)
    };
    let (i, j, f) = (sigmoid(zi), tanh(zj), sigmoid(zf + fb));
    let cs = c * f + i * j;
    let zo = if P { zo + wo * cs } else { zo };
    ([i, j, f, sigmoid(zo)], cs)
}

/// One row of the forward pass: `c2`, `h2` and the activations `act` (`i, j, f, o` and
/// `tanh(c2)`) from `z` (4 gates of `c.len()` units) and `c`.
fn forward_row<const P: bool>(
    (z, c): (&[f32], &[f32]),
    w: Option<[&[f32]; 3]>,
    fb: f32,
    c2: &mut [f32],
    h2: &mut [f32],
    act: &mut [f32],
) {
    let h = c.len();
    let [zi, zj, zf, zo] = gate_rows(z, h);
    let [wf, wi, wo] = peep_rows::<P>(w, h);
    let (c2, h2) = (&mut c2[..h], &mut h2[..h]);
    let (ai, rest) = act[..5 * h].split_at_mut(h);
    let (aj, rest) = rest.split_at_mut(h);
    let (af, rest) = rest.split_at_mut(h);
    let (ao, aco) = rest.split_at_mut(h);
    for k in 0..h {
        let wk = if P { [wf[k], wi[k], wo[k]] } else { [0.0; 3] };
        let ([i, j, f, o], cs) = gates::<P>([zi[k], zj[k], zf[k], zo[k]], c[k], fb, wk);
        let co = tanh(cs);
        c2[k] = cs;
        h2[k] = co * o;
        (ai[k], aj[k], af[k], ao[k], aco[k]) = (i, j, f, o, co);
    }
}

/// One row of the backward pass: `dz` (4 gates) and `dc` from `dc2`, `dh2`, the forward
/// activations `act` and `c`; with `P`, adds the peephole weights' gradients to `dw`
/// (`[w_f, w_i, w_o]`, `h` units each).
fn backward_row<const P: bool>(
    (act, c): (&[f32], &[f32]),
    w: Option<[&[f32]; 3]>,
    (dc2, dh2): (&[f32], &[f32]),
    dz: &mut [f32],
    dc: &mut [f32],
    dw: &mut [f32],
) {
    let h = c.len();
    let [ai, aj, af, ao] = gate_rows(act, h);
    let aco = &act[4 * h..5 * h];
    let [wf, wi, wo] = peep_rows::<P>(w, h);
    let (dc2, dh2, dc) = (&dc2[..h], &dh2[..h], &mut dc[..h]);
    let (dzi, rest) = dz[..4 * h].split_at_mut(h);
    let (dzj, rest) = rest.split_at_mut(h);
    let (dzf, dzo) = rest.split_at_mut(h);
    let (dwf, rest) = dw.split_at_mut(if P { h } else { 0 });
    let (dwi, dwo) = rest.split_at_mut(if P { h } else { 0 });
    for k in 0..h {
        let wk = if P { [wf[k], wi[k], wo[k]] } else { [0.0; 3] };
        let cp = c[k];
        let (i, j, f, o, co) = (ai[k], aj[k], af[k], ao[k], aco[k]);
        let dh = dh2[k];
        let d_o = dh * co * (o * (1.0 - o));
        let mut dcs = dc2[k] + dh * o * (1.0 - co * co);
        if P {
            dcs += d_o * wk[2];
        }
        let di = dcs * j * (i * (1.0 - i));
        let df = dcs * cp * (f * (1.0 - f));
        dzi[k] = di;
        dzj[k] = dcs * i * (1.0 - j * j);
        dzf[k] = df;
        dzo[k] = d_o;
        dc[k] = dcs * f;
        if P {
            dc[k] += di * wk[1] + df * wk[0];
            dwf[k] += df * cp;
            dwi[k] += di * cp;
            dwo[k] += d_o * (cp * f + i * j);
        }
    }
}

impl Op for LstmGates {
    fn op_type(&self) -> &'static str {
        "LSTMGates"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let (b, h, z, c, w) = operands(ctx, 2, false)?;
        ctx.check_output(DType::F32, &[b, h])?;
        ctx.check_output(DType::F32, &[b, 5 * h])?;
        let (mut c2, mut h2) = (ctx.output_f32(b * h), ctx.output_f32(b * h));
        let mut act = ctx.output_f32(b * 5 * h);
        let rows = rows_per_task(b, 4 * h);
        let fb = self.forget_bias;
        if h > 0 {
            c2.par_chunks_mut(rows * h)
                .zip(h2.par_chunks_mut(rows * h))
                .zip(act.par_chunks_mut(rows * 5 * h))
                .zip(z.par_chunks(rows * 4 * h).zip(c.par_chunks(rows * h)))
                .for_each(|(((c2, h2), act), (z, c))| {
                    let rows = z
                        .chunks_exact(4 * h)
                        .zip(c.chunks_exact(h))
                        .zip(c2.chunks_exact_mut(h).zip(h2.chunks_exact_mut(h)))
                        .zip(act.chunks_exact_mut(5 * h));
                    for ((zc, (c2, h2)), act) in rows {
                        match w {
                            Some(_) => forward_row::<true>(zc, w, fb, c2, h2, act),
                            None => forward_row::<false>(zc, w, fb, c2, h2, act),
                        }
                    }
                });
        }
        Ok(vec![
            Value::new(&[b, h], c2)?,
            Value::new(&[b, h], h2)?,
            Value::new(&[b, 5 * h], act)?,
        ])
    }
    /// One `LSTMGatesGrad` node: `dz` and `dc` (and the peepholes' gradients) from `dc'` and
    /// `dh'`.
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let mut inputs: Vec<&Tensor> = vec![gc.x(0), gc.x(1), gc.dy(0), gc.dy(1), gc.y(2)];
        inputs.extend(&gc.inputs[2..]);
        let specs = gc.inputs.iter().map(Tensor::spec).collect();
        let node = add(
            gc.graph,
            "LSTMGatesGrad",
            LstmGatesGrad {
                forget_bias: self.forget_bias,
            },
            &inputs,
            specs,
        )?;
        node.outputs().into_iter().map(|t| Ok(Some(t))).collect()
    }
    fn attrs(&self) -> String {
        format!("forget_bias={}", self.forget_bias)
    }
}

impl Op for LstmGatesGrad {
    fn op_type(&self) -> &'static str {
        "LSTMGatesGrad"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let (b, h, _, c, w) = operands(ctx, 4, true)?;
        let (dc2, dh2) = (
            ctx.input(2).as_slice::<f32>()?,
            ctx.input(3).as_slice::<f32>()?,
        );
        let act = ctx.input(4).as_slice::<f32>()?;
        ctx.check_output(DType::F32, &[b, 4 * h])?;
        ctx.check_output(DType::F32, &[b, h])?;
        let (mut dz, mut dc) = (ctx.output_f32(b * 4 * h), ctx.output_f32(b * h));
        let rows = rows_per_task(b, 4 * h);
        let n_dw = if w.is_some() { 3 * h } else { 0 };
        // Per task, its rows' share of the peephole weights' gradients.
        let partials: Vec<Vec<f32>> = if h == 0 {
            vec![]
        } else {
            dz.par_chunks_mut(rows * 4 * h)
                .zip(dc.par_chunks_mut(rows * h))
                .zip(act.par_chunks(rows * 5 * h).zip(c.par_chunks(rows * h)))
                .zip(dc2.par_chunks(rows * h).zip(dh2.par_chunks(rows * h)))
                .map(|(((dz, dc), (act, c)), (dc2, dh2))| {
                    let mut dw = vec![0f32; n_dw];
                    let rows = act
                        .chunks_exact(5 * h)
                        .zip(c.chunks_exact(h))
                        .zip(dc2.chunks_exact(h).zip(dh2.chunks_exact(h)))
                        .zip(dz.chunks_exact_mut(4 * h).zip(dc.chunks_exact_mut(h)));
                    for ((ac, up), (dz, dc)) in rows {
                        match w {
                            Some(_) => backward_row::<true>(ac, w, up, dz, dc, &mut dw),
                            None => backward_row::<false>(ac, w, up, dz, dc, &mut dw),
                        }
                    }
                    dw
                })
                .collect()
        };
        let mut out = vec![Value::new(&[b, 4 * h], dz)?, Value::new(&[b, h], dc)?];
        if w.is_some() {
            let mut dw = vec![0f32; n_dw];
            for p in &partials {
                dw.iter_mut().zip(p).for_each(|(a, x)| *a += x);
            }
            for k in 0..3 {
                out.push(Value::new(&[h], dw[k * h..(k + 1) * h].to_vec())?);
            }
        }
        Ok(out)
    }
    /// Differentiates the separate ops' gradient (the reference's, built here) with respect
    /// to this node's inputs: a second derivative of the LSTM step.
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let (z, c, dc2, dh2) = (gc.x(0), gc.x(1), gc.x(2), gc.x(3));
        let w = &gc.inputs[5..];
        let [c2, h2] = reference(z, c, self.forget_bias, w)?;
        let wrt: Vec<&Tensor> = [z, c].into_iter().chain(w).collect();
        let first = gradients(&[&c2, &h2], &wrt, Some(&[dc2, dh2]))?;
        let first: Vec<Tensor> = first
            .into_iter()
            .zip(&wrt)
            .map(|(d, x)| d.map_or_else(|| zeros_like(x), Ok))
            .collect::<Result<_>>()?;
        let all: Vec<&Tensor> = gc.inputs.iter().collect();
        gradients(
            &first.iter().collect::<Vec<_>>(),
            &all,
            Some(&gc.grads.iter().collect::<Vec<_>>()),
        )
    }
    fn attrs(&self) -> String {
        format!("forget_bias={}", self.forget_bias)
    }
}
