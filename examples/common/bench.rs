//! What the benchmarking examples share: the per-op-type profile, percentiles of step
//! times, the peak resident memory, and the process set-up they make.

use rustflow::RunMetadata;

/// Node time by op type, summed over runs.
#[derive(Default)]
pub struct Profile(std::collections::BTreeMap<&'static str, (f64, usize)>);

impl Profile {
    pub fn add(&mut self, meta: &RunMetadata) {
        for (op, us, count) in meta.by_op_type() {
            let e = self.0.entry(op).or_default();
            e.0 += us;
            e.1 += count;
        }
    }

    /// Prints the table, per one of `runs` runs, in `unit` ("ms/step").
    pub fn print(&self, unit: &str, runs: usize) {
        let total: f64 = self.0.values().map(|v| v.0).sum();
        let mut rows: Vec<_> = self.0.iter().collect();
        rows.sort_by(|a, b| b.1 .0.total_cmp(&a.1 .0));
        println!("{:<28} {unit:>10} {:>7} {:>6}", "op type", "share", "nodes");
        for (op, (us, count)) in rows {
            println!(
                "{op:<28} {:>10.3} {:>6.1}% {:>6}",
                us / 1e3 / runs as f64,
                100.0 * us / total,
                count / runs
            );
        }
        println!(
            "(node time summed over both cores: {:.1} {unit})",
            total / 1e3 / runs as f64
        );
    }
}

/// The median, 10th and 90th percentiles of `times` (sorted in place), as one line:
/// `"median 12.3 ms, p10 11.9 ms, p90 13.0 ms"`.
pub fn percentiles(times: &mut [f64]) -> String {
    times.sort_by(f64::total_cmp);
    let pct = |p: f64| times[((times.len().max(1) - 1) as f64 * p).round() as usize];
    format!(
        "median {:.1} ms, p10 {:.1} ms, p90 {:.1} ms",
        pct(0.5),
        pct(0.1),
        pct(0.9)
    )
}

/// Asks glibc for one malloc arena instead of one per allocating thread. The executor frees
/// buffers on other threads than the ones that allocated them, and per-thread arenas kept
/// those blocks: over 1000 training steps the peak RSS measured 221-237 MB with them,
/// 205-213 MB with one arena, at the same speed. An application's choice, so it is made
/// here and not in the library.
pub fn one_malloc_arena() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; no thread has allocated yet.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

/// The peak resident memory of this process, from /proc (0 where unavailable).
pub fn peak_rss_mb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(String::from)
        })
        .and_then(|l| {
            l.split_whitespace()
                .nth(1)
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024)
}
