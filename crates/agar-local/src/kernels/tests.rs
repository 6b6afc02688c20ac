//! Unit tests of the AVX2 kernels against candle's dequantisation and f32 products.

use candle_core::{Device, Tensor};

use super::*;

fn matrix(rows: usize, cols: usize, seed: u64) -> Vec<f32> {
    // A small deterministic generator: values in [-1, 1) with some outliers.
    let mut s = seed;
    (0..rows * cols)
        .map(|i| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let v = ((s >> 33) as f32 / (1u64 << 31) as f32) * 2.0 - 1.0;
            if i % 97 == 0 { v * 8.0 } else { v }
        })
        .collect()
}

fn packed(dtype: GgmlDType, w: &[f32], rows: usize, cols: usize) -> (PackedMatrix, Vec<f32>) {
    let t = Tensor::from_slice(w, (rows, cols), &Device::Cpu).unwrap();
    let q = QTensor::quantize(&t, dtype).unwrap();
    let reference = q.dequantize(&Device::Cpu).unwrap().flatten_all().unwrap();
    (PackedMatrix::pack(&q).unwrap().unwrap(), reference.to_vec1().unwrap())
}

/// Every packed quantisation, with a matrix width it accepts.
const PACKED: [(GgmlDType, usize); 4] =
    [(GgmlDType::Q4_1, 576), (GgmlDType::Q8_0, 576), (GgmlDType::Q4K, 768), (GgmlDType::Q6K, 768)];

#[test]
fn repacked_weights_dequantise_exactly_as_candle_does() {
    for (dtype, cols) in PACKED {
        let w = matrix(5, cols, 7);
        let (p, reference) = packed(dtype, &w, 5, cols);
        assert_eq!((p.rows(), p.cols()), (5, cols));
        assert_eq!(p.dequantize(), reference, "{dtype:?}");
    }
}

/// A k-quant tensor of random bytes (every quant and 6-bit scale pattern
/// occurs), with its f16 super-block scales set to finite values.
fn random_k_quant(dtype: GgmlDType, rows: usize, cols: usize, seed: u64) -> QTensor {
    let size = dtype.type_size();
    let mut s = seed;
    let mut bytes: Vec<u8> = (0..rows * cols / SUPER * size)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (s >> 56) as u8
        })
        .collect();
    // Q4_K's d and dmin lead its block; Q6_K's d ends it.
    let scale_at: &[usize] = if dtype == GgmlDType::Q4K { &[0, 2] } else { &[size - 2] };
    for (b, block) in bytes.chunks_exact_mut(size).enumerate() {
        for (k, &at) in scale_at.iter().enumerate() {
            let v = f16::from_f32(0.001 * (1 + (b + k) % 7) as f32);
            block[at..at + 2].copy_from_slice(&v.to_le_bytes());
        }
    }
    candle_core::quantized::ggml_file::qtensor_from_ggml(
        dtype,
        &bytes,
        vec![rows, cols],
        &Device::Cpu,
    )
    .unwrap()
}

#[test]
fn k_quants_of_every_bit_pattern_dequantise_exactly_as_candle_does() {
    for dtype in [GgmlDType::Q4K, GgmlDType::Q6K] {
        let t = random_k_quant(dtype, 3, 1024, 13);
        let reference: Vec<f32> =
            t.dequantize(&Device::Cpu).unwrap().flatten_all().unwrap().to_vec1().unwrap();
        let p = PackedMatrix::pack(&t).unwrap().unwrap();
        assert!(reference.iter().any(|v| *v != 0.0));
        assert_eq!(p.dequantize(), reference, "{dtype:?}");
    }
}

/// Checks `p.matvec` against the exact product with `dense` and against
/// the portable kernel.
fn check_matvec(p: &PackedMatrix, dense: &[f32], x: &[f32], what: &str) {
    let (rows, cols) = (p.rows(), p.cols());
    let q = p.quantize(x);
    let mut fast = vec![0.0; rows];
    p.matvec(&q, &mut fast);
    for r in 0..rows {
        let exact: f32 = (0..cols).map(|c| dense[r * cols + c] * x[c]).sum();
        let portable = p.dot_portable(r, &q);
        // The vector's 8-bit quantisation costs well under 1% of the row's
        // scale (at most 0.15% here, with a scale per 256 values for k-quants).
        let scale: f32 = (0..cols).map(|c| (dense[r * cols + c] * x[c]).abs()).sum();
        assert!(scale > 0.0);
        assert!((fast[r] - exact).abs() <= 0.01 * scale, "{what} row {r}");
        assert!((fast[r] - portable).abs() <= 1e-4 * scale, "{what} row {r}");
    }
}

#[test]
fn matvec_matches_the_f32_product_of_the_dequantised_weights() {
    for (dtype, cols) in PACKED {
        let rows = 37;
        let w = matrix(rows, cols, 11);
        let x = matrix(1, cols, 5);
        let (p, dense) = packed(dtype, &w, rows, cols);
        check_matvec(&p, &dense, &x, &format!("{dtype:?}"));
    }
    for dtype in [GgmlDType::Q4K, GgmlDType::Q6K] {
        let t = random_k_quant(dtype, 9, 1280, 21);
        let p = PackedMatrix::pack(&t).unwrap().unwrap();
        check_matvec(&p, &p.dequantize(), &matrix(1, 1280, 6), &format!("random {dtype:?}"));
    }
}

#[test]
fn several_vectors_at_once_give_each_vector_s_products() {
    for (dtype, cols) in PACKED {
        let rows = 300;
        let (p, _) = packed(dtype, &matrix(rows, cols, 17), rows, cols);
        // More than a tile of vectors, and not a multiple of four.
        let xs: Vec<Q8Vector> =
            (0..VECTOR_TILE as u64 + 5).map(|i| p.quantize(&matrix(1, cols, 100 + i))).collect();
        let mut together = vec![0.0; xs.len() * rows];
        p.matmul(&xs, &mut together);
        let pool = rayon::ThreadPoolBuilder::new().num_threads(3).build().unwrap();
        let mut shared = vec![0.0; xs.len() * rows];
        pool.install(|| p.matmul(&xs, &mut shared));
        for (x, (together, shared)) in
            xs.iter().zip(together.chunks_exact(rows).zip(shared.chunks_exact(rows)))
        {
            let mut alone = vec![0.0; rows];
            p.matvec(x, &mut alone);
            assert_eq!(together, alone, "{dtype:?}");
            assert_eq!(shared, alone, "{dtype:?}");
        }
    }
}

#[test]
fn rows_shared_over_threads_give_the_same_products() {
    let (rows, cols) = (1000, 64);
    let (p, _) = packed(GgmlDType::Q4_1, &matrix(rows, cols, 9), rows, cols);
    let q = Q8Vector::quantize(&matrix(1, cols, 4));
    let mut serial = vec![0.0; rows];
    p.products_rows(std::slice::from_ref(&q), 0, &mut serial);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(3).build().unwrap();
    let mut parallel = vec![0.0; rows];
    pool.install(|| p.matvec(&q, &mut parallel));
    assert_eq!(serial, parallel);
}

#[test]
fn other_quantisations_and_shapes_are_left_to_candle() {
    let t = Tensor::zeros((4, 256), candle_core::DType::F32, &Device::Cpu).unwrap();
    let q = QTensor::quantize(&t, GgmlDType::Q5K).unwrap();
    assert!(PackedMatrix::pack(&q).unwrap().is_none());
    let t = Tensor::zeros(512, candle_core::DType::F32, &Device::Cpu).unwrap();
    let q = QTensor::quantize(&t, GgmlDType::Q4K).unwrap();
    assert!(PackedMatrix::pack(&q).unwrap().is_none());
}

#[test]
fn a_zero_vector_gives_zero_without_dividing_by_zero() {
    let q = Q8Vector::quantize(&[0.0; 64]);
    let (p, _) = packed(GgmlDType::Q8_0, &matrix(2, 64, 3), 2, 64);
    let mut out = [1.0; 2];
    p.matvec(&q, &mut out);
    assert_eq!(out, [0.0, 0.0]);
}
