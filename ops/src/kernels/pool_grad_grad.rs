//! The gradient of max pooling's gradient: each window picks the upstream value at its
//! first maximum.

use crate::kernels::pool::{for_each_window, par_images};
use crate::kernels::window::Window;

/// `y[window] = g[first maximal input of the window]` per channel, with the tie rule of
/// [`crate::kernels::pool::max_pool_grad`] (row-major, the first maximum wins): `g` is shaped
/// like the input `x`, `y` like the pooled output (overwritten).
pub(crate) fn max_pool_grad_grad(x: &[f32], g: &[f32], win: &Window, y: &mut [f32]) {
    let c = win.c;
    let out_len = win.oh * win.ow * c;
    par_images(win, y, out_len, |i0, yc| {
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
