//! The input gradient: a forward correlation of the output gradient.

use super::forward::{border_tiles, correlate_fastest, Filters};
use super::tiles::Geometry;
use crate::kernels::window::Window;

/// The input gradient of the convolution, as
/// [`crate::kernels::conv::conv2d_backprop_input`] defines it: the correlation of `dy` with
/// the filter rotated by 180 degrees and with its channel axes swapped.
pub(crate) fn conv2d_backprop_input(
    dy: &[f32],
    f: &[f32],
    win: &Window,
    co: usize,
    dx: &mut [f32],
) {
    let (c, r) = (win.c, win.kh);
    let taps = r * r;
    // rot[t, u, k, ci] = f[r - 1 - t, r - 1 - u, ci, k]
    let mut rot = vec![0f32; taps * c * co];
    for tap in 0..taps {
        let src = &f[(taps - 1 - tap) * c * co..(taps - tap) * c * co];
        let dst = &mut rot[tap * c * co..(tap + 1) * c * co];
        for ci in 0..c {
            for k in 0..co {
                dst[k * c + ci] = src[ci * co + k];
            }
        }
    }
    let u = Filters::new(&rot, c * co, r, border_tiles(win.n, r));
    let geo = Geometry {
        hi: win.oh,
        wi: win.ow,
        ci: co,
        ho: win.h,
        wo: win.w,
        co: c,
        pt: (r - 1) as isize - win.pad_top as isize,
        pl: (r - 1) as isize - win.pad_left as isize,
        r,
    };
    correlate_fastest(&geo, dy, &u, dx);
}
