//! Strided walks over a row-major index space, shared by the kernels that read or write a
//! tensor through strides (transpose, broadcasting, reduction gradients).

/// Calls `f(offsets)` at the start of every row (every index of all dimensions but the last,
/// in row-major order) of the index space `shape`, where `offsets[j]` is the row's offset
/// under `strides[j]` (one stride per dimension). Nothing is called when a dimension is 0;
/// a rank-0 space has one row, at offset 0.
pub(crate) fn for_each_row<const K: usize>(
    shape: &[usize],
    strides: [&[usize]; K],
    mut f: impl FnMut([usize; K]),
) {
    if shape.contains(&0) {
        return;
    }
    let rank = shape.len();
    let mut idx = vec![0usize; rank];
    let mut off = [0usize; K];
    loop {
        f(off);
        let mut d = rank.saturating_sub(1);
        loop {
            if d == 0 {
                return;
            }
            d -= 1;
            idx[d] += 1;
            for (o, s) in off.iter_mut().zip(&strides) {
                *o += s[d];
            }
            if idx[d] < shape[d] {
                break;
            }
            for (o, s) in off.iter_mut().zip(&strides) {
                *o -= s[d] * shape[d];
            }
            idx[d] = 0;
        }
    }
}

/// Calls `f(i, offset)` for every element `i` (row-major) of the index space `shape`, with
/// `offset` its offset under `strides` (one per dimension).
pub(crate) fn for_each_offset(shape: &[usize], strides: &[usize], mut f: impl FnMut(usize, usize)) {
    let (Some(&last), Some(&ls)) = (shape.last(), strides.last()) else {
        f(0, 0);
        return;
    };
    let mut i = 0;
    for_each_row(shape, [strides], |[off]| {
        for k in 0..last {
            f(i, off + k * ls);
            i += 1;
        }
    });
}
