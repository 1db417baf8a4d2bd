//! The instruction set of the kernels' loops, chosen at run time.
//!
//! A crate that depends on rustflow compiles it for baseline x86-64 (SSE2) unless its own
//! build says otherwise, and SSE2 has no blend or FMA: a max pool's compare-and-select or a
//! normalization's sums then run one element at a time. [`multiversion!`] compiles a loop
//! three times, for x86-64-v4 (AVX-512), x86-64-v3 (AVX2 + FMA) and the build's own target,
//! and calls the best one the CPU has, as the `gemm` crate does for its kernels.

use std::sync::atomic::{AtomicU8, Ordering};

/// An x86-64 microarchitecture level a multiversioned loop is compiled for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Level {
    /// The build's own target features.
    Base = 1,
    /// AVX2, FMA, BMI1/2 (x86-64-v3).
    V3 = 2,
    /// AVX-512 F/BW/CD/DQ/VL on top of v3 (x86-64-v4).
    V4 = 3,
}

/// The best level this CPU runs, detected once.
pub(crate) fn level() -> Level {
    static LEVEL: AtomicU8 = AtomicU8::new(0);
    match LEVEL.load(Ordering::Relaxed) {
        1 => Level::Base,
        2 => Level::V3,
        3 => Level::V4,
        _ => {
            let l = detect();
            LEVEL.store(l as u8, Ordering::Relaxed);
            l
        }
    }
}

fn detect() -> Level {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        let v3 = has!("avx2") && has!("fma") && has!("bmi1") && has!("bmi2") && has!("lzcnt");
        let v4 = has!("avx512f")
            && has!("avx512bw")
            && has!("avx512cd")
            && has!("avx512dq")
            && has!("avx512vl");
        if v3 && v4 {
            return Level::V4;
        }
        if v3 {
            return Level::V3;
        }
    }
    Level::Base
}

/// Defines a function whose body is compiled for each [`Level`], and which runs the best one
/// the CPU has. Closures written in the body (rayon tasks, iterator adapters) are compiled
/// with their copy's features too. Arguments are plain `name: Type` pairs.
///
/// ```ignore
/// multiversion! {
///     /// Adds `b` to `a`.
///     pub(crate) fn add_to(a: &mut [f32], b: &[f32]) {
///         a.iter_mut().zip(b).for_each(|(a, b)| *a += b);
///     }
/// }
/// ```
macro_rules! multiversion {
    ($(#[$meta:meta])* $vis:vis fn $name:ident $(<$($lt:lifetime),*>)?
        ($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block) => {
        $(#[$meta])*
        $vis fn $name $(<$($lt),*>)? ($($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx512bw,avx512cd,avx512dq,avx512vl,avx2,fma,bmi1,bmi2,lzcnt,popcnt")]
                fn v4 $(<$($lt),*>)? ($($arg: $ty),*) $(-> $ret)? $body
                #[target_feature(enable = "avx2,fma,bmi1,bmi2,lzcnt,popcnt")]
                fn v3 $(<$($lt),*>)? ($($arg: $ty),*) $(-> $ret)? $body
                match $crate::kernels::isa::level() {
                    // SAFETY: the CPU has every feature of this copy (detected at run time).
                    $crate::kernels::isa::Level::V4 => return unsafe { v4($($arg),*) },
                    // SAFETY: as above.
                    $crate::kernels::isa::Level::V3 => return unsafe { v3($($arg),*) },
                    $crate::kernels::isa::Level::Base => {}
                }
            }
            $body
        }
    };
}
pub(crate) use multiversion;

#[cfg(test)]
mod tests {
    use super::*;

    multiversion! {
        fn dot(a: &[f32], b: &[f32]) -> f32 {
            a.iter().zip(b).map(|(x, y)| x * y).sum()
        }
    }

    #[test]
    fn the_chosen_copy_computes_the_body() {
        let a: Vec<f32> = (0..100).map(|i| i as f32).collect();
        assert_eq!(dot(&a, &a), (0..100).map(|i| (i * i) as f32).sum::<f32>());
        assert!(level() >= Level::Base);
    }
}
