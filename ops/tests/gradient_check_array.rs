//! Numeric gradient checks (central differences) of the array ops' gradient rules, and of
//! the rules of their gradient ops (gradients of gradients).

mod support;

use rustflow_graph::{DType, Graph, Result, Tensor, Value};
use rustflow_ops::*;
use support::{check_gradients, random_value};

fn check(inputs: &[Value], build: impl Fn(&Graph, &[Tensor]) -> Result<Tensor>) {
    check_gradients(inputs, &[], build, 1e-2, 1e-2, 1e-3);
}

/// Checks the gradient with respect to input 1 only (the gradient of a linear op's gradient
/// does not depend on its input 0).
fn check_w(inputs: &[Value], build: impl Fn(&Graph, &[Tensor]) -> Result<Tensor>) {
    check_gradients(inputs, &[1], build, 1e-2, 1e-2, 1e-3);
}

/// The gradient of `sum(f(x) * w)` with respect to `x` (`w` as `grad_ys`), as a function of
/// `x` and `w`: its own gradient with respect to `w` runs through the gradient op's
/// gradient rule.
fn grad_of(t: &[Tensor], f: impl Fn(&Tensor) -> Result<Tensor>) -> Result<Tensor> {
    let y = f(&t[0])?;
    Ok(gradients(&[&y], &[&t[0]], Some(&[&t[1]]))?
        .remove(0)
        .expect("a gradient"))
}

/// Several outputs joined into one (each scaled differently, so a swap would show).
fn join(parts: &[Tensor]) -> Result<Tensor> {
    let g = parts[0].graph();
    let flat: Vec<Tensor> = parts
        .iter()
        .enumerate()
        .map(|(k, p)| mul(&reshape(p, &[-1])?, &constant(g, k as f32 + 1.0, "")))
        .collect::<Result<_>>()?;
    concat(&flat.iter().collect::<Vec<_>>(), 0)
}

#[test]
fn concat_stack_split_unstack() {
    let (a, b, c) = (
        random_value(&[2, 3], 1),
        random_value(&[2, 1], 2),
        random_value(&[2, 2], 3),
    );
    check(&[a.clone(), b, c], |_, t| {
        concat(&[&t[0], &t[1], &t[2]], -1)
    });
    check(&[a.clone(), random_value(&[4, 3], 4)], |_, t| {
        concat(&[&t[0], &t[1]], 0)
    });
    for axis in [0, 1, 2, -1] {
        check(&[a.clone(), random_value(&[2, 3], 5)], |_, t| {
            stack(&[&t[0], &t[1]], axis)
        });
    }
    let x = random_value(&[3, 6, 2], 6);
    check(std::slice::from_ref(&x), |_, t| join(&split(&t[0], 3, 1)?));
    check(std::slice::from_ref(&x), |_, t| {
        join(&split_v(&t[0], &[1, -1, 2], 1)?)
    });
    check(std::slice::from_ref(&x), |_, t| {
        join(&unstack(&t[0], -1, None)?)
    });
    // Only some parts used: the others' upstream is zeros.
    check(std::slice::from_ref(&x), |_, t| {
        Ok(split(&t[0], 2, 1)?.remove(1))
    });
    check(&[x], |_, t| Ok(unstack(&t[0], 0, None)?.remove(2)));
}

/// begin, end, strides and masks of a strided slice.
type Spec = (&'static [i64], &'static [i64], &'static [i64], SliceMasks);

#[test]
fn slices() {
    let x = random_value(&[4, 5, 3], 7);
    check(std::slice::from_ref(&x), |_, t| {
        slice(&t[0], &[1, 2, 0], &[2, -1, 2])
    });
    let specs: [Spec; 6] = [
        // x[1:4:2, ::-2, 1]
        (
            &[1, 0, 1],
            &[4, 0, 2],
            &[2, -2, 1],
            SliceMasks {
                begin: 2,
                end: 2,
                shrink_axis: 4,
                ..Default::default()
            },
        ),
        // x[..., tf.newaxis, -2:]
        (
            &[0, 0, -2],
            &[0, 0, 0],
            &[1, 1, 1],
            SliceMasks {
                ellipsis: 1,
                new_axis: 2,
                end: 4,
                ..Default::default()
            },
        ),
        // x[-1, 4:0:-1]
        (
            &[-1, 4],
            &[0, 0],
            &[1, -1],
            SliceMasks {
                shrink_axis: 1,
                ..Default::default()
            },
        ),
        // x[::-1, 1:-1]
        (
            &[0, 1],
            &[0, -1],
            &[-1, 1],
            SliceMasks {
                begin: 1,
                end: 1,
                ..Default::default()
            },
        ),
        // x[tf.newaxis, ..., 0]
        (
            &[0, 0, 0],
            &[0, 0, 1],
            &[1, 1, 1],
            SliceMasks {
                new_axis: 1,
                ellipsis: 2,
                shrink_axis: 4,
                ..Default::default()
            },
        ),
        // x[-100:100, 3:1] (clamped bounds, an empty range)
        (&[-100, 3], &[100, 1], &[1, 1], SliceMasks::default()),
    ];
    for (b, e, s, m) in specs {
        check(std::slice::from_ref(&x), |_, t| {
            strided_slice(&t[0], b, e, s, m)
        });
    }
}

#[test]
fn pads_tile_reverse() {
    let x = random_value(&[3, 4], 8);
    for mode in [PadMode::Constant, PadMode::Reflect, PadMode::Symmetric] {
        check(std::slice::from_ref(&x), |_, t| {
            pad(&t[0], &[[2, 1], [3, 2]], mode, 0.5)
        });
    }
    check(std::slice::from_ref(&x), |_, t| tile(&t[0], &[2, 3]));
    check(std::slice::from_ref(&x), |_, t| reverse(&t[0], &[0, -1]));
    check(std::slice::from_ref(&x), |_, t| expand_dims(&t[0], 1));
    check(&[random_value(&[1, 3, 1, 2], 9)], |_, t| {
        squeeze(&t[0], None)
    });
    check(&[random_value(&[1, 3, 1, 2], 9)], |_, t| {
        squeeze(&t[0], Some(&[-2]))
    });
}

#[test]
fn gathers() {
    let p = random_value(&[5, 3], 10);
    let dups = Value::new(&[2, 3], vec![4i32, 0, 4, 1, 4, 2]).unwrap();
    check(&[p.clone(), dups.clone()], |_, t| gather(&t[0], &t[1], 0));
    let cols = Value::new(&[2, 2], vec![2i64, 0, 2, 2]).unwrap();
    check(&[p.clone(), cols], |_, t| gather(&t[0], &t[1], 1));
    let p3 = random_value(&[2, 3, 4], 11);
    let pairs = Value::new(&[3, 2], vec![1i64, 2, 0, 0, 1, 2]).unwrap();
    check(&[p3.clone(), pairs], |_, t| gather_nd(&t[0], &t[1]));
    let firsts = Value::new(&[2, 1], vec![1i32, 1]).unwrap();
    check(&[p3, firsts], |_, t| gather_nd(&t[0], &t[1]));
    let mask = Value::new(&[5], vec![true, false, true, true, false]).unwrap();
    check(&[p, mask], |_, t| boolean_mask(&t[0], &t[1], 0));
}

#[test]
fn select_fill_cumsum() {
    let (x, y) = (random_value(&[3, 4], 12), random_value(&[3, 4], 13));
    let c = Value::new(&[3, 4], (0..12).map(|i| i % 3 == 0).collect::<Vec<_>>()).unwrap();
    let rows = Value::new(&[3], vec![true, false, true]).unwrap();
    check(&[c, x.clone(), y.clone()], |_, t| {
        select(&t[0], &t[1], &t[2])
    });
    check(&[rows, x.clone(), y], |_, t| select(&t[0], &t[1], &t[2]));
    check(&[Value::scalar(0.7f32)], |_, t| fill_tensor(&[2, 3], &t[0]));
    for (exclusive, reverse) in [(false, false), (true, false), (false, true), (true, true)] {
        check(std::slice::from_ref(&x), |_, t| {
            cumsum(&t[0], 1, exclusive, reverse)
        });
        check(std::slice::from_ref(&x), |_, t| {
            cumsum(&t[0], -2, exclusive, reverse)
        });
    }
}

#[test]
fn gradients_of_the_gradient_ops() {
    let x = random_value(&[4, 5], 14);
    let w = |shape: &[usize]| random_value(shape, 15);
    let m = SliceMasks {
        begin: 1,
        ..Default::default()
    };
    check_w(&[x.clone(), w(&[2, 2])], |_, t| {
        grad_of(t, |x| strided_slice(x, &[0, 4], &[3, 0], &[2, -2], m))
    });
    check_w(&[x.clone(), w(&[2, 3])], |_, t| {
        grad_of(t, |x| slice(x, &[1, 1], &[2, 3]))
    });
    check_w(&[x.clone(), w(&[6, 9])], |_, t| {
        grad_of(t, |x| pad(x, &[[1, 1], [2, 2]], PadMode::Reflect, 0.0))
    });
    check_w(&[x.clone(), w(&[8, 5])], |_, t| {
        grad_of(t, |x| tile(x, &[2, 1]))
    });
    let ids = Value::new(&[3], vec![3i32, 0, 3]).unwrap();
    check_w(&[x.clone(), w(&[3, 5]), ids.clone()], |_, t| {
        grad_of(t, |x| gather(x, &t[2], 0))
    });
    check_w(&[x.clone(), w(&[4, 3]), ids], |_, t| {
        grad_of(t, |x| gather(x, &t[2], 1))
    });
    let pairs = Value::new(&[2, 2], vec![3i64, 4, 3, 4]).unwrap();
    check_w(&[x.clone(), w(&[2]), pairs], |_, t| {
        grad_of(t, |x| gather_nd(x, &t[2]))
    });
    check_w(&[x.clone(), w(&[4, 5])], |_, t| {
        grad_of(t, |x| cumsum(x, 1, true, false))
    });
    check_w(&[x.clone(), w(&[4, 7])], |g, t| {
        grad_of(t, |x| {
            concat(&[x, &constant(g, random_value(&[4, 2], 16), "")], 1)
        })
    });
    let c = Value::new(&[4], vec![true, false, false, true]).unwrap();
    check_w(&[x, w(&[4, 5]), c], |_, t| {
        grad_of(t, |x| select(&t[2], x, &zeros_like(x)?))
    });
}

#[test]
fn int_and_bool_kernels() {
    let g = Graph::new();
    let i = constant(
        &g,
        Value::new(&[2, 3], vec![1i64, 2, 3, 4, 5, 6]).unwrap(),
        "i",
    );
    let b = constant(
        &g,
        Value::new(&[2, 2], vec![true, false, false, true]).unwrap(),
        "b",
    );
    let s = rustflow_runtime::Session::new(&g);
    let e = |t: &Tensor| s.eval(t, &rustflow_runtime::FeedDict::new()).unwrap();
    let r = e(&concat(&[&i, &i], 1).unwrap());
    assert_eq!(
        r.as_slice::<i64>().unwrap(),
        &[1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6]
    );
    let r = e(&reverse(&b, &[1]).unwrap());
    assert_eq!(r.as_slice::<bool>().unwrap(), &[false, true, true, false]);
    let r = e(&cumsum(&i, 1, false, true).unwrap());
    assert_eq!(r.as_slice::<i64>().unwrap(), &[6, 5, 3, 15, 11, 6]);
    let r = e(&where_indices(&b).unwrap());
    assert_eq!(r.as_slice::<i64>().unwrap(), &[0, 0, 1, 1]);
    assert_eq!(r.dtype(), DType::I64);
}
