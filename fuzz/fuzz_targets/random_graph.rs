//! Builds random op sequences with random shapes from the fuzzer's bytes, then runs them
//! and their gradients: every failure must be an `Err`, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rustflow::nn::{self, Padding};
use rustflow::prelude::*;

struct Bytes<'a>(&'a [u8]);
impl Bytes<'_> {
    fn next(&mut self) -> u8 {
        let (b, rest) = self.0.split_first().map(|(b, r)| (*b, r)).unwrap_or((0, &[]));
        self.0 = rest;
        b
    }
    fn dim(&mut self) -> usize {
        (self.next() % 5) as usize
    }
    /// A shape; one of rank 1 or 2 may have a large dim (2^20): outer products and
    /// broadcasts of two of them ask for terabytes, which must be a `ResourceExhausted`
    /// error, not an abort.
    fn shape(&mut self) -> Vec<usize> {
        let rank = self.next() % 5;
        let large = if rank <= 2 { self.next() as usize % 8 } else { 8 };
        (0..rank as usize).map(|i| if i == large { 1 << 20 } else { self.dim() }).collect()
    }
}

fuzz_target!(|data: &[u8]| {
    let mut b = Bytes(data);
    let g = Graph::new();
    let mut pool: Vec<(Tensor, Value)> = vec![];
    let mut feeds = FeedDict::new();
    for _ in 0..(b.next() % 3 + 1) {
        let shape = b.shape();
        let n: usize = shape.iter().product();
        let v = Value::new(&shape, (0..n).map(|i| (i as f32 * 0.37).sin() * 3.0).collect()).unwrap();
        // Some placeholders have unknown dims, so shape errors surface at run time.
        let declared = if b.next() % 2 == 0 { Shape::known(&shape) } else { Shape::unknown_dims(shape.len()) };
        let x = g.placeholder(F32, declared);
        feeds.insert(&x, v.clone());
        pool.push((x, v));
    }
    let mut tensors: Vec<Tensor> = pool.iter().map(|(t, _)| t.clone()).collect();
    for _ in 0..(b.next() % 6) {
        let pick = |b: &mut Bytes, ts: &Vec<Tensor>| ts[b.next() as usize % ts.len()].clone();
        let (x, y) = (pick(&mut b, &tensors), pick(&mut b, &tensors));
        let k = [1, b.dim(), b.dim(), 1];
        let s = [1, b.dim(), b.dim(), 1];
        let pad = if b.next() % 2 == 0 { Padding::Same } else { Padding::Valid };
        let r = match b.next() % 13 {
            0 => x.add(&y),
            1 => x.mul(&y),
            2 => x.neg(),
            3 => x.matmul(&y),
            4 => x.reduce_sum(Some(b.next() as i64 % 4 - 1)),
            5 => nn::conv2d(&x, &y, s, pad),
            6 => nn::max_pool(&x, k, s, pad),
            7 => nn::avg_pool(&x, k, s, pad),
            8 => nn::bias_add(&x, &y),
            9 => nn::softmax_cross_entropy_with_logits(&x, &y),
            10 => nn::dropout_const(&x, 0.5),
            11 => rustflow::random_normal(&g, &b.shape().repeat(2), 0.0, 1.0, Some(1)),
            _ => rustflow::add_n(&[&x, &y]),
        };
        if let Ok(t) = r {
            tensors.push(t);
        }
    }
    let sess = Session::new(&g);
    for t in &tensors {
        let _ = sess.eval(t, &feeds);
        if t.dtype() == F32 {
            if let Ok(s) = t.reduce_sum(None) {
                let xs: Vec<&Tensor> = pool.iter().map(|(x, _)| x).collect();
                if let Ok(grads) = rustflow::gradients(&[&s], &xs, None) {
                    for d in grads.into_iter().flatten() {
                        let _ = sess.eval(&d, &feeds);
                    }
                }
            }
        }
    }
});
