//! The gradient of max pooling's gradient: each window picks the upstream value at its
//! first maximum.

use crate::kernels::pool::{for_each_window, PoolProblem};

/// `y[window] = g[first maximal input of the window]` per channel, with the tie rule of max
/// pooling's gradient (row-major, the first maximum wins): `g` is shaped like the input `x`,
/// `y` like the pooled output (overwritten).
pub(super) fn max_pool_grad_grad(p: &PoolProblem, x: &[f32], g: &[f32], y: &mut [f32]) {
    let (win, c) = (&p.win, p.win.c);
    let out_len = win.oh * win.ow * c;
    p.par_images(y, out_len, |i0, yc| {
        let nb = yc.len() / out_len;
        let mut best = vec![0f32; c];
        for_each_window(win, i0, nb, |o, taps| {
            let out = &mut yc[o..o + c];
            let Some(first) = taps.next() else {
                out.fill(0.0);
                return;
            };
            best.copy_from_slice(&x[first..first + c]);
            out.copy_from_slice(&g[first..first + c]);
            for off in taps {
                for (k, &v) in x[off..off + c].iter().enumerate() {
                    if v > best[k] {
                        best[k] = v;
                        out[k] = g[off + k];
                    }
                }
            }
        });
    });
}
