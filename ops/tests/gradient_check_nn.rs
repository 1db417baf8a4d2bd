//! Numeric gradient checks (central differences) of the `nn` ops' gradient rules.

mod support;

use rustflow_graph::Value;
use rustflow_ops::nn::{self, Padding};
use support::{check_gradients, random_value};

#[test]
fn conv2d_input_and_filter() {
    let cases: [([usize; 4], [usize; 4], usize, Padding); 6] = [
        ([2, 5, 5, 2], [3, 3, 2, 3], 1, Padding::Same),
        ([2, 5, 5, 2], [3, 3, 2, 3], 1, Padding::Valid),
        ([1, 7, 6, 2], [3, 3, 2, 2], 2, Padding::Same),
        ([2, 7, 7, 1], [3, 2, 1, 2], 2, Padding::Valid),
        ([1, 6, 6, 3], [4, 4, 3, 2], 2, Padding::Same),
        ([2, 3, 4, 3], [1, 1, 3, 2], 1, Padding::Same),
    ];
    for (i, (xs, fs, s, pad)) in cases.into_iter().enumerate() {
        let (x, f) = (
            random_value(&xs, 10 + i as u64),
            random_value(&fs, 20 + i as u64),
        );
        check_gradients(
            &[x, f],
            &[],
            |_, t| nn::conv2d(&t[0], &t[1], [1, s, s, 1], pad),
            1e-2,
            1e-2,
            2e-3,
        );
    }
}

/// Values whose windows hold no ties (distinct, well separated), so that the max is
/// differentiable.
fn distinct(shape: &[usize], seed: u64) -> Value {
    let n: usize = shape.iter().product();
    let mut perm: Vec<usize> = (0..n).collect();
    let keys = random_value(&[n], seed);
    let k = keys.as_slice::<f32>().unwrap();
    perm.sort_by(|&a, &b| k[a].total_cmp(&k[b]));
    let mut v = vec![0f32; n];
    for (rank, &i) in perm.iter().enumerate() {
        v[i] = rank as f32 * 0.1 - n as f32 * 0.05;
    }
    Value::new(shape, v).unwrap()
}

#[test]
fn max_pool_without_ties() {
    let cases: [([usize; 4], usize, usize, Padding); 4] = [
        ([1, 4, 4, 2], 2, 2, Padding::Same),
        ([2, 5, 5, 1], 3, 2, Padding::Same),
        ([1, 7, 6, 2], 2, 2, Padding::Valid),
        ([1, 5, 5, 2], 3, 1, Padding::Valid),
    ];
    for (i, (xs, k, s, pad)) in cases.into_iter().enumerate() {
        let x = distinct(&xs, 30 + i as u64);
        check_gradients(
            &[x],
            &[],
            |_, t| nn::max_pool(&t[0], [1, k, k, 1], [1, s, s, 1], pad),
            1e-2,
            1e-2,
            1e-3,
        );
    }
}

#[test]
fn avg_pool() {
    let cases: [([usize; 4], usize, usize, Padding); 4] = [
        ([1, 4, 4, 2], 2, 2, Padding::Same),
        ([2, 5, 5, 1], 3, 2, Padding::Same),
        ([1, 7, 6, 2], 2, 2, Padding::Valid),
        ([1, 5, 5, 2], 3, 1, Padding::Same),
    ];
    for (i, (xs, k, s, pad)) in cases.into_iter().enumerate() {
        let x = random_value(&xs, 40 + i as u64);
        check_gradients(
            &[x],
            &[],
            |_, t| nn::avg_pool(&t[0], [1, k, k, 1], [1, s, s, 1], pad),
            1e-2,
            1e-2,
            1e-3,
        );
    }
}

#[test]
fn bias_add() {
    for shape in [vec![3usize, 4], vec![2, 3, 3, 2]] {
        let c = *shape.last().unwrap();
        let (v, b) = (random_value(&shape, 50), random_value(&[c], 51));
        check_gradients(
            &[v, b],
            &[],
            |_, t| nn::bias_add(&t[0], &t[1]),
            1e-2,
            1e-2,
            1e-3,
        );
    }
}

/// Soft labels: rows of positive weights summing to 1 (TF's logits gradient
/// `softmax - labels` is the true derivative only for such rows).
fn soft_labels(n: usize, c: usize, seed: u64) -> Value {
    let v = random_value(&[n, c], seed);
    let a: Vec<f32> = v
        .as_slice::<f32>()
        .unwrap()
        .iter()
        .map(|x| x.abs() + 0.1)
        .collect();
    let rows: Vec<f32> = a
        .chunks(c)
        .flat_map(|r| {
            let s: f32 = r.iter().sum();
            r.iter().map(move |x| x / s)
        })
        .collect();
    Value::new(&[n, c], rows).unwrap()
}

#[test]
fn softmax_cross_entropies() {
    let logits = Value::new(
        &[3, 5],
        random_value(&[3, 5], 60)
            .as_slice::<f32>()
            .unwrap()
            .iter()
            .map(|x| 3.0 * x)
            .collect(),
    )
    .unwrap();
    let labels = soft_labels(3, 5, 61);
    // v1: logits only (labels get no gradient).
    check_gradients(
        &[labels.clone(), logits.clone()],
        &[1],
        |_, t| nn::softmax_cross_entropy_with_logits(&t[0], &t[1]),
        1e-2,
        1e-2,
        1e-3,
    );
    // v2: labels and logits.
    check_gradients(
        &[labels, logits.clone()],
        &[0, 1],
        |_, t| nn::softmax_cross_entropy_with_logits_v2(&t[0], &t[1]),
        1e-2,
        1e-2,
        1e-3,
    );
    // Sparse: int labels are fed, the logits checked.
    let ids = Value::from(vec![4i64, 0, 2]);
    check_gradients(
        &[ids, logits],
        &[1],
        |_, t| nn::sparse_softmax_cross_entropy_with_logits(&t[0], &t[1]),
        1e-2,
        1e-2,
        1e-3,
    );
}
