//! The plan's fusion pass (`rustflow_ops::fusion`): which chains run as one step, and that
//! each fused step gives exactly the separate ops' bits. The separate ops run when the
//! intermediate values are fetched too, which makes them ineligible for fusion.

use rustflow::prelude::*;
use rustflow::{nn, RunMetadata, RunOptions};
use rustflow_graph::{Capability, Elementwise, GradContext, KernelContext, Op};
use std::sync::Arc;

fn f32s(v: &Value) -> Vec<f32> {
    v.as_slice::<f32>().unwrap().to_vec()
}

fn data(len: usize, seed: usize) -> Vec<f32> {
    (0..len)
        .map(|i| ((i * 7919 + seed * 104729) % 1013) as f32 / 1013.0 - 0.5)
        .collect()
}

fn traced() -> RunOptions {
    RunOptions {
        trace: true,
        ..RunOptions::default()
    }
}

/// The op type of each step that ran, sorted.
fn ops(meta: &RunMetadata) -> Vec<&'static str> {
    let mut v: Vec<_> = meta
        .by_op_type()
        .into_iter()
        .flat_map(|(op, _, n)| std::iter::repeat_n(op, n))
        .collect();
    v.sort();
    v
}

fn same_bits(a: &[f32], b: &[f32], case: &str) {
    assert_eq!(a.len(), b.len(), "{case}");
    for (u, v) in a.iter().zip(b) {
        assert!(u.to_bits() == v.to_bits(), "{case}: {u} vs {v}");
    }
}

/// A test-only activation that declares the element-wise capability, as any activation
/// does: `x / (1 + |x|)` (monotone) or `x²` (not: pooling may not go first).
#[derive(Debug)]
struct Custom {
    monotone: bool,
}

fn softsign(xs: &mut [f32]) {
    xs.iter_mut().for_each(|x| *x /= 1.0 + x.abs());
}

fn square(xs: &mut [f32]) {
    xs.iter_mut().for_each(|x| *x *= *x);
}

impl Op for Custom {
    fn op_type(&self) -> &'static str {
        if self.monotone {
            "Softsign"
        } else {
            "Square"
        }
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> rustflow::Result<Vec<Value>> {
        let x = ctx.input(0);
        let mut v = f32s(x);
        if self.monotone {
            softsign(&mut v)
        } else {
            square(&mut v)
        }
        Ok(vec![Value::new(x.shape(), v)?])
    }
    fn gradient(&self, _: &GradContext<'_>) -> rustflow::Result<Vec<Option<Tensor>>> {
        unreachable!("not differentiated here")
    }
    fn capability(&self) -> Capability {
        Capability::Elementwise(Elementwise {
            apply: if self.monotone { softsign } else { square },
            monotone: self.monotone,
        })
    }
}

/// The activations of the cases: TensorFlow's, and two declared by a test op.
#[derive(Clone, Copy, Debug)]
enum Act {
    None,
    Relu,
    Custom(bool),
}

impl Act {
    fn apply(self, x: &Tensor) -> Result<Tensor> {
        match self {
            Act::None => Ok(x.clone()),
            Act::Relu => x.relu(),
            Act::Custom(monotone) => Ok(x
                .graph()
                .add_node(
                    "act",
                    Arc::new(Custom { monotone }),
                    &[x],
                    &[],
                    vec![x.spec()],
                )?
                .output(0)?),
        }
    }
}

/// How the bias is added: `Add(x, b)`, `Add(b, x)` or `BiasAdd(x, b)`.
#[derive(Clone, Copy, Debug)]
enum Sum {
    None,
    Add,
    AddFirst,
    BiasAdd,
}

impl Sum {
    fn apply(self, x: &Tensor, b: &Tensor) -> Result<Tensor> {
        match self {
            Sum::None => Ok(x.clone()),
            Sum::Add => x.add(b),
            Sum::AddFirst => b.add(x),
            Sum::BiasAdd => nn::bias_add(x, b),
        }
    }
}

/// `pool(act(conv2d(x, f) + b))` with nothing else reading the convolution or the
/// activation runs as one `FusedConv2D`, bit for bit the separate ops: every convolution
/// kernel (direct sums for one channel, im2col + GEMM, Winograd when the session allows
/// it), several image groups, each way of adding the bias, each kind of activation, max and
/// average pools with overlapping windows, and no pool.
#[test]
fn fused_conv2d_equals_the_separate_ops() -> Result<()> {
    // (input [n, h, w, c], filter [kh, kw, c, co], pool window and stride, winograd)
    type Case = ([usize; 4], [usize; 4], usize, usize, bool);
    let cases: [Case; 8] = [
        ([3, 12, 10, 1], [5, 5, 1, 20], 2, 2, true),
        ([5, 12, 10, 1], [5, 5, 1, 20], 2, 2, false),
        ([3, 9, 7, 3], [3, 3, 3, 5], 3, 2, false),
        ([130, 4, 4, 2], [1, 1, 2, 3], 2, 2, false),
        ([3, 10, 9, 8], [5, 5, 8, 16], 2, 2, true),
        ([4, 6, 6, 9], [5, 5, 9, 8], 3, 1, true),
        ([3, 10, 8, 8], [5, 5, 8, 16], 2, 2, true),
        ([130, 6, 10, 8], [5, 5, 8, 8], 2, 2, true),
    ];
    let variants = [
        (Sum::Add, Act::Relu, Some(true)),
        (Sum::AddFirst, Act::Relu, Some(false)),
        (Sum::BiasAdd, Act::Custom(true), Some(true)),
        (Sum::Add, Act::Custom(false), Some(true)),
        (Sum::BiasAdd, Act::Relu, None),
        (Sum::None, Act::None, Some(true)),
        (Sum::None, Act::Custom(false), None),
    ];
    for (i, (xd, fd, k, s, winograd)) in cases.into_iter().enumerate() {
        let co = fd[3];
        // Every variant on a few cases, the first on all.
        let n_variants = if i % 3 == 0 { variants.len() } else { 1 };
        for &(bias, act, pool) in &variants[..n_variants] {
            let g = Graph::new();
            let x = g.placeholder(F32, Shape::known(&xd));
            let f = g.placeholder(F32, Shape::known(&fd));
            let b = g.placeholder(F32, shape![co]);
            let conv = nn::conv2d(&x, &f, [1; 4], nn::Padding::Same)?;
            let biased = bias.apply(&conv, &b)?;
            let activ = act.apply(&biased)?;
            let (ks, ss) = ([1, k, k, 1], [1, s, s, 1]);
            let out = match pool {
                Some(true) => nn::max_pool(&activ, ks, ss, nn::Padding::Same)?,
                Some(false) => nn::avg_pool(&activ, ks, ss, nn::Padding::Same)?,
                None => activ.clone(),
            };
            let sess = Session::with_options(
                &g,
                SessionOptions {
                    kernels: if winograd {
                        KernelPolicy::Fast
                    } else {
                        KernelPolicy::Exact
                    },
                    ..Default::default()
                },
            );
            let feeds = feed! {
                &x => Value::new(&xd, data(xd.iter().product(), 1))?,
                &f => Value::new(&fd, data(fd.iter().product(), 2))?,
                &b => Value::new(&[co], data(co, 3).iter().map(|v| v * 0.1).collect())?,
            };
            let case = format!("{xd:?} {fd:?} {bias:?} {act:?} pool {pool:?} {k}/{s}");
            let (fused, meta) = sess.run_with(&fetches![&out], &feeds, &traced())?;
            assert_eq!(ops(&meta), ["FusedConv2D"], "{case}");
            let (apart, meta) =
                sess.run_with(&fetches![&out, &activ, &biased, &conv], &feeds, &traced())?;
            assert!(ops(&meta).contains(&"Conv2D"), "{case}");
            let (a, b) = (f32s(fused.value(0)?), f32s(apart.value(0)?));
            assert!(a.iter().any(|&v| v != 0.0), "{case}: all zero");
            same_bits(&a, &b, &case);
        }
    }
    Ok(())
}

/// `act(x · W + b)` (a fully-connected layer) runs as one `FusedMatMul`, bit for bit the
/// separate ops, on the shapes of each product kernel (a short side, a tall product, a
/// transposed operand).
#[test]
fn fused_matmul_equals_the_separate_ops() -> Result<()> {
    let cases = [
        (50usize, 300usize, 64usize, false),
        (7, 5, 3, false),
        (300, 600, 200, false),
        (40, 30, 20, true),
    ];
    for (m, k, n, transpose_b) in cases {
        for (bias, act) in [
            (Sum::Add, Act::Relu),
            (Sum::BiasAdd, Act::Custom(false)),
            (Sum::AddFirst, Act::None),
            (Sum::None, Act::Relu),
        ] {
            let g = Graph::new();
            let x = g.placeholder(F32, shape![?, k]);
            let wd = if transpose_b { [n, k] } else { [k, n] };
            let w = g.placeholder(F32, Shape::known(&wd));
            let b = g.placeholder(F32, shape![n]);
            let prod = rustflow::matmul_t(&x, &w, false, transpose_b)?;
            let biased = bias.apply(&prod, &b)?;
            let out = act.apply(&biased)?;
            let sess = Session::new(&g);
            let feeds = feed! {
                &x => Value::new(&[m, k], data(m * k, 4))?,
                &w => Value::new(&wd, data(k * n, 5))?,
                &b => Value::new(&[n], data(n, 6))?,
            };
            let case = format!("{m}x{k}x{n} {bias:?} {act:?}");
            let (fused, meta) = sess.run_with(&fetches![&out], &feeds, &traced())?;
            assert_eq!(ops(&meta), ["FusedMatMul"], "{case}");
            let (apart, _) = sess.run_with(&fetches![&out, &biased, &prod], &feeds, &traced())?;
            same_bits(&f32s(fused.value(0)?), &f32s(apart.value(0)?), &case);
        }
    }
    Ok(())
}

/// The element-wise table's rows (`Sigmoid`, `Tanh`, `Elu`, ...) declare their capability,
/// so a layer ending in one of them fuses too, bit for bit.
#[test]
fn table_activations_fuse_into_the_layer() -> Result<()> {
    type Act = fn(&Tensor) -> rustflow::Result<Tensor>;
    let acts: [(&str, Act); 5] = [
        ("sigmoid", rustflow::sigmoid),
        ("tanh", rustflow::tanh),
        ("elu", nn::elu),
        ("softplus", rustflow::softplus),
        ("exp", rustflow::exp),
    ];
    for (name, act) in acts {
        let g = Graph::new();
        let x = g.placeholder(F32, shape![?, 30]);
        let w = g.placeholder(F32, shape![30, 20]);
        let b = g.placeholder(F32, shape![20]);
        let biased = rustflow::add(&rustflow::matmul(&x, &w)?, &b)?;
        let out = act(&biased)?;
        let sess = Session::new(&g);
        let feeds = feed! {
            &x => Value::new(&[9, 30], data(270, 1))?,
            &w => Value::new(&[30, 20], data(600, 2))?,
            &b => Value::new(&[20], data(20, 3))?,
        };
        let (fused, meta) = sess.run_with(&fetches![&out], &feeds, &traced())?;
        assert_eq!(ops(&meta), ["FusedMatMul"], "{name}");
        let (apart, _) = sess.run_with(&fetches![&out, &biased], &feeds, &traced())?;
        same_bits(&f32s(fused.value(0)?), &f32s(apart.value(0)?), name);
    }
    Ok(())
}

/// A binary op of the chain and its other operand; the chain's value is the op's first
/// input, or its second when `value_first` is false. `None` as the op: a `Relu`.
type Bin = fn(&Tensor, &Tensor) -> rustflow::Result<Tensor>;
type Link<'a> = (Option<Bin>, Option<&'a Tensor>, bool);

/// Applies the links to `v` in order; returns the result and every value before it.
fn chain(v: &Tensor, links: &[Link<'_>]) -> Result<(Tensor, Vec<Tensor>)> {
    let mut seen = vec![v.clone()];
    let mut v = v.clone();
    for &(op, other, value_first) in links {
        let next = match (op, other) {
            (Some(op), Some(o)) if value_first => op(&v, o)?,
            (Some(op), Some(o)) => op(o, &v)?,
            _ => v.relu()?,
        };
        seen.push(v);
        v = next;
    }
    Ok((v, seen))
}

/// The binary table's rows (`Mul`, `Sub`, `Maximum`, `SquaredDifference`, ...) fuse into a
/// layer in any number and order, with a scalar, a vector per channel or a tensor of the
/// value's shape as the other operand, on either side: `x · W * s + b`, `relu(x · W + b) *
/// mask`, a clamp `maximum(s, x · W)`, a convolution's mask before an average pool (the
/// operand's part found per image group), non-monotone steps before a max pool (no pooling
/// first). Bit for bit the separate ops.
#[test]
fn binary_rows_fuse_with_broadcast_operands() -> Result<()> {
    use rustflow::{div, maximum, minimum, mul, squared_difference, sub};
    let add: Bin = rustflow::add;
    // matmul: [m, k] x [k, n]
    let (m, k, n) = (300usize, 40usize, 24usize);
    let g = Graph::new();
    let x = g.placeholder(F32, shape![?, k]);
    let w = g.placeholder(F32, Shape::known(&[k, n]));
    let s = g.placeholder(F32, shape![]);
    let v = g.placeholder(F32, shape![n]);
    let mask = g.placeholder(F32, shape![?, n]);
    let prod = x.matmul(&w)?;
    let feeds = feed! {
        &x => Value::new(&[m, k], data(m * k, 1))?,
        &w => Value::new(&[k, n], data(k * n, 2))?,
        &s => Value::new(&[], vec![0.2f32])?,
        &v => Value::new(&[n], data(n, 3))?,
        &mask => Value::new(&[m, n], data(m * n, 4))?,
    };
    let matmul_chains: Vec<(&str, Vec<Link>)> = vec![
        (
            "x·W * s + b",
            vec![(Some(mul), Some(&s), true), (Some(add), Some(&v), true)],
        ),
        (
            "relu(x·W + b) * mask",
            vec![
                (Some(add), Some(&v), false),
                (None, None, true),
                (Some(mul), Some(&mask), true),
            ],
        ),
        (
            "maximum(s, x·W) - b",
            vec![
                (Some(maximum), Some(&s), false),
                (Some(sub), Some(&v), true),
            ],
        ),
        (
            "b - x·W, / mask",
            vec![(Some(sub), Some(&v), false), (Some(div), Some(&mask), true)],
        ),
        (
            "(mask - x·W)², min",
            vec![
                (Some(squared_difference), Some(&mask), false),
                (Some(minimum), Some(&v), true),
            ],
        ),
    ];
    for (name, links) in &matmul_chains {
        let (out, seen) = chain(&prod, links)?;
        let sess = Session::new(&g);
        let (fused, meta) = sess.run_with(&fetches![&out], &feeds, &traced())?;
        assert_eq!(ops(&meta), ["FusedMatMul"], "{name}");
        let mut apart: Vec<Fetch> = vec![Fetch::from(&out)];
        apart.extend(seen.iter().map(Fetch::from));
        let (apart, meta) = sess.run_with(&apart, &feeds, &traced())?;
        assert!(!ops(&meta).contains(&"FusedMatMul"), "{name}");
        same_bits(&f32s(fused.value(0)?), &f32s(apart.value(0)?), name);
    }
    // conv2d: several image groups (130 images), and one channel in (direct sums).
    for (xd, fd) in [
        ([130, 6, 10, 8], [5, 5, 8, 8]),
        ([5, 12, 10, 1], [5, 5, 1, 20]),
    ] {
        let co = fd[3];
        let g = Graph::new();
        let x = g.placeholder(F32, Shape::known(&xd));
        let f = g.placeholder(F32, Shape::known(&fd));
        let s = g.placeholder(F32, shape![]);
        let v = g.placeholder(F32, shape![co]);
        let md = [xd[0], xd[1], xd[2], co];
        let mask = g.placeholder(F32, Shape::known(&md));
        let conv = nn::conv2d(&x, &f, [1; 4], nn::Padding::Same)?;
        let feeds = feed! {
            &x => Value::new(&xd, data(xd.iter().product(), 1))?,
            &f => Value::new(&fd, data(fd.iter().product(), 2))?,
            &s => Value::new(&[], vec![0.2f32])?,
            &v => Value::new(&[co], data(co, 3))?,
            &mask => Value::new(&md, data(md.iter().product(), 4))?,
        };
        let (ks, ss) = ([1, 2, 2, 1], [1, 2, 2, 1]);
        type Pool =
            Option<fn(&Tensor, [usize; 4], [usize; 4], nn::Padding) -> rustflow::Result<Tensor>>;
        let conv_chains: Vec<(&str, Vec<Link>, Pool)> = vec![
            (
                "max_pool(maximum(conv + b, s))",
                vec![(Some(add), Some(&v), true), (Some(maximum), Some(&s), true)],
                Some(nn::max_pool),
            ),
            (
                "max_pool(conv * b - s)",
                vec![(Some(mul), Some(&v), true), (Some(sub), Some(&s), true)],
                Some(nn::max_pool),
            ),
            (
                "avg_pool(conv * mask)",
                vec![(Some(mul), Some(&mask), true)],
                Some(nn::avg_pool),
            ),
            (
                "max_pool(conv + mask)",
                vec![(Some(add), Some(&mask), false)],
                Some(nn::max_pool),
            ),
            (
                "mask - relu(conv)",
                vec![(None, None, true), (Some(sub), Some(&mask), false)],
                None,
            ),
        ];
        for (name, links, pool) in &conv_chains {
            let (mut out, mut seen) = chain(&conv, links)?;
            if let Some(pool) = pool {
                seen.push(out.clone());
                out = pool(&out, ks, ss, nn::Padding::Same)?;
            }
            let case = format!("{xd:?} {name}");
            let sess = Session::new(&g);
            let (fused, meta) = sess.run_with(&fetches![&out], &feeds, &traced())?;
            assert_eq!(ops(&meta), ["FusedConv2D"], "{case}");
            let mut apart: Vec<Fetch> = vec![Fetch::from(&out)];
            apart.extend(seen.iter().map(Fetch::from));
            let (apart, _) = sess.run_with(&apart, &feeds, &traced())?;
            same_bits(&f32s(fused.value(0)?), &f32s(apart.value(0)?), &case);
        }
    }
    Ok(())
}

/// An operand that would broadcast the value (a `[5, 1]` column on a `[?, 4]` product) keeps
/// the separate ops, and so does a leaky ReLU `maximum(x · W, 0.2 * x · W)`: the product has
/// two readers.
#[test]
fn binary_rows_that_broadcast_the_value_stay_apart() -> Result<()> {
    let g = Graph::new();
    let x = g.placeholder(F32, shape![?, 3]);
    let w = g.placeholder(F32, shape![3, 4]);
    let col = g.placeholder(F32, shape![5, 1]);
    let prod = x.matmul(&w)?;
    let feeds = feed! {
        &x => Value::new(&[1, 3], data(3, 1))?,
        &w => Value::new(&[3, 4], data(12, 2))?,
        &col => Value::new(&[5, 1], data(5, 3))?,
    };
    let sess = Session::new(&g);
    for (name, out) in [
        ("x·W * col", rustflow::mul(&prod, &col)?),
        (
            "maximum(x·W, 0.2 * x·W)",
            rustflow::maximum(&prod, &rustflow::mul(&g.constant(0.2f32), &prod)?)?,
        ),
    ] {
        let (_, meta) = sess.run_with(&fetches![&out], &feeds, &traced())?;
        assert!(ops(&meta).contains(&"MatMul"), "{name}: {:?}", ops(&meta));
    }
    Ok(())
}

/// In a training plan a binary step fuses where nothing else reads the value: `relu(x · W *
/// s + b) * mask` runs `x · W * s + b` and the ReLU as one step (the ReLU's output, read by its
/// gradient and the mask's `Mul`, is the step's), the gradient `dlogits · W2ᵀ * mask` another,
/// and every variable ends bit for bit as with the separate ops.
#[test]
fn binary_rows_fuse_in_training() -> Result<()> {
    let run = |apart: bool| -> Result<(Vec<Vec<f32>>, Vec<&'static str>)> {
        let g = Graph::new();
        let x = g.placeholder(F32, shape![?, 6]);
        let y_ = g.placeholder(F32, shape![?, 4]);
        let mask = g.placeholder(F32, shape![?, 8]);
        let var = |shape: &[usize], seed: usize, name: &str| {
            let len = shape.iter().product();
            g.variable(
                &g.constant(Value::new(shape, data(len, seed)).unwrap()),
                name,
            )
        };
        let (w1, b1, w2) = (
            var(&[6, 8], 1, "w1")?,
            var(&[8], 2, "b1")?,
            var(&[8, 4], 3, "w2")?,
        );
        let prod = x.matmul(&w1)?;
        let scaled = rustflow::mul(&prod, &g.constant(0.5f32))?;
        let sum = scaled.add(&b1)?;
        let h = rustflow::mul(&sum.relu()?, &mask)?;
        let logits = h.matmul(&w2)?;
        let loss = nn::softmax_cross_entropy_with_logits(&y_, &logits)?.reduce_mean(None)?;
        let opt = train::GradientDescentOptimizer::new(0.1);
        let gv = opt.compute_gradients(&loss, None)?;
        let step = opt.apply_gradients(&gv, None)?;
        // The gradients are fetched in both runs (no update fusion), the layer's values apart.
        let mut fetch: Vec<Fetch> = vec![Fetch::from(&step)];
        fetch.extend(gv.iter().filter_map(|(gr, _)| gr.as_ref()).map(Fetch::from));
        if apart {
            fetch.extend([&prod, &scaled, &sum].map(Fetch::from));
        }
        let sess = Session::new(&g);
        sess.run_op(&g.global_variables_initializer()?, &feed! {})?;
        let labels: Vec<f32> = (0..20).map(|i| f32::from(i % 4 == i / 4 % 4)).collect();
        let feeds = feed! {
            &x => Value::new(&[5, 6], data(30, 7))?,
            &y_ => Value::new(&[5, 4], labels)?,
            &mask => Value::new(&[5, 8], (0..40).map(|i| f32::from(i % 3 != 0) * 1.5).collect())?,
        };
        let mut seen = vec![];
        for _ in 0..3 {
            let (_, meta) = sess.run_with(&fetch, &feeds, &traced())?;
            seen = ops(&meta);
        }
        let vals = [&w1, &b1, &w2]
            .iter()
            .map(|v| sess.eval(v, &feed! {}).map(|v| f32s(&v)))
            .collect::<Result<_>>()?;
        Ok((vals, seen))
    };
    let (fused, ops_fused) = run(false)?;
    let (apart, ops_apart) = run(true)?;
    // The gradient's `dlogits · W2ᵀ * mask` fuses in both runs; the layer only when its
    // values are not fetched.
    let count = |o: &[&str], op: &str| o.iter().filter(|&&o| o == op).count();
    assert_eq!(count(&ops_fused, "FusedMatMul"), 2, "{ops_fused:?}");
    assert_eq!(count(&ops_apart, "FusedMatMul"), 1, "{ops_apart:?}");
    for op in ["Add", "Relu"] {
        assert_eq!(
            (count(&ops_fused, op), count(&ops_apart, op)),
            (0, 1),
            "{op}"
        );
    }
    assert_eq!(count(&ops_fused, "Mul") + 1, count(&ops_apart, "Mul"));
    for (a, b) in fused.iter().zip(&apart) {
        same_bits(a, b, "training");
    }
    Ok(())
}

/// The one legality rule: a value stays inside a fused step only when exactly one node
/// reads it and nothing fetches it, feeds it or waits for its node. A bias that is not one
/// value per channel is no bias stage.
#[test]
fn fusion_keeps_every_value_someone_else_needs() -> Result<()> {
    let g = Graph::new();
    let x = g.placeholder(F32, shape![?, 3]);
    let w = g.placeholder(F32, shape![3, 3]);
    let b = g.placeholder(F32, shape![3]);
    let b2 = g.placeholder(F32, shape![1, 3]);
    let prod = x.matmul(&w)?;
    let sum = prod.add(&b)?;
    let h = sum.relu()?;
    let other = sum.neg()?;
    let h2 = prod.add(&b2)?.relu()?;
    let sess = Session::new(&g);
    let feeds = feed! {
        &x => ndarray::array![[1.0f32, -3.0, 5.0], [0.25, -0.5, 2.0]],
        &w => ndarray::array![[1.0f32, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
        &b => ndarray::array![0.5f32, 1.0, -1.0],
        &b2 => ndarray::array![[0.5f32, 1.0, -1.0]],
    };
    let same = |got: Vec<f32>| assert_eq!(got, [1.5, 0.0, 4.0, 0.75, 0.5, 1.0]);
    let (out, meta) = sess.run_with(&fetches![&h], &feeds, &traced())?;
    same(f32s(out.value(0)?));
    assert_eq!(ops(&meta), ["FusedMatMul"]);
    // The sum fetched, or read by another node: the product and its bias fuse no further.
    for fetch in [fetches![&h, &sum], fetches![&h, &other]] {
        let (out, meta) = sess.run_with(&fetch, &feeds, &traced())?;
        same(f32s(out.value(0)?));
        assert!(ops(&meta).contains(&"Relu"), "{:?}", ops(&meta));
    }
    // The sum fed: the Relu reads the feed.
    let (out, meta) = sess.run_with(
        &fetches![&h],
        &feed! { &sum => ndarray::array![[-1.0f32, 2.0, 0.0]] },
        &traced(),
    )?;
    assert_eq!(f32s(out.value(0)?), vec![0.0, 2.0, 0.0]);
    assert_eq!(ops(&meta), ["Relu"]);
    // A [1, 3] bias broadcasts like a row but is no per-channel vector: separate ops.
    let (out, meta) = sess.run_with(&fetches![&h2], &feeds, &traced())?;
    same(f32s(out.value(0)?));
    assert_eq!(ops(&meta), ["Add", "MatMul", "Relu"]);
    // A node that waits for the product keeps it a step of its own.
    let waiting = g.control_dependencies(&[&prod.op()], |g| g.constant(1.0f32).neg())??;
    let (_, meta) = sess.run_with(&fetches![&h, &waiting], &feeds, &traced())?;
    assert!(ops(&meta).contains(&"MatMul"), "{:?}", ops(&meta));
    Ok(())
}

/// A training step fuses wherever legal: each layer's convolution or product with its bias
/// and activation (the activation, read by its gradient and the pool, is the fused step's
/// output), and every optimizer's update with its `MatMul` weight gradient. The layers give
/// the separate ops' bits (the weight gradients are fetched in both runs, so only the
/// layers differ), and the fused updates the stored gradient's values to rounding.
#[test]
fn training_steps_fuse_layers_and_weight_gradients() -> Result<()> {
    let make = |name: &str| -> Box<dyn train::Optimizer> {
        match name {
            "GradientDescent" => Box::new(train::GradientDescentOptimizer::new(0.05)),
            "Momentum" => Box::new(train::MomentumOptimizer::new(0.05, 0.9)),
            _ => Box::new(train::AdamOptimizer::new(0.01)),
        }
    };
    for name in ["GradientDescent", "Momentum", "Adam"] {
        // fetch_grads: fetch the weight gradients too (no update fusion);
        // apart: fetch the layers' intermediates too (no layer fusion).
        let run = |fetch_grads: bool, apart: bool| -> Result<(Vec<Vec<f32>>, Vec<&'static str>)> {
            let g = Graph::new();
            g.set_random_seed(3);
            let x = g.placeholder(F32, shape![?, 6, 6, 1]);
            let y_ = g.placeholder(F32, shape![?, 4]);
            let var = |shape: &[usize], seed: usize, name: &str| {
                let len = shape.iter().product();
                g.variable(
                    &g.constant(Value::new(shape, data(len, seed)).unwrap()),
                    name,
                )
            };
            let f1 = var(&[3, 3, 1, 4], 1, "f1")?;
            let b1 = var(&[4], 2, "b1")?;
            let w2 = var(&[36, 8], 3, "w2")?;
            let b2 = var(&[8], 4, "b2")?;
            let w3 = var(&[8, 4], 5, "w3")?;
            let conv = nn::conv2d(&x, &f1, [1; 4], nn::Padding::Same)?;
            let sum1 = conv.add(&b1)?;
            let h1 = sum1.relu()?;
            let p1 = nn::max_pool(&h1, [1, 2, 2, 1], [1, 2, 2, 1], nn::Padding::Same)?;
            let flat = p1.reshape(&[-1, 36])?;
            let prod2 = flat.matmul(&w2)?;
            let sum2 = nn::bias_add(&prod2, &b2)?;
            let h2 = sum2.relu()?;
            let logits = h2.matmul(&w3)?;
            let loss = nn::softmax_cross_entropy_with_logits(&y_, &logits)?.reduce_mean(None)?;
            let opt = make(name);
            let gv = opt.compute_gradients(&loss, None)?;
            let step = opt.apply_gradients(&gv, None)?;
            let mut fetch: Vec<Fetch> = vec![Fetch::from(&step)];
            if fetch_grads {
                fetch.extend(gv.iter().filter_map(|(gr, _)| gr.as_ref()).map(Fetch::from));
            }
            if apart {
                fetch.extend([&conv, &sum1, &prod2, &sum2].map(Fetch::from));
            }
            let sess = Session::new(&g);
            sess.run_op(&g.global_variables_initializer()?, &feed! {})?;
            let labels: Vec<f32> = (0..20).map(|i| f32::from(i % 4 == i / 4 % 4)).collect();
            let feeds = feed! {
                &x => Value::new(&[5, 6, 6, 1], data(180, 7))?,
                &y_ => Value::new(&[5, 4], labels)?,
            };
            let mut seen = vec![];
            for _ in 0..3 {
                let (_, meta) = sess.run_with(&fetch, &feeds, &traced())?;
                seen = ops(&meta);
            }
            let vals = [&f1, &b1, &w2, &b2, &w3]
                .iter()
                .map(|v| sess.eval(v, &feed! {}).map(|v| f32s(&v)))
                .collect::<Result<_>>()?;
            Ok((vals, seen))
        };
        let (fused, ops_fused) = run(false, false)?;
        let (layers, ops_layers) = run(true, false)?;
        let (apart, ops_apart) = run(true, true)?;
        assert_eq!(
            ops_fused.iter().filter(|&&o| o == "FusedConv2D").count(),
            1,
            "{name}: {ops_fused:?}"
        );
        assert!(ops_fused.contains(&"FusedMatMul"), "{name}: {ops_fused:?}");
        assert!(!ops_apart.contains(&"FusedConv2D") && !ops_apart.contains(&"FusedMatMul"));
        // Two weight matrices, each gradient computed by its update: two MatMuls fewer.
        let matmuls = |o: &[&str]| o.iter().filter(|&&o| o == "MatMul").count();
        assert_eq!(
            matmuls(&ops_layers),
            matmuls(&ops_fused) + 2,
            "{name}: {ops_fused:?}"
        );
        for (a, b) in layers.iter().zip(&apart) {
            same_bits(a, b, name);
        }
        for (a, b) in fused.iter().flatten().zip(layers.iter().flatten()) {
            assert!(
                (a - b).abs() <= 1e-6 * (1.0 + b.abs()),
                "{name}: {a} vs {b}"
            );
        }
    }
    Ok(())
}
