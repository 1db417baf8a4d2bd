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
    let c = win.c;
    // rot[t, u, k, ci] = f[4 - t, 4 - u, ci, k]
    let mut rot = vec![0f32; 25 * c * co];
    for tap in 0..25 {
        let src = &f[(24 - tap) * c * co..(25 - tap) * c * co];
        let dst = &mut rot[tap * c * co..(tap + 1) * c * co];
        for ci in 0..c {
            for k in 0..co {
                dst[k * c + ci] = src[ci * co + k];
            }
        }
    }
    let u = Filters::new(&rot, c * co, border_tiles(win.n));
    let geo = Geometry {
        hi: win.oh,
        wi: win.ow,
        ci: co,
        ho: win.h,
        wo: win.w,
        co: c,
        pt: 4 - win.pad_top as isize,
        pl: 4 - win.pad_left as isize,
    };
    correlate_fastest(&geo, dy, &u, dx);
}
