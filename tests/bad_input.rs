//! Bad input at every public entry point: each case returns an `Err` naming the node (or the
//! file), never panics, and leaves the session usable (a good fetch runs after each failure).

use rustflow::nn::{self, Padding};
use rustflow::prelude::*;
use rustflow::train::Saver;
use rustflow::RunOptions;
use std::path::PathBuf;

/// The error of `r`, which must have failed.
fn err<T: std::fmt::Debug>(r: Result<T>) -> Error {
    match r {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e,
    }
}

/// A session over a small graph, with a good fetch to prove it still works.
struct Probe {
    x: Tensor,
    y: Tensor,
}

impl Probe {
    fn new(g: &Graph) -> Result<Probe> {
        let x = g.placeholder_named(F32, shape![?, 3], "probe_x");
        let y = x.reduce_sum(None)?;
        Ok(Probe { x, y })
    }
    fn check(&self, sess: &Session) {
        let v = sess
            .eval(&self.y, &feed! { &self.x => [[1.0f32, 2.0, 3.0]] })
            .expect("the session must stay usable");
        assert_eq!(v.scalar_value::<f32>().unwrap(), 6.0);
    }
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("rustflow-bad-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn wrong_feed_shapes_and_dtypes() -> Result<()> {
    let g = Graph::new();
    let p = Probe::new(&g)?;
    let x = g.placeholder_named(F32, shape![?, 3], "x");
    let s = g.placeholder_named(F32, shape![], "s");
    let n = g.placeholder_named(I32, shape![2], "n");
    let u = g.placeholder_named(F32, Shape::unknown(), "u");
    let w = g.constant([[1.0f32, 2.0], [3.0, 4.0], [5.0, 6.0]]);
    let h = x.mul(&g.constant(2.0f32))?;
    let y = h.matmul(&w)?;
    let yu = u.matmul(&w)?;
    let sess = Session::new(&g);

    // A placeholder fed a row of the wrong width.
    let e = err(sess.eval(&y, &feed! { &x => [[1.0f32, 2.0, 3.0, 4.0]] }));
    insta::assert_snapshot!(e, @"Cannot feed value of shape (1, 4) for Tensor 'x:0', which has shape '[?,3]'");
    p.check(&sess);
    // A placeholder fed a value of the wrong rank.
    let e = err(sess.eval(&y, &feed! { &x => [1.0f32, 2.0, 3.0] }));
    insta::assert_snapshot!(e, @"Cannot feed value of shape (3,) for Tensor 'x:0', which has shape '[?,3]'");
    p.check(&sess);
    // A scalar placeholder fed a one-element vector.
    let e = err(sess.eval(&s, &feed! { &s => [1.0f32] }));
    insta::assert_snapshot!(e, @"Cannot feed value of shape (1,) for Tensor 's:0', which has shape '[]'");
    p.check(&sess);
    // A float placeholder fed int32.
    let e = err(sess.eval(&y, &feed! { &x => [[1i32, 2, 3]] }));
    insta::assert_snapshot!(e, @"Cannot feed value of dtype int32 for Tensor 'x:0', which has dtype float32");
    p.check(&sess);
    // An int32 placeholder fed float32, and fed bool.
    let e = err(sess.eval(&n, &feed! { &n => [1.5f32, 2.0] }));
    insta::assert_snapshot!(e, @"Cannot feed value of dtype float32 for Tensor 'n:0', which has dtype int32");
    let e = err(sess.eval(&n, &feed! { &n => [true, false] }));
    insta::assert_snapshot!(e, @"Cannot feed value of dtype bool for Tensor 'n:0', which has dtype int32");
    p.check(&sess);
    // A fed intermediate: wrong shape, then wrong dtype.
    let e = err(sess.eval(&y, &feed! { &h => [[1.0f32, 2.0]] }));
    insta::assert_snapshot!(e, @"Cannot feed value of shape (1, 2) for Tensor 'mul:0', which has shape '[?,3]'");
    let e = err(sess.eval(&y, &feed! { &h => [[1i64, 2, 3]] }));
    insta::assert_snapshot!(e, @"Cannot feed value of dtype int64 for Tensor 'mul:0', which has dtype float32");
    p.check(&sess);
    // An unknown-shape placeholder accepts anything at feed time; the matmul fails at run
    // time naming its node.
    let e = err(sess.eval(&yu, &feed! { &u => [[1.0f32, 2.0]] }));
    insta::assert_snapshot!(e, @r"
    Matrix size-incompatible: In[0]: [1,2], In[1]: [3,2]
    	 [[{{node MatMul_1}} = MatMul]]
    ");
    let e = err(sess.eval(&yu, &feed! { &u => [1.0f32, 2.0, 3.0] }));
    insta::assert_snapshot!(e, @r"
    In[0] and In[1] must be matrices: In[0]: [3], In[1]: [3,2]
    	 [[{{node MatMul_1}} = MatMul]]
    ");
    p.check(&sess);
    // A fed empty value of a shape that fits: fine.
    let v = sess.eval(&y, &feed! { &x => Value::new::<f32>(&[0, 3], vec![])? })?;
    assert_eq!(v.shape(), &[0, 2]);
    Ok(())
}

#[test]
fn an_empty_batch_through_the_tutorial_cnn() -> Result<()> {
    let g = Graph::new();
    let p = Probe::new(&g)?;
    let x = g.placeholder_named(F32, shape![?, 784], "x");
    let y_ = g.placeholder_named(F32, shape![?, 10], "y_");
    let keep_prob = g.placeholder_named(F32, shape![], "keep_prob");
    let weight = |shape: &[usize]| -> Result<Variable> {
        g.variable(
            &rustflow::truncated_normal(&g, shape, 0.0, 0.1, Some(1))?,
            "",
        )
    };
    let bias = |n: usize| -> Result<Variable> { g.variable(&g.constant(vec![0.1f32; n]), "") };
    let (w1, b1) = (weight(&[5, 5, 1, 8])?, bias(8)?);
    let (w2, b2) = (weight(&[5, 5, 8, 16])?, bias(16)?);
    let (wf, bf) = (weight(&[7 * 7 * 16, 32])?, bias(32)?);
    let (wo, bo) = (weight(&[32, 10])?, bias(10)?);
    let pool = |t: &Tensor| nn::max_pool(t, [1, 2, 2, 1], [1, 2, 2, 1], Padding::Same);
    let image = x.reshape(&[-1, 28, 28, 1])?;
    let h1 = pool(
        &nn::conv2d(&image, &w1, [1, 1, 1, 1], Padding::Same)?
            .add(&b1)?
            .relu()?,
    )?;
    let h2 = pool(
        &nn::conv2d(&h1, &w2, [1, 1, 1, 1], Padding::Same)?
            .add(&b2)?
            .relu()?,
    )?;
    let flat = h2.reshape(&[-1, 7 * 7 * 16])?;
    let fc = nn::dropout(&flat.matmul(&wf)?.add(&bf)?.relu()?, &keep_prob)?;
    let logits = fc.matmul(&wo)?.add(&bo)?;
    let loss = nn::softmax_cross_entropy_with_logits(&y_, &logits)?.reduce_mean(None)?;
    let correct = logits.argmax(1)?.equal(&y_.argmax(1)?)?;
    let accuracy = correct.cast(F32)?.reduce_mean(None)?;
    let train_step = train::AdamOptimizer::new(1e-4).minimize(&loss)?;
    let sess = Session::new(&g);
    sess.run_op(&g.global_variables_initializer()?, &feed! {})?;
    let w_before = sess.eval(&wf, &feed! {})?;

    let empty = feed! {
        &x => Value::new::<f32>(&[0, 784], vec![])?,
        &y_ => Value::new::<f32>(&[0, 10], vec![])?,
        &keep_prob => 0.5f32,
    };
    // Forward: every intermediate is empty; the mean of nothing is NaN, as in TensorFlow.
    let out = sess.run(&fetches![&logits, &loss, &accuracy], &empty)?;
    assert_eq!(out.value(0)?.shape(), &[0, 10]);
    assert!(out.value(1)?.scalar_value::<f32>()?.is_nan());
    assert!(out.value(2)?.scalar_value::<f32>()?.is_nan());
    // Backward: a training step on an empty batch must not panic; every gradient is empty or
    // zero, so the weights stay finite.
    match sess.run(&fetches![&train_step, &loss], &empty) {
        Ok(_) => {
            // Every gradient is zero, so Adam moves nothing.
            assert_eq!(sess.eval(&wf, &feed! {})?, w_before);
        }
        Err(e) => panic!("empty-batch step: {e}"),
    }
    p.check(&sess);
    Ok(())
}

#[test]
fn shape_products_that_overflow_usize() -> Result<()> {
    let huge = usize::MAX / 2;
    // Values with overflowing shapes.
    insta::assert_snapshot!(err(Value::new::<f32>(&[huge, 4], vec![])), @"shape [9223372036854775807,4] has too many elements");
    insta::assert_snapshot!(err(Value::filled(&[usize::MAX, 2], 0f32)), @"shape [18446744073709551615,2] has too many elements");
    insta::assert_snapshot!(err(Value::scalar(1.0f32).reshaped(&[huge, 4])), @"shape [9223372036854775807,4] has too many elements");
    insta::assert_snapshot!(err(Value::from_shared::<f32>(&[huge, 4], Default::default())), @"shape [9223372036854775807,4] has too many elements");

    let g = Graph::new();
    let p = Probe::new(&g)?;
    // Constants of an overflowing shape: an error, not an allocation failure.
    insta::assert_snapshot!(err(g.zeros(&[huge, 4])), @r"
    shape [9223372036854775807,4] has too many elements
    	 [[{{node zeros}} = Const]]
    ");
    insta::assert_snapshot!(err(g.ones(&[huge, 4])), @r"
    shape [9223372036854775807,4] has too many elements
    	 [[{{node ones}} = Const]]
    ");
    insta::assert_snapshot!(err(rustflow::fill(&g, &[huge, 4], 1i32, "big")), @r"
    shape [9223372036854775807,4] has too many elements
    	 [[{{node big}} = Const]]
    ");
    // A placeholder of a huge static shape builds (nothing is allocated); ops on it infer
    // shapes without overflowing, and feeding it anything else fails.
    let big = g.placeholder_named(F32, shape![huge, 4], "big");
    let s = big.reduce_sum(1)?;
    assert_eq!(s.shape(), shape![huge]);
    let flat = big.reshape(&[-1])?;
    assert_eq!(flat.shape(), shape![?]);
    let sess = Session::new(&g);
    insta::assert_snapshot!(err(sess.eval(&s, &feed! { &big => [[1.0f32; 4]] })), @"Cannot feed value of shape (1, 4) for Tensor 'big:0', which has shape '[9223372036854775807,4]'");
    p.check(&sess);
    // Random ops of an overflowing shape.
    insta::assert_snapshot!(err(rustflow::random_normal(&g, &[huge, 4], 0.0, 1.0, Some(1))), @r"
    shape [9223372036854775807,4] has too many elements
    	 [[{{node random_normal}} = RandomStandardNormal]]
    ");
    // Constants too large to allocate, though their size fits in usize: an error, not an
    // abort of the process.
    insta::assert_snapshot!(err(g.zeros(&[1 << 50])), @r"
    cannot allocate 1125899906842624 elements for shape [1125899906842624]
    	 [[{{node zeros}} = Const]]
    ");
    // Reshapes to huge dims: at build time, and at run time from an unknown shape.
    let k = g.placeholder_named(F32, shape![2, 2], "k");
    insta::assert_snapshot!(err(k.reshape(&[i64::MAX, 4])), @"Requested shape [9223372036854775807, 4] has too many elements for 'Reshape_1' (op: 'Reshape') with input shapes: [2,2]");
    insta::assert_snapshot!(err(k.reshape(&[i64::MAX, -1])), @"Dimension size must be evenly divisible by 9223372036854775807 but is 4 for 'Reshape_1' (op: 'Reshape') with input shapes: [2,2]");
    let u = g.placeholder_named(F32, Shape::unknown(), "u");
    insta::assert_snapshot!(err(u.reshape(&[i64::MAX, 4])), @"Requested shape [9223372036854775807, 4] has too many elements for 'Reshape_1' (op: 'Reshape') with input shapes: <unknown>");
    insta::assert_snapshot!(err(u.reshape(&[i64::MAX, -1, 4])), @"Requested shape [9223372036854775807, -1, 4] has too many elements for 'Reshape_1' (op: 'Reshape') with input shapes: <unknown>");
    let r1 = u.reshape(&[i64::MAX, -1, 2])?;
    let r2 = u.reshape(&[i64::MAX, 2])?;
    let four = feed! { &u => [1.0f32, 2.0, 3.0, 4.0] };
    insta::assert_snapshot!(err(sess.eval(&r1, &four)), @r"
    Input to reshape is a tensor with 4 values, but the requested shape requires a multiple of 18446744073709551614
    	 [[{{node Reshape_1}} = Reshape]]
    ");
    insta::assert_snapshot!(err(sess.eval(&r2, &four)), @r"
    Input to reshape is a tensor with 4 values, but the requested shape has 18446744073709551614
    	 [[{{node Reshape_2}} = Reshape]]
    ");
    p.check(&sess);
    Ok(())
}

#[test]
fn nan_feeds_flow_or_are_caught_naming_the_first_node() -> Result<()> {
    let g = Graph::new();
    let p = Probe::new(&g)?;
    let x = g.placeholder_named(F32, shape![?, 3], "x");
    let h = x.mul(&g.constant(2.0f32))?;
    let y = h.softmax()?;
    let l = y.log()?.reduce_mean(None)?;
    let sess = Session::new(&g);
    let nan = feed! { &x => [[f32::NAN, 1.0, 2.0]] };
    // Without checks, NaN flows through as NaN.
    let out = sess.run(&fetches![&h, &y, &l], &nan)?;
    assert!(out.value(0)?.as_slice::<f32>()?[0].is_nan());
    assert!(out.value(1)?.as_slice::<f32>()?.iter().all(|v| v.is_nan()));
    assert!(out.value(2)?.scalar_value::<f32>()?.is_nan());
    // With the run's numerics check, the first node producing it is named.
    let checked = RunOptions {
        check_numerics: true,
        ..RunOptions::default()
    };
    let e = err(sess.run_with(&fetches![&l], &nan, &checked));
    insta::assert_snapshot!(e, @r"
    found by the run's numerics check : Tensor had NaN values
    	 [[{{node mul}} = Mul]]
    ");
    p.check(&sess);
    // An infinity made in the middle of the graph: log(0) is -inf.
    let zero = feed! { &x => [[0.0f32, 0.0, 0.0]] };
    let z = x.log()?.reduce_sum(None)?;
    let e = err(sess.run_with(&fetches![&z], &zero, &checked));
    insta::assert_snapshot!(e, @r"
    found by the run's numerics check : Tensor had Inf values
    	 [[{{node Log_1}} = Log]]
    ");
    // The check_numerics op names itself and carries its message.
    let c = rustflow::check_numerics(&h, "after doubling")?;
    let e = err(sess.eval(&c, &nan));
    insta::assert_snapshot!(e, @r"
    after doubling : Tensor had NaN values
    	 [[{{node CheckNumerics}} = CheckNumerics]]
    ");
    p.check(&sess);
    Ok(())
}

#[test]
fn out_of_range_axes() -> Result<()> {
    let g = Graph::new();
    let p = Probe::new(&g)?;
    let x = g.placeholder_named(F32, shape![2, 3], "x");
    // Build time, known rank 2.
    insta::assert_snapshot!(err(x.reduce_sum(2)), @"Invalid reduction dimension 2 for input with 2 dimensions for 'Sum_1' (op: 'Sum') with input shapes: [2,3]");
    insta::assert_snapshot!(err(x.reduce_mean(-3)), @"Invalid reduction dimension -3 for input with 2 dimensions for 'Mean' (op: 'Mean') with input shapes: [2,3]");
    insta::assert_snapshot!(err(x.reduce_max([0, 7])), @"Invalid reduction dimension 7 for input with 2 dimensions for 'Max' (op: 'Max') with input shapes: [2,3]");
    insta::assert_snapshot!(err(x.argmax(2)), @"Expected dimension in the range [-2, 2), but got 2 for 'ArgMax' (op: 'ArgMax') with input shapes: [2,3]");
    insta::assert_snapshot!(err(x.argmax(-3)), @"Expected dimension in the range [-2, 2), but got -3 for 'ArgMax' (op: 'ArgMax') with input shapes: [2,3]");
    insta::assert_snapshot!(err(x.transpose(Some(&[0, 2]))), @"2 is out of range [0 .. 2) for 'transpose' (op: 'Transpose') with input shapes: [2,3]");
    insta::assert_snapshot!(err(x.transpose(Some(&[0, 0]))), @"1 is missing from {0,0}. for 'transpose' (op: 'Transpose') with input shapes: [2,3]");
    insta::assert_snapshot!(err(x.transpose(Some(&[1, 0, 2]))), @"Dimension must be 2 but is 3 for 'transpose' (op: 'Transpose') with input shapes: [2,3]");
    let s = g.placeholder_named(F32, shape![], "scalar");
    insta::assert_snapshot!(err(s.softmax()), @"Shape must be at least rank 1 but is rank 0 for 'Softmax' (op: 'Softmax') with input shapes: []");
    insta::assert_snapshot!(err(s.argmax(0)), @"Expected dimension in the range [0, 0), but got 0 for 'ArgMax' (op: 'ArgMax') with input shapes: []");

    // Run time, unknown rank: the same mistakes fail when the value arrives, naming the node.
    let u = g.placeholder_named(F32, Shape::unknown(), "u");
    let cases = [
        u.reduce_sum(2)?,
        u.reduce_mean(-3)?,
        u.reduce_max([0, 7])?,
        u.argmax(2)?,
        u.argmax(-3)?,
        u.transpose(Some(&[0, 2]))?,
        u.transpose(Some(&[1, 0, 2]))?,
    ];
    let sess = Session::new(&g);
    let m = feed! { &u => [[1.0f32, 2.0, 3.0], [4.0, 5.0, 6.0]] };
    let msgs: Vec<String> = cases
        .iter()
        .map(|t| {
            let e = err(sess.eval(t, &m)).to_string();
            p.check(&sess);
            e
        })
        .collect();
    insta::assert_snapshot!(msgs.join("\n"), @r"
    Invalid reduction dimension 2 for input with 2 dimensions (shape [2,3])
    	 [[{{node Sum_1}} = Sum]]
    Invalid reduction dimension -3 for input with 2 dimensions (shape [2,3])
    	 [[{{node Mean}} = Mean]]
    Invalid reduction dimension 7 for input with 2 dimensions (shape [2,3])
    	 [[{{node Max}} = Max]]
    Expected dimension in the range [-2, 2), but got 2 (input shape [2,3])
    	 [[{{node ArgMax}} = ArgMax]]
    Expected dimension in the range [-2, 2), but got -3 (input shape [2,3])
    	 [[{{node ArgMax_1}} = ArgMax]]
    transpose of a tensor of shape [2,3]: 2 is out of range [0 .. 2)
    	 [[{{node transpose}} = Transpose]]
    transpose of a tensor of shape [2,3]: Dimension must be 2 but is 3
    	 [[{{node transpose_1}} = Transpose]]
    ");
    // Softmax and argmax of a scalar.
    let one = feed! { &u => Value::scalar(1.0f32) };
    insta::assert_snapshot!(err(sess.eval(&u.softmax()?, &one)), @r"
    logits must have >= 1 dimension, got []
    	 [[{{node Softmax}} = Softmax]]
    ");
    insta::assert_snapshot!(err(sess.eval(&u.argmax(0)?, &one)), @r"
    Expected dimension in the range [0, 0), but got 0 (input shape [])
    	 [[{{node ArgMax_2}} = ArgMax]]
    ");
    p.check(&sess);
    Ok(())
}

#[test]
fn impossible_reshapes() -> Result<()> {
    let g = Graph::new();
    let p = Probe::new(&g)?;
    let x = g.placeholder_named(F32, shape![2, 3], "x");
    // Build time.
    insta::assert_snapshot!(err(x.reshape(&[-1, 4])), @"Dimension size must be evenly divisible by 4 but is 6 for 'Reshape' (op: 'Reshape') with input shapes: [2,3]");
    insta::assert_snapshot!(err(x.reshape(&[5])), @"Cannot reshape a tensor with 6 elements to shape [5] (5 elements) for 'Reshape' (op: 'Reshape') with input shapes: [2,3]");
    insta::assert_snapshot!(err(x.reshape(&[-1, -1])), @"Only one input size may be -1, not both 0 and 1 for 'Reshape' (op: 'Reshape') with input shapes: [2,3]");
    insta::assert_snapshot!(err(x.reshape(&[0, -1])), @"Reshape cannot infer the missing input size for an empty tensor unless all specified input sizes are non-zero for 'Reshape' (op: 'Reshape') with input shapes: [2,3]");
    insta::assert_snapshot!(err(x.reshape(&[-2, 3])), @"Size 0 must be non-negative, not -2 for 'Reshape' (op: 'Reshape') with input shapes: [2,3]");
    // Run time, from an unknown shape.
    let u = g.placeholder_named(F32, Shape::unknown(), "u");
    let r1 = u.reshape(&[-1, 4])?;
    let r2 = u.reshape(&[5])?;
    let r3 = u.reshape(&[0, -1])?;
    let sess = Session::new(&g);
    let six = feed! { &u => [[1.0f32, 2.0, 3.0], [4.0, 5.0, 6.0]] };
    let msgs: Vec<String> = [&r1, &r2, &r3]
        .iter()
        .map(|t| {
            let e = err(sess.eval(t, &six)).to_string();
            p.check(&sess);
            e
        })
        .collect();
    insta::assert_snapshot!(msgs.join("\n"), @r"
    Input to reshape is a tensor with 6 values, but the requested shape requires a multiple of 4
    	 [[{{node Reshape}} = Reshape]]
    Input to reshape is a tensor with 6 values, but the requested shape has 5
    	 [[{{node Reshape_1}} = Reshape]]
    Reshape cannot infer the missing input size for an empty tensor unless all specified input sizes are non-zero
    	 [[{{node Reshape_2}} = Reshape]]
    ");
    Ok(())
}

#[test]
fn windows_larger_than_the_input_under_valid() -> Result<()> {
    let g = Graph::new();
    let p = Probe::new(&g)?;
    let x = g.placeholder_named(F32, shape![1, 3, 3, 1], "x");
    let f = g.constant(Value::filled(&[5, 5, 1, 1], 1.0f32)?);
    // Build time: the input's spatial dims are known.
    insta::assert_snapshot!(err(nn::conv2d(&x, &f, [1, 1, 1, 1], Padding::Valid)), @"rows: the window (5) is larger than the input (3) under VALID padding for 'Conv2D' (op: 'Conv2D') with input shapes: [1,3,3,1], [5,5,1,1]");
    let (k5, s1) = ([1, 5, 5, 1], [1, 1, 1, 1]);
    insta::assert_snapshot!(err(nn::max_pool(&x, k5, s1, Padding::Valid)), @"rows: the window (5) is larger than the input (3) under VALID padding for 'MaxPool' (op: 'MaxPool') with input shapes: [1,3,3,1]");
    insta::assert_snapshot!(err(nn::avg_pool(&x, k5, s1, Padding::Valid)), @"rows: the window (5) is larger than the input (3) under VALID padding for 'AvgPool' (op: 'AvgPool') with input shapes: [1,3,3,1]");
    // SAME is fine.
    nn::conv2d(&x, &f, s1, Padding::Same)?;
    // Run time: unknown spatial dims.
    let u = g.placeholder_named(F32, shape![?, ?, ?, 1], "u");
    let ts = [
        nn::conv2d(&u, &f, s1, Padding::Valid)?,
        nn::max_pool(&u, k5, s1, Padding::Valid)?,
        nn::avg_pool(&u, k5, s1, Padding::Valid)?,
    ];
    let sess = Session::new(&g);
    let small = feed! { &u => Value::filled(&[1, 3, 3, 1], 1.0f32)? };
    let msgs: Vec<String> = ts
        .iter()
        .map(|t| {
            let e = err(sess.eval(t, &small)).to_string();
            p.check(&sess);
            e
        })
        .collect();
    insta::assert_snapshot!(msgs.join("\n"), @r"
    rows: the window (5) is larger than the input (3) under VALID padding: input [1,3,3,1], filter [5,5,1,1]
    	 [[{{node Conv2D_1}} = Conv2D]]
    rows: the window (5) is larger than the input (3) under VALID padding: input [1,3,3,1], ksize [1,5,5,1], strides [1,1,1,1], padding VALID
    	 [[{{node MaxPool}} = MaxPool]]
    rows: the window (5) is larger than the input (3) under VALID padding: input [1,3,3,1], ksize [1,5,5,1], strides [1,1,1,1], padding VALID
    	 [[{{node AvgPool}} = AvgPool]]
    ");
    Ok(())
}

#[test]
fn strides_and_windows_of_zero() -> Result<()> {
    let g = Graph::new();
    let x = g.placeholder_named(F32, shape![?, 4, 4, 1], "x");
    let f = g.constant(Value::filled(&[2, 2, 1, 1], 1.0f32)?);
    let dy = g.placeholder_named(F32, shape![?, 4, 4, 1], "dy");
    insta::assert_snapshot!(err(nn::conv2d(&x, &f, [1, 0, 1, 1], Padding::Same)), @r"
    strides must be positive, got [1,0,1,1]
    	 [[{{node Conv2D}} = Conv2D]]
    ");
    insta::assert_snapshot!(err(nn::conv2d(&x, &f, [2, 1, 1, 1], Padding::Same)), @r"
    strides in the batch and depth dimensions must be 1, got [2,1,1,1]
    	 [[{{node Conv2D}} = Conv2D]]
    ");
    insta::assert_snapshot!(err(nn::max_pool(&x, [1, 2, 2, 1], [1, 1, 0, 1], Padding::Valid)), @r"
    strides must be positive, got [1,1,0,1]
    	 [[{{node MaxPool}} = MaxPool]]
    ");
    insta::assert_snapshot!(err(nn::avg_pool(&x, [1, 0, 2, 1], [1, 1, 1, 1], Padding::Same)), @r"
    ksize must be positive, got [1,0,2,1]
    	 [[{{node AvgPool}} = AvgPool]]
    ");
    insta::assert_snapshot!(err(nn::conv2d_backprop_input(
            &x,
            &f,
            &dy,
            [1, 0, 0, 1],
            Padding::Same
        )), @r"
    strides must be positive, got [1,0,0,1]
    	 [[{{node Conv2DBackpropInput}} = Conv2DBackpropInput]]
    ");
    insta::assert_snapshot!(err(nn::max_pool_grad(
            &x,
            &dy,
            [1, 2, 2, 1],
            [1, 0, 1, 1],
            Padding::Same
        )), @r"
    strides must be positive, got [1,0,1,1]
    	 [[{{node MaxPoolGrad}} = MaxPoolGrad]]
    ");
    // A zero-sized filter.
    let f0 = g.constant(Value::new::<f32>(&[0, 2, 1, 1], vec![])?);
    insta::assert_snapshot!(err(nn::conv2d(&x, &f0, [1, 1, 1, 1], Padding::Same)), @"rows: window sizes must be positive, got 0 for 'Conv2D' (op: 'Conv2D') with input shapes: [?,4,4,1], [0,2,1,1]");
    // The same filter arriving at run time.
    let fu = g.placeholder_named(F32, Shape::unknown(), "fu");
    let y = nn::conv2d(&x, &fu, [1, 1, 1, 1], Padding::Same)?;
    let sess = Session::new(&g);
    let feeds = feed! {
        &x => Value::filled(&[1, 4, 4, 1], 1.0f32)?,
        &fu => Value::new::<f32>(&[0, 2, 1, 1], vec![])?,
    };
    insta::assert_snapshot!(err(sess.eval(&y, &feeds)), @r"
    rows: window sizes must be positive, got 0: input [1,4,4,1], filter [0,2,1,1]
    	 [[{{node Conv2D}} = Conv2D]]
    ");
    Ok(())
}

#[test]
fn unknown_dims_where_a_known_one_is_needed() -> Result<()> {
    let g = Graph::new();
    let p = Probe::new(&g)?;
    let u = g.placeholder_named(F32, Shape::unknown(), "u");
    let b = g.placeholder_named(F32, shape![?, 3], "b");
    // A variable needs a fully known initial shape.
    insta::assert_snapshot!(err(g.variable(&u, "V")), @r"
    the initial value of a variable needs a fully known shape, got <unknown>
    	 [[{{node V}} = VariableV2]]
    ");
    insta::assert_snapshot!(err(g.variable(&b, "Vb")), @r"
    the initial value of a variable needs a fully known shape, got [?,3]
    	 [[{{node Vb}} = VariableV2]]
    ");
    // zeros_like of an unknown shape is resolved at run time.
    let z = rustflow::zeros_like(&u)?;
    let sess = Session::new(&g);
    let v = sess.eval(&z, &feed! { &u => [[1.0f32, 2.0]] })?;
    assert_eq!(v.shape(), &[1, 2]);
    p.check(&sess);
    // An optimizer over a graph whose only would-be variable failed: no variables.
    let loss = u.reduce_sum(None)?;
    insta::assert_snapshot!(err(train::GradientDescentOptimizer::new(0.1).minimize(&loss)), @"No gradients provided for any variable, check your graph for ops that do not support gradients, between variables [] and loss Sum_1:0");
    Ok(())
}

#[test]
fn mismatched_conv_channels() -> Result<()> {
    let g = Graph::new();
    let p = Probe::new(&g)?;
    let x = g.placeholder_named(F32, shape![?, 8, 8, 1], "x");
    let f3 = g.constant(Value::filled(&[3, 3, 3, 4], 1.0f32)?);
    // Build time: depth 1 against in_channels 3, and a filter of rank 3.
    insta::assert_snapshot!(err(nn::conv2d(&x, &f3, [1, 1, 1, 1], Padding::Same)), @"input depth must equal the filter's in_channels, but are 1 and 3 for 'Conv2D' (op: 'Conv2D') with input shapes: [?,8,8,1], [3,3,3,4]");
    let fr3 = g.constant(Value::filled(&[3, 3, 1], 1.0f32)?);
    insta::assert_snapshot!(err(nn::conv2d(&x, &fr3, [1, 1, 1, 1], Padding::Same)), @"Shape must be rank 4 but is rank 3 for the filter for 'Conv2D' (op: 'Conv2D') with input shapes: [?,8,8,1], [3,3,1]");
    // Run time: unknown depth, and a filter of unknown shape.
    let u = g.placeholder_named(F32, shape![?, ?, ?, ?], "u");
    let fu = g.placeholder_named(F32, Shape::unknown(), "fu");
    let y1 = nn::conv2d(&u, &f3, [1, 1, 1, 1], Padding::Same)?;
    let y2 = nn::conv2d(&u, &fu, [1, 1, 1, 1], Padding::Same)?;
    let sess = Session::new(&g);
    let one = Value::filled(&[1, 8, 8, 1], 1.0f32)?;
    insta::assert_snapshot!(err(sess.eval(&y1, &feed! { &u => one.clone() })), @r"
    input depth must equal the filter's in_channels, but are 1 and 3: input [1,8,8,1], filter [3,3,3,4]
    	 [[{{node Conv2D}} = Conv2D]]
    ");
    p.check(&sess);
    // The same mistake inside a whole layer, which runs as one fused step named after its
    // last node.
    let b = g.constant(Value::filled(&[4], 0.1f32)?);
    let act = y1.add(&b)?.relu()?;
    let layer = nn::max_pool(&act, [1, 2, 2, 1], [1, 2, 2, 1], Padding::Same)?;
    insta::assert_snapshot!(err(sess.eval(&layer, &feed! { &u => one.clone() })), @r"
    input depth must equal the filter's in_channels, but are 1 and 3: input [1,8,8,1], filter [3,3,3,4]
    	 [[{{node MaxPool}} = FusedConv2D]]
    ");
    p.check(&sess);
    let e = err(sess.eval(
        &y2,
        &feed! { &u => one.clone(), &fu => Value::filled(&[3, 3, 1], 1.0f32)? },
    ));
    insta::assert_snapshot!(e, @r"
    filter must be 4-dimensional, got rank 3: input [1,8,8,1], filter [3,3,1]
    	 [[{{node Conv2D_1}} = Conv2D]]
    ");
    p.check(&sess);
    // Gradient ops with an out_backprop of the wrong shape at run time.
    let dy = g.placeholder_named(F32, Shape::unknown(), "dy");
    let f1 = g.constant(Value::filled(&[3, 3, 1, 4], 1.0f32)?);
    let gi = nn::conv2d_backprop_input(&u, &f1, &dy, [1, 1, 1, 1], Padding::Same)?;
    let gf = nn::conv2d_backprop_filter(&u, &f1, &dy, [1, 1, 1, 1], Padding::Same)?;
    let gm = nn::max_pool_grad(&u, &dy, [1, 2, 2, 1], [1, 2, 2, 1], Padding::Same)?;
    let ga = nn::avg_pool_grad(&u, &dy, [1, 2, 2, 1], [1, 2, 2, 1], Padding::Same)?;
    let bad_dy = feed! { &u => one.clone(), &dy => Value::filled(&[1, 8, 8, 3], 1.0f32)? };
    let msgs: Vec<String> = [&gi, &gf, &gm, &ga]
        .iter()
        .map(|t| {
            let e = err(sess.eval(t, &bad_dy)).to_string();
            p.check(&sess);
            e
        })
        .collect();
    insta::assert_snapshot!(msgs.join("\n"), @r"
    out_backprop has shape [1,8,8,3] but the convolution's output has shape [1,8,8,4]
    	 [[{{node Conv2DBackpropInput}} = Conv2DBackpropInput]]
    out_backprop has shape [1,8,8,3] but the convolution's output has shape [1,8,8,4]
    	 [[{{node Conv2DBackpropFilter}} = Conv2DBackpropFilter]]
    the upstream gradient has shape [1,8,8,3] but the pooled output has shape [1,4,4,1]
    	 [[{{node MaxPoolGrad}} = MaxPoolGrad]]
    the upstream gradient has shape [1,8,8,3] but the pooled output has shape [1,4,4,1]
    	 [[{{node AvgPoolGrad}} = AvgPoolGrad]]
    ");
    Ok(())
}

#[test]
fn dtype_mixing() -> Result<()> {
    let g = Graph::new();
    let p = Probe::new(&g)?;
    let i = g.constant([1i32, 2]);
    let f = g.constant([1.0f32, 2.0]);
    insta::assert_snapshot!(err(i.add(&f)), @"Input 'y' of 'Add' Op has type float32 that does not match type int32 of argument 'x'. (node 'add', op 'Add')");
    insta::assert_snapshot!(err(f.mul(&i)), @"Input 'y' of 'Mul' Op has type int32 that does not match type float32 of argument 'x'. (node 'mul', op 'Mul')");
    insta::assert_snapshot!(err(i.matmul(&i)), @"Value passed to 'MatMul' has DataType int32 not in list of allowed values: float32 (node 'MatMul', op 'MatMul')");
    insta::assert_snapshot!(err(i.equal(&g.constant([1i64, 2]))), @"Input 'y' of 'Equal' Op has type int64 that does not match type int32 of argument 'x'. (node 'Equal', op 'Equal')");
    insta::assert_snapshot!(err(i.softmax()), @"Value passed to 'Softmax' has DataType int32 not in list of allowed values: float32 (node 'Softmax', op 'Softmax')");
    insta::assert_snapshot!(err(g.constant([true]).reduce_sum(None)), @"Value passed to 'Sum' has DataType bool not in list of allowed values: float32, int32, int64 (node 'Sum_1', op 'Sum')");
    let xi = g.placeholder_named(I32, shape![1, 4, 4, 1], "xi");
    let fl = g.constant(Value::filled(&[2, 2, 1, 1], 1.0f32)?);
    insta::assert_snapshot!(err(nn::conv2d(&xi, &fl, [1, 1, 1, 1], Padding::Same)), @"Value passed to 'Conv2D' has DataType int32 not in list of allowed values: float32 (node 'Conv2D', op 'Conv2D')");
    insta::assert_snapshot!(err(nn::bias_add(&g.constant([[1.0f32]]), &g.constant([1i32]))), @"Input 'y' of 'BiasAdd' Op has type int32 that does not match type float32 of argument 'x'. (node 'BiasAdd', op 'BiasAdd')");
    // A variable of int32 gets no gradient: minimizing through a cast fails cleanly.
    let v = g.variable(&g.constant([1i32, 2]), "iv")?;
    let loss = v.cast(F32)?.reduce_sum(None)?;
    insta::assert_snapshot!(err(train::GradientDescentOptimizer::new(0.1).minimize(&loss)), @r#"No gradients provided for any variable, check your graph for ops that do not support gradients, between variables ["iv:0"] and loss Sum_1:0"#);
    p.check(&Session::new(&g));
    Ok(())
}

#[test]
fn tensors_of_another_graph() -> Result<()> {
    let g = Graph::new();
    let p = Probe::new(&g)?;
    let other = Graph::new();
    let foreign = other.placeholder_named(F32, shape![?, 3], "foreign");
    let foreign_v = other.variable(&other.constant(1.0f32), "fv")?;
    let foreign_init = other.global_variables_initializer()?;
    let mine = g.placeholder_named(F32, shape![?, 3], "mine");
    let sess = Session::new(&g);
    // Fetching a tensor, a variable, an operation of another graph.
    insta::assert_snapshot!(err(sess.eval(&foreign, &feed! {})), @r#"Tensor("foreign:0", shape=[?,3], dtype=float32) is not an element of this graph."#);
    insta::assert_snapshot!(err(sess.eval(&foreign_v, &feed! {})), @r#"Tensor("fv:0", shape=[], dtype=float32) is not an element of this graph."#);
    insta::assert_snapshot!(err(sess.run_op(&foreign_init, &feed! {})), @"Operation 'init' (NoOp) is not an element of this graph.");
    p.check(&sess);
    // Feeding a tensor of another graph.
    insta::assert_snapshot!(err(sess.eval(
            &p.y,
            &feed! { &p.x => [[1.0f32, 2.0, 3.0]], &foreign => [[0.0f32; 3]] }
        )), @r#"Tensor("foreign:0", shape=[?,3], dtype=float32) is not an element of this graph."#);
    p.check(&sess);
    // Building with tensors of two graphs.
    insta::assert_snapshot!(err(mine.add(&foreign)), @r#"Tensor("foreign:0", shape=[?,3], dtype=float32) is not an element of this graph."#);
    insta::assert_snapshot!(err(g.variable(&foreign, "W")), @r#"Tensor("foreign:0", shape=[?,3], dtype=float32) is not an element of this graph."#);
    insta::assert_snapshot!(err(g.control_dependencies(&[&foreign_init], |_| ())), @"Operation 'init' (NoOp) is not an element of this graph.");
    insta::assert_snapshot!(err(rustflow::gradients(&[&p.y], &[&foreign], None)), @r#"Tensor("foreign:0", shape=[?,3], dtype=float32) is not an element of this graph."#);
    insta::assert_snapshot!(err(nn::conv2d(
            &g.placeholder_named(F32, shape![1, 4, 4, 1], "img"),
            &other.constant(Value::filled(&[2, 2, 1, 1], 1.0f32)?),
            [1, 1, 1, 1],
            Padding::Same
        )), @r#"Tensor("Const_1:0", shape=[2,2,1,1], dtype=float32) is not an element of this graph."#);
    p.check(&sess);
    Ok(())
}

#[test]
fn corrupt_and_mismatched_checkpoints() -> Result<()> {
    let dir = tmpdir("ckpt");
    let g = Graph::new();
    let p = Probe::new(&g)?;
    let w = g.variable(&g.constant([[1.0f32, 2.0], [3.0, 4.0]]), "W")?;
    let sess = Session::new(&g);
    let saver = Saver::new(&g);
    // Saving before initialization names the variable.
    insta::assert_snapshot!(err(saver.save(&sess, dir.join("model"), None)), @"Attempting to use uninitialized value W");
    sess.run_op(&g.global_variables_initializer()?, &feed! {})?;
    let good = saver.save(&sess, dir.join("model"), Some(1))?;
    let bytes = std::fs::read(&good).unwrap();
    let w_is_intact = |sess: &Session| {
        let v = sess.eval(&w, &feed! {}).expect("W");
        assert_eq!(v.as_slice::<f32>().unwrap(), &[1.0, 2.0, 3.0, 4.0]);
        p.check(sess);
    };
    let fresh = Session::new(&g);
    sess.run_op(&g.global_variables_initializer()?, &feed! {})?;
    // Messages name the file; the directory varies, so it prints as <dir>.
    let scrub = |e: Error| e.to_string().replace(&dir.display().to_string(), "<dir>");
    let restore = |name: &str, content: &[u8]| {
        let path = dir.join(name);
        std::fs::write(&path, content).unwrap();
        let e = err(saver.restore(&sess, &path));
        assert!(
            e.to_string().contains(&path.display().to_string()),
            "{e} must name {}",
            path.display()
        );
        w_is_intact(&sess);
        scrub(e)
    };
    // Random bytes, an empty file, a truncated file, a header whose length is huge, a header
    // that is not JSON, a body shorter than the header says.
    insta::assert_snapshot!(restore("garbage.safetensors", b"this is not a checkpoint at all"), @"checkpoint <dir>/garbage.safetensors: not a valid safetensors file: HeaderTooLarge");
    insta::assert_snapshot!(restore("empty.safetensors", b""), @"checkpoint <dir>/empty.safetensors: not a valid safetensors file: HeaderTooSmall");
    insta::assert_snapshot!(restore("truncated.safetensors", &bytes[..bytes.len() / 2]), @"checkpoint <dir>/truncated.safetensors: not a valid safetensors file: InvalidHeaderLength");
    insta::assert_snapshot!(restore("short.safetensors", &bytes[..bytes.len() - 1]), @"checkpoint <dir>/short.safetensors: not a valid safetensors file: MetadataIncompleteBuffer");
    let mut huge = u64::MAX.to_le_bytes().to_vec();
    huge.extend_from_slice(b"{}");
    insta::assert_snapshot!(restore("huge-header.safetensors", &huge), @"checkpoint <dir>/huge-header.safetensors: not a valid safetensors file: HeaderTooLarge");
    let mut notjson = 8u64.to_le_bytes().to_vec();
    notjson.extend_from_slice(b"notjson!");
    insta::assert_snapshot!(restore("notjson.safetensors", &notjson), @"checkpoint <dir>/notjson.safetensors: not a valid safetensors file: InvalidHeaderDeserialization");

    // A checkpoint of another model: other names, other shapes, other dtypes.
    let other = |init: Tensor, og: &Graph, name: &str, file: &str| -> Result<PathBuf> {
        let _v = og.variable(&init, name)?;
        let s = Session::new(og);
        s.run_op(&og.global_variables_initializer()?, &feed! {})?;
        Saver::new(og).save(&s, dir.join(file), None)
    };
    let g1 = Graph::new();
    let names = other(g1.constant([[1.0f32, 2.0], [3.0, 4.0]]), &g1, "V", "names")?;
    let g2 = Graph::new();
    let shapes = other(g2.constant([1.0f32, 2.0, 3.0, 4.0]), &g2, "W", "shapes")?;
    let g3 = Graph::new();
    let dtypes = other(g3.constant([[1i32, 2], [3, 4]]), &g3, "W", "dtypes")?;
    let msgs: Vec<String> = [&names, &shapes, &dtypes]
        .iter()
        .map(|path| {
            let e = scrub(err(saver.restore(&sess, path)));
            w_is_intact(&sess);
            e
        })
        .collect();
    insta::assert_snapshot!(msgs.join("\n"), @r"
    checkpoint <dir>/names.safetensors: no variable 'W' in the checkpoint
    checkpoint <dir>/shapes.safetensors: variable 'W' has shape [4] in the checkpoint, [2,2] in the graph
    checkpoint <dir>/dtypes.safetensors: variable 'W' is I32 in the checkpoint, float32 in the graph
    ");
    // A directory, and a missing file.
    insta::assert_snapshot!(scrub(err(saver.restore(&sess, &dir))), @"<dir>: Is a directory (os error 21)");
    insta::assert_snapshot!(scrub(err(saver.restore(&sess, dir.join("missing.safetensors")))), @"<dir>/missing.safetensors: No such file or directory (os error 2)");
    w_is_intact(&sess);
    // Saving where a file stands in for the directory.
    let e = scrub(err(saver.save(&sess, good.join("model"), None)));
    insta::assert_snapshot!(e, @"<dir>/model-1.safetensors: File exists (os error 17)");
    w_is_intact(&sess);
    // A saver of another graph's variables, with a session of this graph: the node ids
    // coincide, so without a check the restore would overwrite W.
    let g4 = Graph::new();
    Probe::new(&g4)?;
    let v4 = g4.variable(&g4.constant([[9.0f32, 9.0], [9.0, 9.0]]), "W")?;
    assert_eq!(v4.node(), w.node());
    let foreign = Saver::new(&g4);
    insta::assert_snapshot!(err(foreign.restore(&sess, &good)), @"Variable 'W' is not an element of this graph.");
    w_is_intact(&sess);
    insta::assert_snapshot!(err(foreign.save(&sess, dir.join("foreign"), None)), @"Variable 'W' is not an element of this graph.");
    insta::assert_snapshot!(err(Saver::with_vars(&[&v4]).restore(&sess, &good)), @"Variable 'W' is not an element of this graph.");
    w_is_intact(&sess);
    // The good checkpoint still restores into a fresh session.
    saver.restore(&fresh, &good)?;
    w_is_intact(&fresh);
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}

#[test]
fn a_closed_session_refuses_everything() -> Result<()> {
    let g = Graph::new();
    let p = Probe::new(&g)?;
    let w = g.variable(&g.constant(1.0f32), "W")?;
    let init = g.global_variables_initializer()?;
    let sess = Session::new(&g);
    sess.run_op(&init, &feed! {})?;
    let clone = sess.clone();
    sess.close();
    insta::assert_snapshot!(err(sess.eval(&w, &feed! {})), @"Attempted to use a closed Session.");
    insta::assert_snapshot!(err(sess.run_op(&init, &feed! {})), @"Attempted to use a closed Session.");
    insta::assert_snapshot!(err(clone.eval(&p.y, &feed! { &p.x => [[1.0f32, 2.0, 3.0]] })), @"Attempted to use a closed Session.");
    insta::assert_snapshot!(err(w.eval_in(&clone, &feed! {})), @"Attempted to use a closed Session.");
    // Saving and restoring use the session too.
    let dir = tmpdir("closed");
    let open = Session::new(&g);
    open.run_op(&init, &feed! {})?;
    let path = Saver::new(&g).save(&open, dir.join("m"), None)?;
    insta::assert_snapshot!(err(Saver::new(&g).save(&sess, dir.join("m"), None)), @"Attempted to use a closed Session.");
    insta::assert_snapshot!(err(Saver::new(&g).restore(&sess, &path)), @"Attempted to use a closed Session.");
    std::fs::remove_dir_all(&dir).ok();
    // Closing twice is harmless; a new session works.
    sess.close();
    p.check(&Session::new(&g));
    Ok(())
}

#[test]
fn eval_and_run_with_no_default_session() -> Result<()> {
    // No test in this file opens an InteractiveSession, so there is no default session.
    let g = Graph::new();
    let p = Probe::new(&g)?;
    let c = g.constant(1.0f32);
    insta::assert_snapshot!(err(c.eval(&feed! {})), @"Cannot evaluate tensor using `eval()`: No default session is registered. Create an InteractiveSession or pass a session explicitly");
    insta::assert_snapshot!(err(g.global_variables_initializer()?.run(&feed! {})), @"Cannot execute operation using `run()`: No default session is registered. Create an InteractiveSession or pass a session explicitly");
    p.check(&Session::new(&g));
    Ok(())
}

/// The issue-22 catalogue of huge shapes (once a 4 TiB `malloc` and SIGABRT each): every
/// case is a `ResourceExhausted` error naming the node, the shape and the bytes, refused
/// before anything is allocated, and the session runs a good fetch afterwards (static and
/// run-time shapes alike).
#[test]
fn huge_outputs_are_resource_exhausted_errors_and_the_session_stays_usable() -> Result<()> {
    const M: usize = 1 << 20;
    let g = Graph::new();
    let probe = Probe::new(&g)?;
    let col = Value::new(&[M, 1], vec![1f32; M])?;
    let row = Value::new(&[1, M], vec![1f32; M])?;
    let (sc, sr) = (
        g.placeholder_named(F32, shape![M, 1], "static_col"),
        g.placeholder_named(F32, shape![1, M], "static_row"),
    );
    let (dc, dr) = (
        g.placeholder_named(F32, shape![?, 1], "col"),
        g.placeholder_named(F32, shape![1, ?], "row"),
    );
    let big = [M, M];
    let var = g.variable(&rustflow::random_normal(&g, &big, 0.0, 1.0, None)?, "huge")?;
    let cases: Vec<(&str, Tensor, bool)> = vec![
        (
            "random_normal",
            rustflow::random_normal(&g, &big, 0.0, 1.0, None)?,
            false,
        ),
        (
            "truncated_normal",
            rustflow::truncated_normal(&g, &big, 0.0, 1.0, None)?,
            false,
        ),
        (
            "random_uniform",
            rustflow::random_uniform(&g, &big, 0.0, 1.0, None)?,
            false,
        ),
        ("random_normal", var.initializer().output(0)?, false),
        ("MatMul", sc.matmul(&sr)?, true),
        ("MatMul_1", dc.matmul(&dr)?, true),
        ("Add", sc.add(&sr)?, true),
        ("Add_1", dc.add(&dr)?, true),
        ("Equal", rustflow::equal(&dc, &dr)?, true),
    ];
    let sess = Session::new(&g);
    for (node, t, fed) in &cases {
        let feeds = if *fed {
            feed! { &sc => col.clone(), &sr => row.clone(), &dc => col.clone(), &dr => row.clone() }
        } else {
            feed! {}
        };
        let e = err(sess.eval(t, &feeds));
        let msg = e.to_string();
        match &e {
            Error::ResourceExhausted {
                node: n,
                shape,
                bytes,
                ..
            } => {
                assert!(n.to_lowercase().starts_with(&node.to_lowercase()), "{msg}");
                assert_eq!(shape, &format!("[{M},{M}]"), "{msg}");
                assert!(*bytes >= (M * M) as u128, "{msg}");
            }
            other => panic!("{node}: expected ResourceExhausted, got {other:?}"),
        }
        probe.check(&sess);
    }
    assert!(!sess.is_initialized(&var));
    Ok(())
}

/// `SessionOptions::memory_limit` bounds every output: under a 1 MiB limit a 4 MiB random
/// tensor is refused with the bytes and the limit, a 256 KiB one is computed.
#[test]
fn the_session_memory_limit_bounds_every_output() -> Result<()> {
    let g = Graph::new();
    let probe = Probe::new(&g)?;
    let (small, large) = (
        rustflow::random_uniform(&g, &[256, 256], 0.0, 1.0, Some(1))?,
        rustflow::random_uniform(&g, &[1024, 1024], 0.0, 1.0, Some(1))?,
    );
    let options = SessionOptions {
        memory_limit: Some(1 << 20),
        ..Default::default()
    };
    let sess = Session::with_options(&g, options);
    let msg = err(sess.eval(&large, &feed! {})).to_string();
    assert!(
        msg.contains("shape[1024,1024]")
            && msg.contains("4194304 bytes")
            && msg.contains("1048576"),
        "{msg}"
    );
    assert_eq!(sess.eval(&small, &feed! {})?.shape(), &[256, 256]);
    probe.check(&sess);
    Ok(())
}

/// The ops whose output can hold more elements than their inputs (`tile`, `pad`, `one_hot`,
/// `range`, `gather`, `gather_nd`, `batch_matmul`, `select_v2`, `fill`): a huge output is a
/// `ResourceExhausted` error naming the node and the shape, never an abort, and the session
/// runs a good fetch afterwards.
#[test]
fn ops_that_grow_their_input_refuse_huge_outputs() -> Result<()> {
    const M: usize = 1 << 20;
    let g = Graph::new();
    let probe = Probe::new(&g)?;
    let col = g.placeholder_named(F32, shape![?, 1], "col");
    let row = g.placeholder_named(F32, shape![1, ?], "row");
    let ids = g.placeholder_named(DType::I32, shape![?], "ids");
    let cond = g.placeholder_named(DType::Bool, shape![?, 1], "cond");
    let a3 = rustflow::expand_dims(&col, 0)?;
    let b3 = rustflow::expand_dims(&row, 0)?;
    let rows = rustflow::expand_dims(&ids, 1)?;
    let cases: Vec<(&str, Tensor)> = vec![
        ("Tile", rustflow::tile(&col, &[1, M])?),
        (
            "Pad",
            rustflow::pad(&col, &[[0, 0], [0, M]], rustflow::PadMode::Constant, 0.0)?,
        ),
        ("OneHot", rustflow::one_hot(&ids, M, 1.0, 0.0, -1)?),
        ("Range", rustflow::range(&g, 0.0, 1e13, 1.0, F32)?),
        ("GatherV2", rustflow::gather(&row, &ids, 0)?),
        ("GatherNd", rustflow::gather_nd(&row, &rows)?),
        (
            "BatchMatMulV2",
            rustflow::batch_matmul(&a3, &b3, false, false)?,
        ),
        ("SelectV2", rustflow::select_v2(&cond, &row, &row)?),
        (
            "Fill",
            rustflow::fill_tensor(&[M, M], &rustflow::constant(&g, 1.0f32, "one"))?,
        ),
    ];
    let feeds = feed! {
        &col => Value::new(&[M, 1], vec![1f32; M])?,
        &row => Value::new(&[1, M], vec![1f32; M])?,
        &ids => Value::new(&[M], vec![0i32; M])?,
        &cond => Value::new(&[M, 1], vec![true; M])?,
    };
    let sess = Session::new(&g);
    for (op, t) in &cases {
        let e = err(sess.eval(t, &feeds));
        match &e {
            Error::ResourceExhausted { op: o, bytes, .. } => {
                assert_eq!(o, op, "{e}");
                assert!(*bytes >= (M * M) as u128, "{e}");
            }
            other => panic!("{op}: expected ResourceExhausted, got {other:?}"),
        }
        probe.check(&sess);
    }
    Ok(())
}
