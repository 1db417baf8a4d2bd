//! The transform matrices and their factored forms along one tile side, and the filter
//! transform `G g Gᵀ`.
//!
//! A set of `N` interpolation points serves every kernel size `r` with `m = N - r + 1`
//! outputs: the input transform `Bᵀ` depends on the points alone (the six points 0, ±1, ±2
//! and ∞ give F(2, 5) and F(4, 3) the same [`bt6`]), `Aᵀ` takes the first `m` powers of each
//! point (and ∞ the last output), and `G` the first `r` ([`filter_matrix`]).

use super::arith::Lanes;
use super::{OUT, TILE, TILE_L};

/// `A` (8x4), which spreads an output-gradient tile over the points.
pub(super) const A: [[f32; 4]; 8] = [
    [1.0, 0.0, 0.0, 0.0],
    [1.0, 1.0, 1.0, 1.0],
    [1.0, -1.0, 1.0, -1.0],
    [1.0, 2.0, 4.0, 8.0],
    [1.0, -2.0, 4.0, -8.0],
    [1.0, 1.0 / 2.0, 1.0 / 4.0, 1.0 / 8.0],
    [1.0, -1.0 / 2.0, 1.0 / 4.0, -1.0 / 8.0],
    [0.0, 0.0, 0.0, 1.0],
];

/// `A` (6x4) of F(4, 3), the points 0, ±1, ±2 and ∞.
pub(super) const A6: [[f32; 4]; 6] = [
    [1.0, 0.0, 0.0, 0.0],
    [1.0, 1.0, 1.0, 1.0],
    [1.0, -1.0, 1.0, -1.0],
    [1.0, 2.0, 4.0, 8.0],
    [1.0, -2.0, 4.0, -8.0],
    [0.0, 0.0, 0.0, 1.0],
];

/// `G` (8x5), the filter transform.
pub(super) const G: [[f32; 5]; 8] = [
    [1.0 / 4.0, 0.0, 0.0, 0.0, 0.0],
    [1.0 / 18.0, 1.0 / 18.0, 1.0 / 18.0, 1.0 / 18.0, 1.0 / 18.0],
    [1.0 / 18.0, -1.0 / 18.0, 1.0 / 18.0, -1.0 / 18.0, 1.0 / 18.0],
    [1.0 / 360.0, 1.0 / 180.0, 1.0 / 90.0, 1.0 / 45.0, 2.0 / 45.0],
    [
        1.0 / 360.0,
        -1.0 / 180.0,
        1.0 / 90.0,
        -1.0 / 45.0,
        2.0 / 45.0,
    ],
    [16.0 / 45.0, 8.0 / 45.0, 4.0 / 45.0, 2.0 / 45.0, 1.0 / 45.0],
    [
        16.0 / 45.0,
        -8.0 / 45.0,
        4.0 / 45.0,
        -2.0 / 45.0,
        1.0 / 45.0,
    ],
    [0.0, 0.0, 0.0, 0.0, 1.0 / 4.0],
];

/// `G` for the six points 0, ±1, ±2 and ∞ (6x5): a border tile's short side.
pub(super) const G6: [[f32; 5]; 6] = [
    [1.0 / 4.0, 0.0, 0.0, 0.0, 0.0],
    [-1.0 / 6.0, -1.0 / 6.0, -1.0 / 6.0, -1.0 / 6.0, -1.0 / 6.0],
    [-1.0 / 6.0, 1.0 / 6.0, -1.0 / 6.0, 1.0 / 6.0, -1.0 / 6.0],
    [1.0 / 24.0, 1.0 / 12.0, 1.0 / 6.0, 1.0 / 3.0, 2.0 / 3.0],
    [1.0 / 24.0, -1.0 / 12.0, 1.0 / 6.0, -1.0 / 3.0, 2.0 / 3.0],
    [0.0, 0.0, 0.0, 0.0, 1.0],
];

/// `G` (10x5) of F(6, 5), the filter transform for the points 0, ±2, ±1/2, ±3/4, ±5/4 and ∞.
pub(super) const G10: [[f32; 5]; 10] = [
    [1.0 / 900.0, 0.0, 0.0, 0.0, 0.0],
    [
        1.0 / 257400.0,
        1.0 / 128700.0,
        1.0 / 64350.0,
        1.0 / 32175.0,
        2.0 / 32175.0,
    ],
    [
        1.0 / 257400.0,
        -1.0 / 128700.0,
        1.0 / 64350.0,
        -1.0 / 32175.0,
        2.0 / 32175.0,
    ],
    [
        -4.0 / 1575.0,
        -2.0 / 1575.0,
        -1.0 / 1575.0,
        -1.0 / 3150.0,
        -1.0 / 6300.0,
    ],
    [
        -4.0 / 1575.0,
        2.0 / 1575.0,
        -1.0 / 1575.0,
        1.0 / 3150.0,
        -1.0 / 6300.0,
    ],
    [
        8.0 / 2475.0,
        2.0 / 825.0,
        1.0 / 550.0,
        3.0 / 2200.0,
        9.0 / 8800.0,
    ],
    [
        8.0 / 2475.0,
        -2.0 / 825.0,
        1.0 / 550.0,
        -3.0 / 2200.0,
        9.0 / 8800.0,
    ],
    [
        -8.0 / 20475.0,
        -2.0 / 4095.0,
        -1.0 / 1638.0,
        -5.0 / 6552.0,
        -25.0 / 26208.0,
    ],
    [
        -8.0 / 20475.0,
        2.0 / 4095.0,
        -1.0 / 1638.0,
        5.0 / 6552.0,
        -25.0 / 26208.0,
    ],
    [0.0, 0.0, 0.0, 0.0, 1.0 / 1024.0],
];

/// The input transform `Bᵀ x` of eight vectors (the matrix is in the tests), factored: rows
/// 1 and 2, 3 and 4, 5 and 6 are the sum and difference of shared even and odd terms, which
/// takes 32 operations instead of the matrix's 44.
#[inline(always)]
pub(super) fn bt<V: Lanes>([x0, x1, x2, x3, x4, x5, x6, x7]: [V; 8]) -> [V; 8] {
    let r0 = x4.sub(x2).mul_add(21.0, x0.sub(x6).mul(4.0));
    let r7 = x3.sub(x5).mul_add(21.0, x7.sub(x1).mul(4.0));
    let e12 = x4.mul_add(17.0, x2.add(x6).mul(-4.0));
    let o12 = x3.mul_add(17.0, x1.add(x5).mul(-4.0));
    let e34 = x4.mul_add(-5.0, x6.mul_add(4.0, x2));
    let o34 = x5.mul_add(8.0, x3.mul_add(-10.0, x1.mul(2.0)));
    let e56 = x6.mul_add(2.0, x4.mul_add(-10.0, x2.mul(8.0)));
    let o56 = x3.mul_add(-5.0, x1.mul_add(4.0, x5));
    [
        r0,
        e12.add(o12),
        e12.sub(o12),
        e34.add(o34),
        e34.sub(o34),
        e56.add(o56),
        e56.sub(o56),
        r7,
    ]
}

/// The output transform `Aᵀ x` of eight vectors (the matrix is in the tests), factored over
/// the sums and differences of the points ±1, ±2 and ±1/2: 16 operations instead of 29.
#[inline(always)]
pub(super) fn at<V: Lanes>([x0, x1, x2, x3, x4, x5, x6, x7]: [V; 8]) -> [V; 4] {
    let (s12, d12) = (x1.add(x2), x1.sub(x2));
    let (s34, d34) = (x3.add(x4), x3.sub(x4));
    let (s56, d56) = (x5.add(x6), x5.sub(x6));
    [
        x0.add(s12).add(s34).add(s56),
        d56.mul_add(0.5, d34.mul_add(2.0, d12)),
        s56.mul_add(0.25, s34.mul_add(4.0, s12)),
        d56.mul_add(0.125, d34.mul_add(8.0, d12)).add(x7),
    ]
}

/// `Bᵀ x` of six vectors for F(2, 5) and F(4, 3) (the matrix is in the tests): 14 operations.
#[inline(always)]
pub(super) fn bt6<V: Lanes>([x0, x1, x2, x3, x4, x5]: [V; 6]) -> [V; 6] {
    let (e1, o1) = (x2.mul_add(-4.0, x4), x1.mul_add(-4.0, x3));
    let (e3, o3) = (x4.sub(x2), x3.sub(x1).mul(2.0));
    [
        x2.mul_add(-5.0, x0.mul_add(4.0, x4)),
        e1.add(o1),
        e1.sub(o1),
        e3.add(o3),
        e3.sub(o3),
        x3.mul_add(-5.0, x1.mul_add(4.0, x5)),
    ]
}

/// `Aᵀ x` of six vectors for F(2, 5) (the matrix is in the tests).
#[inline(always)]
pub(super) fn at6<V: Lanes>([x0, x1, x2, x3, x4, x5]: [V; 6]) -> [V; 2] {
    [
        x0.add(x1).add(x2).add(x3).add(x4),
        x3.sub(x4).mul_add(2.0, x1.sub(x2)).add(x5),
    ]
}

/// `Aᵀ x` of six vectors for F(4, 3) (the matrix is in the tests), factored like [`at`]:
/// 12 operations instead of 19.
#[inline(always)]
pub(super) fn at6x4<V: Lanes>([x0, x1, x2, x3, x4, x5]: [V; 6]) -> [V; 4] {
    let (s12, d12) = (x1.add(x2), x1.sub(x2));
    let (s34, d34) = (x3.add(x4), x3.sub(x4));
    [
        x0.add(s12).add(s34),
        d34.mul_add(2.0, d12),
        s34.mul_add(4.0, s12),
        d34.mul_add(8.0, d12).add(x5),
    ]
}

/// `Bᵀ x` of ten vectors for F(6, 5) (the matrix is in the tests), factored like [`bt`]:
/// 50 operations instead of the matrix's 74.
#[inline(always)]
#[rustfmt::skip]
pub(super) fn bt10<V: Lanes>([x0, x1, x2, x3, x4, x5, x6, x7, x8, x9]: [V; 10]) -> [V; 10] {
    let r0 = x8.mul_add(1024.0, x6.mul_add(-6528.0, x4.mul_add(11172.0, x2.mul_add(-6001.0, x0.mul(900.0)))));
    let r9 = x9.mul_add(1024.0, x7.mul_add(-6528.0, x5.mul_add(11172.0, x3.mul_add(-6001.0, x1.mul(900.0)))));
    let e0 = x8.mul_add(1024.0, x6.mul_add(-2432.0, x4.mul_add(1444.0, x2.mul(-225.0))));
    let o0 = x7.mul_add(2048.0, x5.mul_add(-4864.0, x3.mul_add(2888.0, x1.mul(-450.0))));
    let e1 = x8.mul_add(512.0, x6.mul_add(-3136.0, x4.mul_add(4802.0, x2.mul(-1800.0))));
    let o1 = x7.mul_add(256.0, x5.mul_add(-1568.0, x3.mul_add(2401.0, x1.mul(-900.0))));
    let e2 = x8.mul_add(256.0, x6.mul_add(-1488.0, x4.mul_add(1956.0, x2.mul(-400.0))));
    let o2 = x7.mul_add(192.0, x5.mul_add(-1116.0, x3.mul_add(1467.0, x1.mul(-300.0))));
    let e3 = x8.mul_add(256.0, x6.mul_add(-1232.0, x4.mul_add(868.0, x2.mul(-144.0))));
    let o3 = x7.mul_add(320.0, x5.mul_add(-1540.0, x3.mul_add(1085.0, x1.mul(-180.0))));
    [r0, e0.add(o0), e0.sub(o0), e1.add(o1), e1.sub(o1), e2.add(o2), e2.sub(o2), e3.add(o3), e3.sub(o3), r9]
}

/// `Aᵀ x` of ten vectors for F(6, 5) (the matrix is in the tests), factored like [`at`].
#[inline(always)]
pub(super) fn at10<V: Lanes>([x0, x1, x2, x3, x4, x5, x6, x7, x8, x9]: [V; 10]) -> [V; 6] {
    let (s0, d0) = (x1.add(x2), x1.sub(x2));
    let (s1, d1) = (x3.add(x4), x3.sub(x4));
    let (s2, d2) = (x5.add(x6), x5.sub(x6));
    let (s3, d3) = (x7.add(x8), x7.sub(x8));
    [
        x0.add(s0).add(s1).add(s2).add(s3),
        d3.mul_add(
            5.0 / 4.0,
            d2.mul_add(3.0 / 4.0, d1.mul_add(1.0 / 2.0, d0.mul(2.0))),
        ),
        s3.mul_add(
            25.0 / 16.0,
            s2.mul_add(9.0 / 16.0, s1.mul_add(1.0 / 4.0, s0.mul(4.0))),
        ),
        d3.mul_add(
            125.0 / 64.0,
            d2.mul_add(27.0 / 64.0, d1.mul_add(1.0 / 8.0, d0.mul(8.0))),
        ),
        s3.mul_add(
            625.0 / 256.0,
            s2.mul_add(81.0 / 256.0, s1.mul_add(1.0 / 16.0, s0.mul(16.0))),
        ),
        d3.mul_add(
            3125.0 / 1024.0,
            d2.mul_add(243.0 / 1024.0, d1.mul_add(1.0 / 32.0, d0.mul_add(32.0, x9))),
        ),
    ]
}

/// The same array under its other name, for code generic over a tile side of `TILE_L`,
/// `TILE` or `TILE_S` inputs (the lengths must be equal: checked when compiled, then free).
#[inline(always)]
pub(super) fn same<V: Copy, const A: usize, const B: usize>(x: [V; A]) -> [V; B] {
    assert!(A == B, "arrays of different lengths");
    array(|i| x[i])
}

/// `[f(0), f(1), …, f(N - 1)]` for `N ≥ 1`, always inlined: `std::array::from_fn` leaves its
/// calls out of line in some of the transforms, and these loops are hot.
#[inline(always)]
pub(super) fn array<V: Copy, const N: usize>(mut f: impl FnMut(usize) -> V) -> [V; N] {
    let mut a = [f(0); N];
    for (i, v) in a.iter_mut().enumerate().skip(1) {
        *v = f(i);
    }
    a
}

/// `Bᵀ x` along a tile side of `N` (10, 8 or 6) inputs.
#[inline(always)]
pub(super) fn bt_side<V: Lanes, const N: usize>(x: [V; N]) -> [V; N] {
    match N {
        TILE_L => same(bt10(same(x))),
        TILE => same(bt(same(x))),
        _ => same(bt6(same(x))),
    }
}

/// `Aᵀ x` along a tile side of `N` (10, 8 or 6) inputs: its `O` outputs (`N - r + 1` for a
/// kernel of size `r`).
#[inline(always)]
pub(super) fn at_side<V: Lanes, const N: usize, const O: usize>(x: [V; N]) -> [V; O] {
    match (N, O) {
        (TILE_L, _) => same(at10(same(x))),
        (TILE, _) => same(at(same(x))),
        (_, OUT) => same(at6x4(same(x))),
        _ => same(at6(same(x))),
    }
}

/// `G` of the `N` (10, 8 or 6) points for a kernel of size `r` (at most 5) in its first `r`
/// columns: a finite point's row holds its first `r` powers (scaled as in the 5-column
/// matrices), the point ∞'s (the last row) takes the kernel's last tap.
pub(super) fn filter_matrix<const N: usize>(r: usize) -> [[f32; 5]; N] {
    let g: [[f32; 5]; N] = match N {
        TILE_L => same(G10),
        TILE => same(G),
        _ => same(G6),
    };
    array(|i| {
        let mut row = [0.0; 5];
        if i + 1 < N {
            row[..r].copy_from_slice(&g[i][..r]);
        } else {
            row[r - 1] = g[i][4];
        }
        row
    })
}

/// `U[p] = (Gh g Gwᵀ)[p]` for each of the `len = ci * co` filters of the `r x r` HWIO `f`,
/// `p` over the `TH x TW` points (`gh` has `TH` rows, `gw` `TW`, each `r` columns used:
/// [`filter_matrix`]).
pub(super) fn filter_transform<const TH: usize, const TW: usize>(
    f: &[f32],
    len: usize,
    r: usize,
    gh: &[[f32; 5]; TH],
    gw: &[[f32; 5]; TW],
) -> Vec<f32> {
    // tmp[xi][b] = Σ_a Gh[xi][a] f[a][b]
    let mut tmp = vec![0f32; TH * r * len];
    for (xi, grow) in gh.iter().enumerate() {
        for b in 0..r {
            let dst = &mut tmp[(xi * r + b) * len..(xi * r + b + 1) * len];
            for (a, &g) in grow[..r].iter().enumerate() {
                if g != 0.0 {
                    let src = &f[(a * r + b) * len..(a * r + b + 1) * len];
                    dst.iter_mut().zip(src).for_each(|(d, &s)| *d += g * s);
                }
            }
        }
    }
    // U[xi][nu] = Σ_b tmp[xi][b] Gw[nu][b]
    let mut u = vec![0f32; TH * TW * len];
    for xi in 0..TH {
        for (nu, grow) in gw.iter().enumerate() {
            let dst = &mut u[(xi * TW + nu) * len..(xi * TW + nu + 1) * len];
            for (b, &g) in grow[..r].iter().enumerate() {
                if g != 0.0 {
                    let src = &tmp[(xi * r + b) * len..(xi * r + b + 1) * len];
                    dst.iter_mut().zip(src).for_each(|(d, &s)| *d += g * s);
                }
            }
        }
    }
    u
}
