//! Fuzzes the IDX parser (plain and gzipped input): it must never panic,
//! and whatever it accepts must be self-consistent.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use rustflow_mnist::idx::{is_gzip, parse_header, parse_idx};

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz-input");
    match parse_idx(data, path) {
        Ok(a) => {
            let n: usize = a.dims().iter().product();
            assert_eq!(n, a.len());
            assert_eq!(a.to_f32().len(), n);
            if !is_gzip(data) {
                let h = parse_header(data, path).expect("accepted input has a valid header");
                assert_eq!(h.num_elements, n);
                assert_eq!(h.header_len + n * h.element_type.size(), data.len());
            }
        }
        Err(e) => {
            // Every error names the input.
            assert!(e.to_string().contains("fuzz-input"), "{e}");
        }
    }
});
