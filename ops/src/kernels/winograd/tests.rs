use super::filter_grad::filter_gradient;
use super::forward::{correlate, correlate_fastest, single_images, Filters};
use super::portable::Portable;
use super::tiles::{Geometry, Tiles};
use super::transforms::*;
use super::*;
use crate::kernels::conv::{ConvKernel, ConvProblem, Pass};
use crate::kernels::reference::{close, data, each_product};
use crate::kernels::window::Window;
use crate::nn::padding::Padding;
use rustflow_graph::KernelPolicy;

/// The forward kernel a fast session selects.
fn fast(win: &Window, co: usize) -> ConvKernel {
    let policy = KernelPolicy::Fast;
    ConvProblem {
        win: *win,
        co,
        policy,
    }
    .select(Pass::Forward)
}

/// `Bᵀ` (8x8), the input transform.
const BT: [[f32; 8]; 8] = [
    [4.0, 0.0, -21.0, 0.0, 21.0, 0.0, -4.0, 0.0],
    [0.0, -4.0, -4.0, 17.0, 17.0, -4.0, -4.0, 0.0],
    [0.0, 4.0, -4.0, -17.0, 17.0, 4.0, -4.0, 0.0],
    [0.0, 2.0, 1.0, -10.0, -5.0, 8.0, 4.0, 0.0],
    [0.0, -2.0, 1.0, 10.0, -5.0, -8.0, 4.0, 0.0],
    [0.0, 4.0, 8.0, -5.0, -10.0, 1.0, 2.0, 0.0],
    [0.0, -4.0, 8.0, 5.0, -10.0, -1.0, 2.0, 0.0],
    [0.0, -4.0, 0.0, 21.0, 0.0, -21.0, 0.0, 4.0],
];

/// `Aᵀ` (4x8), the output transform.
const AT: [[f32; 8]; 4] = [
    [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0],
    [0.0, 1.0, -1.0, 2.0, -2.0, 1.0 / 2.0, -1.0 / 2.0, 0.0],
    [0.0, 1.0, 1.0, 4.0, 4.0, 1.0 / 4.0, 1.0 / 4.0, 0.0],
    [0.0, 1.0, -1.0, 8.0, -8.0, 1.0 / 8.0, -1.0 / 8.0, 1.0],
];

/// `Bᵀ` (6x6) of F(2, 5).
const BT6: [[f32; 6]; 6] = [
    [4.0, 0.0, -5.0, 0.0, 1.0, 0.0],
    [0.0, -4.0, -4.0, 1.0, 1.0, 0.0],
    [0.0, 4.0, -4.0, -1.0, 1.0, 0.0],
    [0.0, -2.0, -1.0, 2.0, 1.0, 0.0],
    [0.0, 2.0, -1.0, -2.0, 1.0, 0.0],
    [0.0, 4.0, 0.0, -5.0, 0.0, 1.0],
];

/// `Aᵀ` (2x6) of F(2, 5).
const AT6: [[f32; 6]; 2] = [
    [1.0, 1.0, 1.0, 1.0, 1.0, 0.0],
    [0.0, 1.0, -1.0, 2.0, -2.0, 1.0],
];

/// `Bᵀ` (10x10) of F(6, 5).
#[rustfmt::skip]
const BT10: [[f32; 10]; 10] = [
    [900.0, 0.0, -6001.0, 0.0, 11172.0, 0.0, -6528.0, 0.0, 1024.0, 0.0],
    [0.0, -450.0, -225.0, 2888.0, 1444.0, -4864.0, -2432.0, 2048.0, 1024.0, 0.0],
    [0.0, 450.0, -225.0, -2888.0, 1444.0, 4864.0, -2432.0, -2048.0, 1024.0, 0.0],
    [0.0, -900.0, -1800.0, 2401.0, 4802.0, -1568.0, -3136.0, 256.0, 512.0, 0.0],
    [0.0, 900.0, -1800.0, -2401.0, 4802.0, 1568.0, -3136.0, -256.0, 512.0, 0.0],
    [0.0, -300.0, -400.0, 1467.0, 1956.0, -1116.0, -1488.0, 192.0, 256.0, 0.0],
    [0.0, 300.0, -400.0, -1467.0, 1956.0, 1116.0, -1488.0, -192.0, 256.0, 0.0],
    [0.0, -180.0, -144.0, 1085.0, 868.0, -1540.0, -1232.0, 320.0, 256.0, 0.0],
    [0.0, 180.0, -144.0, -1085.0, 868.0, 1540.0, -1232.0, -320.0, 256.0, 0.0],
    [0.0, 900.0, 0.0, -6001.0, 0.0, 11172.0, 0.0, -6528.0, 0.0, 1024.0],
];
/// `Aᵀ` (6x10) of F(6, 5).
#[rustfmt::skip]
const AT10: [[f32; 10]; 6] = [
    [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0],
    [0.0, 2.0, -2.0, 1.0 / 2.0, -1.0 / 2.0, 3.0 / 4.0, -3.0 / 4.0, 5.0 / 4.0, -5.0 / 4.0, 0.0],
    [0.0, 4.0, 4.0, 1.0 / 4.0, 1.0 / 4.0, 9.0 / 16.0, 9.0 / 16.0, 25.0 / 16.0, 25.0 / 16.0, 0.0],
    [0.0, 8.0, -8.0, 1.0 / 8.0, -1.0 / 8.0, 27.0 / 64.0, -27.0 / 64.0, 125.0 / 64.0, -125.0 / 64.0, 0.0],
    [0.0, 16.0, 16.0, 1.0 / 16.0, 1.0 / 16.0, 81.0 / 256.0, 81.0 / 256.0, 625.0 / 256.0, 625.0 / 256.0, 0.0],
    [0.0, 32.0, -32.0, 1.0 / 32.0, -1.0 / 32.0, 243.0 / 1024.0, -243.0 / 1024.0, 3125.0 / 1024.0, -3125.0 / 1024.0, 1.0],
];

/// `Aᵀ` (4x6) of F(4, 3).
const AT6X4: [[f32; 6]; 4] = [
    [1.0, 1.0, 1.0, 1.0, 1.0, 0.0],
    [0.0, 1.0, -1.0, 2.0, -2.0, 0.0],
    [0.0, 1.0, 1.0, 4.0, 4.0, 0.0],
    [0.0, 1.0, -1.0, 8.0, -8.0, 1.0],
];

/// `G` (6x3) of F(4, 3) as Lavin & Gray give it.
const G6X3: [[f32; 3]; 6] = [
    [1.0 / 4.0, 0.0, 0.0],
    [-1.0 / 6.0, -1.0 / 6.0, -1.0 / 6.0],
    [-1.0 / 6.0, 1.0 / 6.0, -1.0 / 6.0],
    [1.0 / 24.0, 1.0 / 12.0, 1.0 / 6.0],
    [1.0 / 24.0, -1.0 / 12.0, 1.0 / 6.0],
    [0.0, 0.0, 1.0],
];

/// `m · s` over vectors of 16 lanes, in f64.
fn times<const N: usize>(m: &[[f32; N]], s: &[[f32; 16]; N]) -> Vec<f64> {
    m.iter()
        .flat_map(|row| (0..16).map(move |c| (0..N).map(|i| row[i] as f64 * s[i][c] as f64).sum()))
        .collect()
}

/// The factored transforms compute the matrices' products.
#[test]
fn factored_transforms_equal_the_matrices() {
    let x = data(8 * 16, 4);
    let s: [[f32; 16]; 8] = std::array::from_fn(|i| x[i * 16..(i + 1) * 16].try_into().unwrap());
    close(bt(s).as_flattened(), &times(&BT, &s), "Bᵀ");
    close(at(s).as_flattened(), &times(&AT, &s), "Aᵀ");
    let s6: [[f32; 16]; 6] = std::array::from_fn(|i| s[i]);
    close(bt6(s6).as_flattened(), &times(&BT6, &s6), "Bᵀ (6)");
    close(at6(s6).as_flattened(), &times(&AT6, &s6), "Aᵀ (6)");
    close(at6x4(s6).as_flattened(), &times(&AT6X4, &s6), "Aᵀ (6x4)");
    let x = data(10 * 16, 5);
    let s10: [[f32; 16]; 10] = std::array::from_fn(|i| x[i * 16..(i + 1) * 16].try_into().unwrap());
    close(bt10(s10).as_flattened(), &times(&BT10, &s10), "Bᵀ (10)");
    close(at10(s10).as_flattened(), &times(&AT10, &s10), "Aᵀ (10)");
}

/// `G` and `A` derived for a kernel size are the matrices of that size: for 5x5 the
/// 5-column ones unchanged, for 3x3 Lavin & Gray's F(4, 3).
#[test]
fn matrices_derived_for_a_kernel_size() {
    assert_eq!(filter_matrix::<TILE>(5), G);
    assert_eq!(filter_matrix::<TILE_S>(5), G6);
    assert_eq!(filter_matrix::<TILE_L>(5), G10);
    let g3 = filter_matrix::<TILE3>(3);
    for (row, want) in g3.iter().zip(&G6X3) {
        assert_eq!(row[..3], want[..]);
        assert_eq!(row[3..], [0.0; 2]);
    }
    for (j, row) in A6.iter().enumerate() {
        for (i, &a) in row.iter().enumerate() {
            assert_eq!(a, AT6X4[i][j]);
        }
    }
}

/// A deterministic stream of numbers for drawing shapes (a 64-bit LCG).
struct Draw(u64);

impl Draw {
    /// A number in `0..n`.
    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) as usize % n
    }
}

/// The largest error of F(4x4, r x r) allowed by
/// [`random_shapes_stay_within_a_bound_of_the_products`], for r = 3 and 5, relative to a
/// result's sum of its products' magnitudes plus the mean of those sums over the tensor (the
/// transforms mix neighbouring results: a filter tap that meets no input still gets its
/// neighbours' rounding). Measured there: 3.4e-6 (3x3), 5.7e-5 (5x5, the worst a
/// one-row image's filter gradient).
const REL_BOUND: [(usize, f64); 2] = [(3, 1e-5), (5, 2e-4)];

/// On shapes drawn at random (odd sizes, SAME and VALID padding, one channel and many),
/// F(4x4, 3x3) and F(4x4, 5x5), forward and both gradients, with the fastest and the
/// portable arithmetic, are within [`REL_BOUND`] of the definition (in f64).
#[test]
fn random_shapes_stay_within_a_bound_of_the_products() {
    let mut draw = Draw(20);
    let mut worst = [0f64; 2];
    for case in 0..32 {
        let (k, (r, bound)) = (case % 2, REL_BOUND[case % 2]);
        let pad = [Padding::Same, Padding::Valid][draw.below(2)];
        let n = 1 + draw.below(3);
        let side = |d: &mut Draw| match pad {
            Padding::Same => 1 + d.below(19),
            Padding::Valid => r + d.below(17),
        };
        let (h, w) = (side(&mut draw), side(&mut draw));
        let chans = |d: &mut Draw| [1, 1 + d.below(8), 8 + d.below(60)][d.below(3)];
        let (c, co) = (chans(&mut draw), chans(&mut draw));
        let win = Window::new(&[n, h, w, c], (r, r), (1, 1), pad).unwrap();
        let x = data(n * h * w * c, 1 + case as u32);
        let f = data(r * r * c * co, 2);
        let out_len = n * win.oh * win.ow * co;
        let dy = data(out_len, 3);
        // Each result and the sum of its products' magnitudes.
        let (mut y_want, mut dx_want, mut df_want) = (
            vec![(0f64, 0f64); out_len],
            vec![(0f64, 0f64); x.len()],
            vec![(0f64, 0f64); f.len()],
        );
        let add = |acc: &mut (f64, f64), a: f32, b: f32| {
            let p = a as f64 * b as f64;
            *acc = (acc.0 + p, acc.1 + p.abs());
        };
        each_product(&win, co, |o, i, t| {
            add(&mut y_want[o], x[i], f[t]);
            add(&mut dx_want[i], dy[o], f[t]);
            add(&mut df_want[t], x[i], dy[o]);
        });
        let what = format!("{r}x{r}, {n}x{h}x{w}x{c} -> {co} {pad:?}");
        let mut check = |got: &[f32], want: &[(f64, f64)], name: &str| {
            let mean = want.iter().map(|w| w.1).sum::<f64>() / want.len().max(1) as f64;
            for (i, (&g, &(w, size))) in got.iter().zip(want).enumerate() {
                let err = (g as f64 - w).abs();
                let scale = size + mean;
                assert!(
                    err <= bound * scale,
                    "{what}: {name}[{i}] {g} vs {w} (scale {scale})"
                );
                worst[k] = worst[k].max(err / scale);
            }
        };
        let geo = Geometry::forward(&win, co);
        let mut y = vec![f32::NAN; out_len];
        Forward::new(&f, &win, co).run(&x, &mut y);
        check(&y, &y_want, "y");
        correlate(
            Portable,
            &geo,
            &x,
            &Filters::new(&f, c * co, r, false),
            &mut y,
        );
        check(&y, &y_want, "portable y");
        let mut dx = vec![f32::NAN; x.len()];
        conv2d_backprop_input(&dy, &f, &win, co, &mut dx);
        check(&dx, &dx_want, "dx");
        let mut df = vec![f32::NAN; f.len()];
        conv2d_backprop_filter(&x, &dy, &win, co, &mut df);
        check(&df, &df_want, "df");
        filter_gradient(Portable, &geo, n, &x, &dy, &mut df);
        check(&df, &df_want, "portable df");
    }
    println!(
        "largest error / sum of |products|: 3x3 {:.2e}, 5x5 {:.2e}",
        worst[0], worst[1]
    );
}

/// The tiles of the forward correlation cover each output pixel once: 4x4 tiles alone, or
/// 6x6 ones with 6x2 and 2x6 tiles where 6x6 ones would waste more than four rows or
/// columns.
#[test]
fn tiles_cover_the_output_once() {
    for ho in 1..14 {
        for wo in 1..14 {
            let geo = Geometry {
                hi: ho,
                wi: wo,
                ci: 1,
                ho,
                wo,
                co: 1,
                pt: 2,
                pl: 2,
                r: 5,
            };
            let uniform = [(geo.tiles::<TILE, TILE>(false), 4, 4)];
            let border = [
                (geo.tiles::<TILE_L, TILE_L>(true), 6, 6),
                (geo.tiles::<TILE_L, TILE_S>(true), 6, 2),
                (geo.tiles::<TILE_S, TILE_L>(true), 2, 6),
                (geo.tiles::<TILE, TILE>(true), 4, 4),
            ];
            let covers = |kinds: &[(Tiles, usize, usize)]| {
                let mut seen = vec![0; ho * wo];
                let mut points = 0;
                for (grid, th, tw) in kinds {
                    for t in 0..grid.per_image() {
                        let c = grid.locate(t);
                        assert_eq!(c.img, 0);
                        for oy in c.oy..(c.oy + th).min(ho) {
                            for ox in c.ox..(c.ox + tw).min(wo) {
                                seen[oy * wo + ox] += 1;
                            }
                        }
                        points += (th + 4) * (tw + 4);
                    }
                }
                assert!(seen.iter().all(|&s| s == 1), "{ho}x{wo}: {seen:?}");
                points
            };
            let (four, six) = (covers(&uniform), covers(&border));
            assert_eq!(four, 64 * ho.div_ceil(4) * wo.div_ceil(4));
            // Large tiles cost more only where a side is 3 or 4 outputs long, or by their
            // 6x10 corner tile.
            if ![3, 4].contains(&ho) && ![3, 4].contains(&wo) {
                assert!(10 * six <= 11 * four, "{ho}x{wo}: {six} vs {four}");
            }
            if (ho, wo) == (14, 14) {
                assert_eq!((four, six), (1024, 700));
            }
        }
    }
}

#[test]
fn single_channel_forward_matches_the_definition() {
    for &(n, h, w, co, pad) in &[
        (3, 28, 28, 32, Padding::Same),
        (2, 7, 9, 16, Padding::Same),
        (1, 6, 5, 20, Padding::Valid),
        (17, 1, 2, 16, Padding::Same),
    ] {
        let win = Window::new(&[n, h, w, 1], (5, 5), (1, 1), pad).unwrap();
        assert_eq!(fast(&win, co), ConvKernel::WinogradSingle);
        let x = data(n * h * w, 1);
        let f = data(25 * co, 2);
        let out_len = n * win.oh * win.ow * co;
        let mut want = vec![0f64; out_len];
        each_product(&win, co, |o, i, t| want[o] += x[i] as f64 * f[t] as f64);
        let u = filter_transform(&f, co, 5, &G, &G);
        let mut y = vec![f32::NAN; out_len];
        Single::new(&f, &win, co).run(&x, &mut y);
        close(&y, &want, &format!("{n}x{h}x{w} -> {co}"));
        let mut y2 = vec![f32::NAN; out_len];
        single_images::<[f32; 16]>(&win, co, &x, &u, &mut y2);
        close(&y2, &want, &format!("portable {n}x{h}x{w} -> {co}"));
    }
}

#[test]
fn forward_and_both_gradients_match_the_definition() {
    for &(n, h, w, c, co, pad) in &[
        (2, 14, 14, 32, 64, Padding::Same),
        (3, 7, 9, 8, 19, Padding::Same),
        (1, 11, 6, 9, 70, Padding::Valid),
        (2, 5, 5, 17, 8, Padding::Valid),
        (1, 1, 3, 8, 8, Padding::Same),
        (2, 10, 6, 8, 16, Padding::Same),
        (40, 13, 5, 8, 8, Padding::Same),
    ] {
        let win = Window::new(&[n, h, w, c], (5, 5), (1, 1), pad).unwrap();
        let x = data(n * h * w * c, 1);
        let f = data(25 * c * co, 2);
        let out_len = n * win.oh * win.ow * co;
        let dy = data(out_len, 3);
        // y[o] = Σ x[i] f[t]; dx[i] = Σ dy[o] f[t]; df[t] = Σ x[i] dy[o], over the products.
        let mut y_want = vec![0f64; out_len];
        let mut y_size = vec![0f64; out_len];
        let mut dx_want = vec![0f64; x.len()];
        let mut df_want = vec![0f64; f.len()];
        each_product(&win, co, |o, i, t| {
            y_want[o] += x[i] as f64 * f[t] as f64;
            y_size[o] += (x[i] as f64 * f[t] as f64).abs();
            dx_want[i] += dy[o] as f64 * f[t] as f64;
            df_want[t] += x[i] as f64 * dy[o] as f64;
        });

        let mut y = vec![f32::NAN; out_len];
        Forward::new(&f, &win, co).run(&x, &mut y);
        close(&y, &y_want, "y");
        let mut dx = vec![f32::NAN; x.len()];
        conv2d_backprop_input(&dy, &f, &win, co, &mut dx);
        close(&dx, &dx_want, "dx");
        let mut df = vec![f32::NAN; f.len()];
        conv2d_backprop_filter(&x, &dy, &win, co, &mut df);
        close(&df, &df_want, "df");

        // With border tiles or without (these batches are too small to choose them),
        // and with the portable arithmetic too, whatever this CPU has.
        let geo = Geometry::forward(&win, co);
        for border in [false, true] {
            let u = Filters::new(&f, c * co, 5, border);
            let mut y2 = vec![f32::NAN; out_len];
            correlate(Portable, &geo, &x, &u, &mut y2);
            let mut y3 = vec![f32::NAN; out_len];
            correlate_fastest(&geo, &x, &u, &mut y3);
            for (y, how) in [(&y2, "portable"), (&y3, "fastest")] {
                let what = format!("{how} y, border tiles {border}");
                if border {
                    // F(6x6, 5x5) rounds about six times as coarsely as F(4x4, 5x5)
                    // (at most 2.5e-5 of the products' magnitudes in these cases).
                    for (i, ((&g, &w), &size)) in y.iter().zip(&y_want).zip(&y_size).enumerate() {
                        assert!(
                            (g as f64 - w).abs() <= 1e-4 * size,
                            "{what}[{i}]: {g} vs {w}"
                        );
                    }
                } else {
                    close(y, &y_want, &what);
                }
            }
        }
        let mut df2 = vec![f32::NAN; f.len()];
        filter_gradient(Portable, &geo, n, &x, &dy, &mut df2);
        close(&df2, &df_want, "portable df");
    }
}
