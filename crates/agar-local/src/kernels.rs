//! Matrix-vector products for token-by-token generation on quantised
//! weights, with AVX2 kernels and a portable fallback.
//!
//! candle 0.11 has no SIMD kernel for Q4_1 (the quantisation SmolLM2 ships
//! in), and its Q8_0 path converts both block scales from f16 on every dot
//! product. Generating one token is a pass of matrix-vector products over
//! every weight, so here the weights are repacked once at load: block scales
//! (and Q4_1's offsets) as f32 beside the packed quants, and the vector is
//! quantised to 8 bits per block once per product, as llama.cpp does.
//!
//! For a Q4_1 block (`w = d·q + m`, `q` in 0..16) against an 8-bit vector
//! block (`x ≈ e·p`): `Σ w·x = d·e·Σ q·p + m·(e·Σ p)`; the second term's
//! `e·Σ p` is computed once per vector block. A Q8_0 block is `w = d·q`.

#![expect(unsafe_code, reason = "AVX2 intrinsics: each unsafe block states why it is sound")]

use candle_core::quantized::{GgmlDType, QTensor};
use half::f16;

/// Values per quantisation block (Q4_1, Q8_0 and the vector's blocks).
pub(crate) const BLOCK: usize = 32;

/// The fewest rows worth handing to another thread.
const PARALLEL_ROWS: usize = 128;

/// A vector quantised to signed bytes in blocks of [`BLOCK`]: `x[i] ≈ d·q[i]`.
#[derive(Debug, Clone)]
pub(crate) struct Q8Vector {
    qs: Vec<[i8; BLOCK]>,
    d: Vec<f32>,
    /// `d·Σq` of each block.
    sum: Vec<f32>,
}

impl Q8Vector {
    /// Quantises `x`, whose length is a multiple of [`BLOCK`].
    pub(crate) fn quantize(x: &[f32]) -> Self {
        let blocks = x.len() / BLOCK;
        let mut out =
            Self { qs: Vec::with_capacity(blocks), d: Vec::with_capacity(blocks), sum: Vec::new() };
        out.sum.reserve(blocks);
        for chunk in x.chunks_exact(BLOCK) {
            let amax = chunk.iter().fold(0.0f32, |a, v| a.max(v.abs()));
            let d = amax / 127.0;
            let inv = if d > 0.0 { 1.0 / d } else { 0.0 };
            let mut q = [0i8; BLOCK];
            let mut total = 0i32;
            for (q, v) in q.iter_mut().zip(chunk) {
                *q = (v * inv).round().clamp(-127.0, 127.0) as i8;
                total += i32::from(*q);
            }
            out.qs.push(q);
            out.d.push(d);
            out.sum.push(d * total as f32);
        }
        out
    }

    fn len(&self) -> usize {
        self.qs.len() * BLOCK
    }
}

#[derive(Debug)]
enum Quants {
    /// Q4_1: per block an offset and 16 bytes, element `j` in the low
    /// nibble of byte `j`, element `j + 16` in its high nibble.
    Q4_1 { m: Vec<f32>, qs: Vec<[u8; BLOCK / 2]> },
    /// Q8_0: per block 32 signed bytes.
    Q8_0 { qs: Vec<[i8; BLOCK]> },
}

/// A `(rows, cols)` weight matrix repacked for [`PackedMatrix::matvec`].
#[derive(Debug)]
pub(crate) struct PackedMatrix {
    rows: usize,
    cols: usize,
    /// Every block's scale, row after row.
    d: Vec<f32>,
    quants: Quants,
}

fn f16_at(bytes: &[u8], at: usize) -> f32 {
    f16::from_le_bytes([bytes[at], bytes[at + 1]]).to_f32()
}

impl PackedMatrix {
    /// Repacks a 2-D Q4_1 or Q8_0 tensor; `None` for other quantisations
    /// or shapes, which stay with candle's kernels.
    pub(crate) fn pack(t: &QTensor) -> candle_core::Result<Option<Self>> {
        let &[rows, cols] = t.shape().dims() else { return Ok(None) };
        let (kind, block_bytes) = match t.dtype() {
            GgmlDType::Q4_1 => (GgmlDType::Q4_1, 4 + BLOCK / 2),
            GgmlDType::Q8_0 => (GgmlDType::Q8_0, 2 + BLOCK),
            _ => return Ok(None),
        };
        if cols == 0 || !cols.is_multiple_of(BLOCK) {
            return Ok(None);
        }
        let data = t.data()?;
        let blocks = rows * cols / BLOCK;
        if data.len() != blocks * block_bytes {
            candle_core::bail!("{kind:?} tensor of {rows}x{cols} has {} bytes", data.len());
        }
        let mut d = Vec::with_capacity(blocks);
        let quants = if kind == GgmlDType::Q4_1 {
            let (mut m, mut qs) = (Vec::with_capacity(blocks), Vec::with_capacity(blocks));
            for b in data.chunks_exact(block_bytes) {
                d.push(f16_at(b, 0));
                m.push(f16_at(b, 2));
                let mut q = [0u8; BLOCK / 2];
                q.copy_from_slice(&b[4..]);
                qs.push(q);
            }
            Quants::Q4_1 { m, qs }
        } else {
            let mut qs = Vec::with_capacity(blocks);
            for b in data.chunks_exact(block_bytes) {
                d.push(f16_at(b, 0));
                let mut q = [0i8; BLOCK];
                for (q, byte) in q.iter_mut().zip(&b[2..]) {
                    *q = *byte as i8;
                }
                qs.push(q);
            }
            Quants::Q8_0 { qs }
        };
        Ok(Some(Self { rows, cols, d, quants }))
    }

    pub(crate) fn rows(&self) -> usize {
        self.rows
    }

    pub(crate) fn cols(&self) -> usize {
        self.cols
    }

    /// The weights as f32, row-major `(rows, cols)`.
    pub(crate) fn dequantize(&self) -> Vec<f32> {
        let mut out = Vec::with_capacity(self.rows * self.cols);
        match &self.quants {
            Quants::Q4_1 { m, qs } => {
                for ((d, m), q) in self.d.iter().zip(m).zip(qs) {
                    out.extend(q.iter().map(|b| f32::from(b & 0x0F) * d + m));
                    out.extend(q.iter().map(|b| f32::from(b >> 4) * d + m));
                }
            }
            Quants::Q8_0 { qs } => {
                for (d, q) in self.d.iter().zip(qs) {
                    out.extend(q.iter().map(|v| f32::from(*v) * d));
                }
            }
        }
        out
    }

    /// `out[r] = Σ_c w[r][c]·x[c]` for every row; rows are shared out over
    /// rayon's threads when there are several (`RAYON_NUM_THREADS`, set
    /// with candle's by `threads::pin_threads`).
    pub(crate) fn matvec(&self, x: &Q8Vector, out: &mut [f32]) {
        assert_eq!(x.len(), self.cols, "vector length");
        assert_eq!(out.len(), self.rows, "output length");
        let threads = rayon::current_num_threads();
        if threads > 1 && self.rows >= 2 * PARALLEL_ROWS {
            use rayon::prelude::*;
            let chunk = self.rows.div_ceil(threads).max(PARALLEL_ROWS);
            out.par_chunks_mut(chunk)
                .enumerate()
                .for_each(|(i, o)| self.matvec_rows(x, i * chunk, o));
        } else {
            self.matvec_rows(x, 0, out);
        }
    }

    /// Rows `first..first + out.len()`.
    fn matvec_rows(&self, x: &Q8Vector, first: usize, out: &mut [f32]) {
        let per_row = self.cols / BLOCK;
        #[cfg(target_arch = "x86_64")]
        if has_avx2() {
            // SAFETY: the CPU supports AVX2 and FMA (checked at run time).
            unsafe { self.matvec_avx2(x, first, out, per_row) };
            return;
        }
        for (r, o) in out.iter_mut().enumerate() {
            let r = first + r;
            *o = self.dot_portable(r * per_row..(r + 1) * per_row, x);
        }
    }

    /// One row's dot product, in plain Rust (also the reference in tests).
    fn dot_portable(&self, blocks: std::ops::Range<usize>, x: &Q8Vector) -> f32 {
        let mut total = 0.0f32;
        for (i, b) in blocks.enumerate() {
            let dot: i32 = match &self.quants {
                Quants::Q4_1 { qs, .. } => qs[b]
                    .iter()
                    .enumerate()
                    .map(|(j, q)| {
                        i32::from(q & 0x0F) * i32::from(x.qs[i][j])
                            + i32::from(q >> 4) * i32::from(x.qs[i][j + BLOCK / 2])
                    })
                    .sum(),
                Quants::Q8_0 { qs } => {
                    qs[b].iter().zip(&x.qs[i]).map(|(w, v)| i32::from(*w) * i32::from(*v)).sum()
                }
            };
            total += self.d[b] * x.d[i] * dot as f32;
            if let Quants::Q4_1 { m, .. } = &self.quants {
                total += m[b] * x.sum[i];
            }
        }
        total
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn matvec_avx2(&self, x: &Q8Vector, first: usize, out: &mut [f32], per_row: usize) {
        match &self.quants {
            Quants::Q4_1 { m, qs } => {
                for (r, o) in out.iter_mut().enumerate() {
                    let r = first + r;
                    let range = r * per_row..(r + 1) * per_row;
                    *o = avx2::dot_q4_1(&self.d[range.clone()], &m[range.clone()], &qs[range], x);
                }
            }
            Quants::Q8_0 { qs } => {
                for (r, o) in out.iter_mut().enumerate() {
                    let r = first + r;
                    let range = r * per_row..(r + 1) * per_row;
                    *o = avx2::dot_q8_0(&self.d[range.clone()], &qs[range], x);
                }
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
fn has_avx2() -> bool {
    use std::sync::OnceLock;
    static HAS: OnceLock<bool> = OnceLock::new();
    *HAS.get_or_init(|| is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"))
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    use super::{BLOCK, Q8Vector};

    #[target_feature(enable = "avx2,fma")]
    fn hsum(v: __m256) -> f32 {
        let s = _mm_add_ps(_mm256_extractf128_ps::<1>(v), _mm256_castps256_ps128(v));
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_movehdup_ps(s));
        _mm_cvtss_f32(s)
    }

    #[target_feature(enable = "avx2,fma")]
    fn load32(bytes: &[i8; BLOCK]) -> __m256i {
        // SAFETY: `bytes` is 32 readable bytes; the load is unaligned.
        unsafe { _mm256_loadu_si256(bytes.as_ptr().cast()) }
    }

    /// A block's 16 signed-by-unsigned byte-pair sums, summed in pairs to i32, as f32.
    #[target_feature(enable = "avx2,fma")]
    fn products(unsigned: __m256i, signed: __m256i) -> __m256 {
        // Each i16 lane is at most 2·255·127 in magnitude only for Q8_0's
        // |w| ≤ 128 (2·128·127 = 32512) and Q4_1's q ≤ 15: no saturation.
        let pairs = _mm256_maddubs_epi16(unsigned, signed);
        _mm256_cvtepi32_ps(_mm256_madd_epi16(pairs, _mm256_set1_epi16(1)))
    }

    #[target_feature(enable = "avx2,fma")]
    pub(super) fn dot_q4_1(d: &[f32], m: &[f32], qs: &[[u8; BLOCK / 2]], x: &Q8Vector) -> f32 {
        let low = _mm256_set1_epi8(0x0F);
        let (mut acc0, mut acc1) = (_mm256_setzero_ps(), _mm256_setzero_ps());
        let mut offsets = 0.0f32;
        for (i, q) in qs.iter().enumerate() {
            // SAFETY: `q` is 16 readable bytes; the load is unaligned.
            let raw = unsafe { _mm_loadu_si128(q.as_ptr().cast()) };
            // Low nibbles are elements 0..16, high nibbles 16..32.
            let w = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16::<4>(raw), raw), low);
            let p = products(w, load32(&x.qs[i]));
            let scale = _mm256_set1_ps(d[i] * x.d[i]);
            if i % 2 == 0 {
                acc0 = _mm256_fmadd_ps(scale, p, acc0);
            } else {
                acc1 = _mm256_fmadd_ps(scale, p, acc1);
            }
            offsets += m[i] * x.sum[i];
        }
        hsum(_mm256_add_ps(acc0, acc1)) + offsets
    }

    #[target_feature(enable = "avx2,fma")]
    pub(super) fn dot_q8_0(d: &[f32], qs: &[[i8; BLOCK]], x: &Q8Vector) -> f32 {
        let (mut acc0, mut acc1) = (_mm256_setzero_ps(), _mm256_setzero_ps());
        for (i, q) in qs.iter().enumerate() {
            let w = load32(q);
            let v = load32(&x.qs[i]);
            // |w| as unsigned bytes, and v carrying w's sign: the same products.
            let p = products(_mm256_sign_epi8(w, w), _mm256_sign_epi8(v, w));
            let scale = _mm256_set1_ps(d[i] * x.d[i]);
            if i % 2 == 0 {
                acc0 = _mm256_fmadd_ps(scale, p, acc0);
            } else {
                acc1 = _mm256_fmadd_ps(scale, p, acc1);
            }
        }
        hsum(_mm256_add_ps(acc0, acc1))
    }
}

#[cfg(test)]
mod tests {
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

    #[test]
    fn repacked_weights_dequantise_exactly_as_candle_does() {
        for dtype in [GgmlDType::Q4_1, GgmlDType::Q8_0] {
            let w = matrix(5, 96, 7);
            let (p, reference) = packed(dtype, &w, 5, 96);
            assert_eq!((p.rows(), p.cols()), (5, 96));
            assert_eq!(p.dequantize(), reference, "{dtype:?}");
        }
    }

    #[test]
    fn matvec_matches_the_f32_product_of_the_dequantised_weights() {
        for dtype in [GgmlDType::Q4_1, GgmlDType::Q8_0] {
            let (rows, cols) = (37, 576);
            let w = matrix(rows, cols, 11);
            let x = matrix(1, cols, 5);
            let (p, dense) = packed(dtype, &w, rows, cols);
            let q = Q8Vector::quantize(&x);
            let mut fast = vec![0.0; rows];
            p.matvec(&q, &mut fast);
            for r in 0..rows {
                let exact: f32 = (0..cols).map(|c| dense[r * cols + c] * x[c]).sum();
                let portable = p.dot_portable(r * cols / BLOCK..(r + 1) * cols / BLOCK, &q);
                // The vector's 8-bit quantisation costs well under 1% of the row's scale.
                let scale: f32 = (0..cols).map(|c| (dense[r * cols + c] * x[c]).abs()).sum();
                assert!((fast[r] - exact).abs() <= 0.01 * scale, "{dtype:?} row {r}");
                assert!((fast[r] - portable).abs() <= 1e-4 * scale, "{dtype:?} row {r}");
            }
        }
    }

    #[test]
    fn rows_shared_over_threads_give_the_same_products() {
        let (rows, cols) = (1000, 64);
        let (p, _) = packed(GgmlDType::Q4_1, &matrix(rows, cols, 9), rows, cols);
        let q = Q8Vector::quantize(&matrix(1, cols, 4));
        let mut serial = vec![0.0; rows];
        p.matvec_rows(&q, 0, &mut serial);
        let pool = rayon::ThreadPoolBuilder::new().num_threads(3).build().unwrap();
        let mut parallel = vec![0.0; rows];
        pool.install(|| p.matvec(&q, &mut parallel));
        assert_eq!(serial, parallel);
    }

    #[test]
    fn other_quantisations_and_shapes_are_left_to_candle() {
        let t = Tensor::zeros((4, 256), candle_core::DType::F32, &Device::Cpu).unwrap();
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
}
