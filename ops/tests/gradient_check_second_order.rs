//! Numeric checks (central differences) of the gradient rules of the gradient ops: each
//! builds a first-order gradient `gradients(op(x), x_i, grad_ys = dy)` and checks its
//! gradient with respect to the op's inputs and `dy` (TensorFlow's `gradient_of` cases).

mod support;

use rustflow_graph::{Graph, Result, Tensor, Value};
use rustflow_ops::gradients;
use rustflow_ops::nn::{self, Padding};
use support::{check_gradients, random_value};

/// The first-order gradient of `op(inputs)` with respect to input `i`, for the upstream `dy`
/// (the last of `t`).
fn first_order(t: &[Tensor], i: usize, op: impl Fn(&[Tensor]) -> Result<Tensor>) -> Result<Tensor> {
    let (dy, xs) = t.split_last().unwrap();
    let y = op(xs)?;
    Ok(gradients(&[&y], &[&xs[i]], Some(&[dy]))?
        .remove(0)
        .expect("a first-order gradient"))
}

/// Checks the gradient of the first-order gradients of `op` with respect to each input `i`
/// listed in `wrt`, with respect to its `check` list (indices into `inputs` followed by `dy`;
/// all when empty; inputs a gradient does not depend on, such as a bilinear op's own
/// operand, have no path in TensorFlow either).
fn check_second_order(
    inputs: &[Value],
    dy_shape: &[usize],
    wrt: &[(usize, &[usize])],
    op: impl Fn(&[Tensor]) -> Result<Tensor> + Copy,
    tol: (f32, f32),
) {
    let mut all = inputs.to_vec();
    all.push(random_value(dy_shape, 77));
    for &(i, check) in wrt {
        check_gradients(
            &all,
            check,
            |_: &Graph, t| first_order(t, i, op),
            1e-2,
            tol.0,
            tol.1,
        );
    }
}

/// Values at least 0.1 from zero, so that relu's kink is never crossed by a difference step.
fn off_zero(shape: &[usize], seed: u64) -> Value {
    let v = random_value(shape, seed);
    let f: Vec<f32> = v
        .as_slice::<f32>()
        .unwrap()
        .iter()
        .map(|&x| if x < 0.0 { x - 0.1 } else { x + 0.1 })
        .collect();
    Value::new(shape, f).unwrap()
}

/// Values whose windows hold no ties (a permutation of well-separated levels).
fn distinct(shape: &[usize], seed: u64) -> Value {
    let n: usize = shape.iter().product();
    let keys = random_value(&[n], seed);
    let k = keys.as_slice::<f32>().unwrap();
    let mut perm: Vec<usize> = (0..n).collect();
    perm.sort_by(|&a, &b| k[a].total_cmp(&k[b]));
    let mut v = vec![0f32; n];
    for (rank, &i) in perm.iter().enumerate() {
        v[i] = rank as f32 * 0.1 - n as f32 * 0.05;
    }
    Value::new(shape, v).unwrap()
}

#[test]
fn relu_grad() {
    check_second_order(
        &[off_zero(&[3, 4], 1)],
        &[3, 4],
        &[(0, &[])],
        |t| nn::relu(&t[0]),
        (1e-2, 1e-3),
    );
}

#[test]
fn softmax_and_log_softmax_grads() {
    let x = random_value(&[3, 5], 2);
    for log in [false, true] {
        check_second_order(
            std::slice::from_ref(&x),
            &[3, 5],
            &[(0, &[])],
            move |t| {
                if log {
                    nn::log_softmax(&t[0])
                } else {
                    nn::softmax(&t[0])
                }
            },
            (1e-2, 1e-3),
        );
    }
}

#[test]
fn cross_entropy_grads() {
    let logits = random_value(&[3, 5], 3);
    let labels = nn_labels();
    // v2: both gradients with respect to the logits and dy. (TensorFlow's rules, as the
    // first-order one, treat the labels as a distribution, so a difference step along a
    // label is not their derivative.)
    let op = |t: &[Tensor]| nn::softmax_cross_entropy_with_logits_v2(&t[0], &t[1]);
    let inputs = [labels, logits.clone()];
    check_second_order(
        &inputs,
        &[3],
        &[(1, &[1, 2]), (0, &[1, 2])],
        op,
        (1e-2, 1e-3),
    );
    let ids = Value::from(vec![4i64, 0, 2]);
    check_second_order(
        &[ids, logits],
        &[3],
        &[(1, &[1, 2])],
        |t| nn::sparse_softmax_cross_entropy_with_logits(&t[0], &t[1]),
        (1e-2, 1e-3),
    );
}

/// Rows of positive label weights summing to 1.
fn nn_labels() -> Value {
    let v = random_value(&[3, 5], 4);
    let a: Vec<f32> = v
        .as_slice::<f32>()
        .unwrap()
        .iter()
        .map(|x| x.abs() + 0.1)
        .collect();
    let rows: Vec<f32> = a
        .chunks(5)
        .flat_map(|r| {
            let s: f32 = r.iter().sum();
            r.iter().map(move |x| x / s)
        })
        .collect();
    Value::new(&[3, 5], rows).unwrap()
}

#[test]
fn conv2d_backprop_grads() {
    type Case = ([usize; 4], [usize; 4], usize, Padding, [usize; 4]);
    let cases: [Case; 2] = [
        ([1, 6, 6, 2], [3, 3, 2, 3], 1, Padding::Same, [1, 6, 6, 3]),
        ([2, 7, 7, 1], [3, 3, 1, 2], 2, Padding::Valid, [2, 3, 3, 2]),
    ];
    for (k, (xs, fs, s, pad, ys)) in cases.into_iter().enumerate() {
        let inputs = [
            random_value(&xs, 5 + k as u64),
            random_value(&fs, 6 + k as u64),
        ];
        check_second_order(
            &inputs,
            &ys,
            &[(0, &[1, 2]), (1, &[0, 2])],
            move |t| nn::conv2d(&t[0], &t[1], [1, s, s, 1], pad),
            (1e-2, 2e-3),
        );
    }
}

#[test]
fn pool_grads() {
    let x = distinct(&[1, 5, 5, 2], 7);
    let same = Padding::Same;
    check_second_order(
        std::slice::from_ref(&x),
        &[1, 3, 3, 2],
        &[(0, &[])],
        move |t| nn::max_pool(&t[0], [1, 3, 3, 1], [1, 2, 2, 1], same),
        (1e-2, 1e-3),
    );
    check_second_order(
        &[x],
        &[1, 3, 3, 2],
        &[(0, &[1])],
        move |t| nn::avg_pool(&t[0], [1, 3, 3, 1], [1, 2, 2, 1], same),
        (1e-2, 1e-3),
    );
}

#[test]
fn bias_add_grad() {
    check_second_order(
        &[random_value(&[2, 3, 3, 2], 8), random_value(&[2], 9)],
        &[2, 3, 3, 2],
        &[(0, &[2]), (1, &[2])],
        |t| nn::bias_add(&t[0], &t[1]),
        (1e-2, 1e-3),
    );
}

#[test]
fn max_pool_grad_grad_has_a_rule_too() {
    // Third order through max pooling: MaxPoolGradGrad's own rule.
    let x = distinct(&[1, 4, 4, 1], 10);
    let g = random_value(&[1, 4, 4, 1], 11);
    check_gradients(
        &[x, g],
        &[1],
        |_, t| nn::max_pool_grad_grad(&t[0], &t[1], [1, 2, 2, 1], [1, 2, 2, 1], Padding::Same),
        1e-2,
        1e-2,
        1e-3,
    );
}

/// An op without a gradient rule (a user's own, say) on the path from the loss: `gradients`
/// is an error naming the node and its op type, never a silent `None` or a partial sum.
#[test]
fn a_path_through_an_op_without_a_rule_is_an_error_naming_it() {
    use rustflow_graph::{DType, KernelContext, Op, TensorSpec};
    use std::sync::Arc;
    #[derive(Debug)]
    struct Twice;
    impl Op for Twice {
        fn op_type(&self) -> &'static str {
            "Twice"
        }
        fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
            let x = ctx.input(0).as_slice::<f32>()?;
            Ok(vec![Value::new(
                ctx.input(0).shape(),
                x.iter().map(|v| 2.0 * v).collect(),
            )?])
        }
    }
    let g = Graph::new();
    let x = rustflow_ops::placeholder(&g, DType::F32, rustflow_graph::shape![3], "x");
    let spec = TensorSpec::new(DType::F32, x.shape());
    let twice = g
        .add_node("my_twice", Arc::new(Twice), &[&x], &[], vec![spec])
        .unwrap()
        .output(0)
        .unwrap();
    let y = rustflow_ops::tanh(&rustflow_ops::mul(&twice, &x).unwrap()).unwrap();
    let err = gradients(&[&y], &[&x], None)
        .expect_err("no rule")
        .to_string();
    assert!(err.contains("my_twice") && err.contains("Twice"), "{err}");
    // The same path through a gradient op has a rule: a Hessian-vector product through tanh.
    let t = rustflow_ops::tanh(&x).unwrap();
    let d = gradients(&[&t], &[&x], None).unwrap().remove(0).unwrap();
    assert!(gradients(&[&d], &[&x], None).unwrap()[0].is_some());
}
