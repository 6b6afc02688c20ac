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
//!
//! The k-quants of llama.cpp's `_K_M` files (Qwen2.5-Coder's) stay compact:
//! Q4_K (256-value super-blocks of eight 32-value sub-blocks
//! `w = (d·sc)·q − dmin·m`, 6-bit `sc` and `m`) with its scales and mins
//! unpacked to bytes, 4.6 bits a weight; Q6_K (`w = d·sc·(q − 32)`, sixteen
//! 16-value sub-blocks with signed 8-bit scales, 6-bit `q`) as stored, 6.6
//! bits a weight. Generation reads every weight once per token and memory
//! bandwidth is most of its cost: Q4_K repacked as Q4_1 blocks (6 bits a
//! weight, f32 scales and offsets) generated 10% slower. Against k-quants
//! the vector is quantised with one scale per super-block (llama.cpp's
//! Q8_K), so a super-block's products, weighted by its integer sub-block
//! scales, sum in integers, and only the total is converted to float.
//! Both dequantise to exactly candle's (and ggml's) values.

#![expect(unsafe_code, reason = "AVX2 intrinsics: each unsafe block states why it is sound")]

use candle_core::quantized::{GgmlDType, QTensor};
use half::f16;

/// Values per quantisation block (Q4_1, Q8_0 and the vector's blocks).
pub(crate) const BLOCK: usize = 32;

/// Values per k-quant super-block (Q4_K, Q6_K).
const SUPER: usize = 256;

/// A Q6_K super-block's quants as stored: for each 128-value half `h`,
/// value `128h + 32k + l` (`k` in 0..4, `l` in 0..32) has its low four bits
/// in `ql[64h + l + 32·(k % 2)]` (low nibble for `k < 2`, high for `k ≥ 2`)
/// and its high two in bits `2k..2k+2` of `qh[32h + l]`; `sc[i]` scales
/// values `16i..16i+16`.
#[derive(Debug, Clone, Copy)]
struct Q6Block {
    ql: [u8; SUPER / 2],
    qh: [u8; SUPER / 4],
    sc: [i8; SUPER / 16],
}

/// A Q4_K super-block: eight 32-value sub-blocks `w = (d·sc)·q − dmin·m`,
/// sub-block `2j` the low nibbles of `qs[32j..32j + 32]` and `2j + 1` their
/// high nibbles (as stored), with the 6-bit scales and mins unpacked.
#[derive(Debug, Clone, Copy)]
struct Q4KBlock {
    qs: [u8; SUPER / 2],
    sc: [u8; 8],
    mn: [u8; 8],
    dmin: f32,
}

impl Q6Block {
    /// Value `i`'s 6-bit quant, 0..64 (the weight is `d·sc·(q − 32)`).
    fn q(&self, i: usize) -> u8 {
        let (h, k, l) = (i / 128, i % 128 / 32, i % 32);
        let low = self.ql[64 * h + l + 32 * (k % 2)] >> (4 * (k / 2)) & 0x0F;
        let high = self.qh[32 * h + l] >> (2 * k) & 3;
        low | high << 4
    }
}

/// The fewest rows worth handing to another thread.
const PARALLEL_ROWS: usize = 128;

/// Vectors multiplied together by [`PackedMatrix::matmul`] (a tile of
/// 8960-value vectors, 280 KB, stays in cache).
const VECTOR_TILE: usize = 32;

/// A vector quantised to signed bytes in blocks of [`BLOCK`]: `x[i] ≈ d·q[i]`.
#[derive(Debug, Clone)]
pub(crate) struct Q8Vector {
    qs: Vec<[i8; BLOCK]>,
    /// Each block's scale.
    d: Vec<f32>,
    /// `d·Σq` of each block.
    sum: Vec<f32>,
    /// `Σq` over each 16 values.
    sum16: Vec<i16>,
    /// Whether `d` is the same over each 256 values ([`SUPER`]), which the
    /// k-quant kernels rely on.
    per_super: bool,
}

impl Q8Vector {
    /// Quantises `x`, whose length is a multiple of [`BLOCK`], with a scale per block.
    fn quantize(x: &[f32]) -> Self {
        Self::quantize_in(x, BLOCK)
    }

    /// Quantises `x`, whose length is a multiple of [`SUPER`], with a scale
    /// per 256 values, as llama.cpp quantises the vector for k-quants: the
    /// k-quant kernels then sum a super-block's products as integers.
    fn quantize_super(x: &[f32]) -> Self {
        Self::quantize_in(x, SUPER)
    }

    fn quantize_in(x: &[f32], group: usize) -> Self {
        let blocks = x.len() / BLOCK;
        let mut out = Self {
            qs: Vec::with_capacity(blocks),
            d: Vec::with_capacity(blocks),
            sum: Vec::with_capacity(blocks),
            sum16: Vec::with_capacity(2 * blocks),
            per_super: group == SUPER,
        };
        for group in x.chunks(group) {
            let amax = group.iter().fold(0.0f32, |a, v| a.max(v.abs()));
            let d = amax / 127.0;
            let inv = if d > 0.0 { 1.0 / d } else { 0.0 };
            for chunk in group.chunks_exact(BLOCK) {
                let mut q = [0i8; BLOCK];
                for (q, v) in q.iter_mut().zip(chunk) {
                    *q = (v * inv).round().clamp(-127.0, 127.0) as i8;
                }
                let halves =
                    q.chunks_exact(16).map(|h| h.iter().map(|v| i16::from(*v)).sum::<i16>());
                out.sum16.extend(halves);
                let total = q.iter().map(|v| i32::from(*v)).sum::<i32>();
                out.qs.push(q);
                out.d.push(d);
                out.sum.push(d * total as f32);
            }
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
    /// Q4_K; `d` holds one scale per super-block.
    Q4K { blocks: Vec<Q4KBlock> },
    /// Q6_K as stored; `d` holds one scale per super-block.
    Q6K { blocks: Vec<Q6Block> },
}

/// A `(rows, cols)` weight matrix repacked for [`PackedMatrix::matmul`].
#[derive(Debug)]
pub(crate) struct PackedMatrix {
    rows: usize,
    cols: usize,
    /// Every block's scale, row after row (for the k-quants, every super-block's).
    d: Vec<f32>,
    quants: Quants,
}

fn f16_at(bytes: &[u8], at: usize) -> f32 {
    f16::from_le_bytes([bytes[at], bytes[at + 1]]).to_f32()
}

/// Sub-block `j`'s 6-bit scale and min from a Q4_K super-block's 12 scale
/// bytes (ggml's `get_scale_min_k4`).
fn scale_min_k4(j: usize, q: &[u8; 12]) -> (u8, u8) {
    if j < 4 {
        (q[j] & 63, q[j + 4] & 63)
    } else {
        ((q[j + 4] & 0x0F) | (q[j - 4] >> 6) << 4, (q[j + 4] >> 4) | (q[j] >> 6) << 4)
    }
}

impl PackedMatrix {
    /// Repacks a 2-D Q4_1, Q8_0, Q4_K or Q6_K tensor; `None` for other
    /// quantisations or shapes, which stay with candle's kernels.
    pub(crate) fn pack(t: &QTensor) -> candle_core::Result<Option<Self>> {
        Self::from_bytes(t.dtype(), t.shape().dims(), &t.data()?)
    }

    /// Whether [`Self::from_bytes`] takes a tensor of this quantisation and shape.
    pub(crate) fn packs(kind: GgmlDType, dims: &[usize]) -> bool {
        let block = match kind {
            GgmlDType::Q4_1 | GgmlDType::Q8_0 => BLOCK,
            GgmlDType::Q4K | GgmlDType::Q6K => SUPER,
            _ => return false,
        };
        matches!(dims, &[_, cols] if cols > 0 && cols.is_multiple_of(block))
    }

    /// Repacks a tensor from its bytes as GGUF stores them (row-major
    /// `dims`, `(rows, cols)`); `None` where [`Self::packs`] says no.
    pub(crate) fn from_bytes(
        kind: GgmlDType,
        dims: &[usize],
        data: &[u8],
    ) -> candle_core::Result<Option<Self>> {
        if !Self::packs(kind, dims) {
            return Ok(None);
        }
        let (rows, cols) = (dims[0], dims[1]);
        let (block, block_bytes) = (kind.block_size(), kind.type_size());
        let blocks = rows * cols / block;
        if data.len() != blocks * block_bytes {
            candle_core::bail!("{kind:?} tensor of {rows}x{cols} has {} bytes", data.len());
        }
        let chunks = data.chunks_exact(block_bytes);
        let (d, quants) = match kind {
            GgmlDType::Q4_1 => {
                let mut d = Vec::with_capacity(blocks);
                let (mut m, mut qs) = (Vec::with_capacity(blocks), Vec::with_capacity(blocks));
                for b in chunks {
                    d.push(f16_at(b, 0));
                    m.push(f16_at(b, 2));
                    let mut q = [0u8; BLOCK / 2];
                    q.copy_from_slice(&b[4..]);
                    qs.push(q);
                }
                (d, Quants::Q4_1 { m, qs })
            }
            GgmlDType::Q8_0 => {
                let (mut d, mut qs) = (Vec::with_capacity(blocks), Vec::with_capacity(blocks));
                for b in chunks {
                    d.push(f16_at(b, 0));
                    let mut q = [0i8; BLOCK];
                    for (q, byte) in q.iter_mut().zip(&b[2..]) {
                        *q = *byte as i8;
                    }
                    qs.push(q);
                }
                (d, Quants::Q8_0 { qs })
            }
            GgmlDType::Q4K => {
                let (mut d, mut out) = (Vec::with_capacity(blocks), Vec::with_capacity(blocks));
                for b in chunks {
                    let scales: &[u8; 12] = b[4..16].try_into().expect("12 scale bytes");
                    let mut q =
                        Q4KBlock { qs: [0; SUPER / 2], sc: [0; 8], mn: [0; 8], dmin: f16_at(b, 2) };
                    for j in 0..8 {
                        (q.sc[j], q.mn[j]) = scale_min_k4(j, scales);
                    }
                    q.qs.copy_from_slice(&b[16..]);
                    d.push(f16_at(b, 0));
                    out.push(q);
                }
                (d, Quants::Q4K { blocks: out })
            }
            _ => {
                let (mut d, mut out) = (Vec::with_capacity(blocks), Vec::with_capacity(blocks));
                for b in chunks {
                    let mut q =
                        Q6Block { ql: [0; SUPER / 2], qh: [0; SUPER / 4], sc: [0; SUPER / 16] };
                    q.ql.copy_from_slice(&b[..SUPER / 2]);
                    q.qh.copy_from_slice(&b[SUPER / 2..SUPER / 2 + SUPER / 4]);
                    for (s, byte) in q.sc.iter_mut().zip(&b[3 * SUPER / 4..]) {
                        *s = *byte as i8;
                    }
                    d.push(f16_at(b, block_bytes - 2));
                    out.push(q);
                }
                (d, Quants::Q6K { blocks: out })
            }
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
    #[cfg(test)]
    pub(crate) fn dequantize(&self) -> Vec<f32> {
        self.dequantize_rows(0..self.rows)
    }

    /// Rows `rows` of the weights as f32, row-major.
    pub(crate) fn dequantize_rows(&self, rows: std::ops::Range<usize>) -> Vec<f32> {
        let mut out = Vec::with_capacity(rows.len() * self.cols);
        let per_row = self.scales_per_row();
        let range = rows.start * per_row..rows.end * per_row;
        let d = &self.d[range.clone()];
        match &self.quants {
            Quants::Q4_1 { m, qs } => {
                for ((d, m), q) in d.iter().zip(&m[range.clone()]).zip(&qs[range]) {
                    out.extend(q.iter().map(|b| f32::from(b & 0x0F) * d + m));
                    out.extend(q.iter().map(|b| f32::from(b >> 4) * d + m));
                }
            }
            Quants::Q8_0 { qs } => {
                for (d, q) in d.iter().zip(&qs[range]) {
                    out.extend(q.iter().map(|v| f32::from(*v) * d));
                }
            }
            Quants::Q4K { blocks } => {
                for (d, b) in d.iter().zip(&blocks[range]) {
                    for (j, q) in b.qs.chunks_exact(BLOCK).enumerate() {
                        for (k, shift) in [(2 * j, 0), (2 * j + 1, 4)] {
                            // As candle's (and ggml's) dequantisation computes them.
                            let (scale, min) =
                                (d * f32::from(b.sc[k]), b.dmin * f32::from(b.mn[k]));
                            out.extend(
                                q.iter().map(|q| scale * f32::from(q >> shift & 0x0F) - min),
                            );
                        }
                    }
                }
            }
            Quants::Q6K { blocks } => {
                for (d, b) in d.iter().zip(&blocks[range]) {
                    // `(d·sc)·(q − 32)`, in candle's order of operations.
                    let scales = b.sc.map(|sc| d * f32::from(sc));
                    let mut values = [0.0f32; SUPER];
                    for (h, half) in values.chunks_exact_mut(128).enumerate() {
                        let (ql, qh) = (&b.ql[64 * h..64 * h + 64], &b.qh[32 * h..32 * h + 32]);
                        for (k, part) in half.chunks_exact_mut(32).enumerate() {
                            let (low, shift) = (&ql[32 * (k % 2)..32 * (k % 2) + 32], 4 * (k / 2));
                            for (l, v) in part.iter_mut().enumerate() {
                                let q = (low[l] >> shift & 0x0F) | (qh[l] >> (2 * k) & 3) << 4;
                                *v = scales[8 * h + 2 * k + l / 16] * f32::from(q as i8 - 32);
                            }
                        }
                    }
                    out.extend_from_slice(&values);
                }
            }
        }
        out
    }

    /// Whether the weights are k-quants (Q4_K, Q6_K).
    pub(crate) fn is_k_quant(&self) -> bool {
        matches!(self.quants, Quants::Q4K { .. } | Quants::Q6K { .. })
    }

    /// `x` quantised as [`Self::matmul`] needs it: with a scale per 256
    /// values for the k-quants, per 32 for the others.
    pub(crate) fn quantize(&self, x: &[f32]) -> Q8Vector {
        if self.is_k_quant() { Q8Vector::quantize_super(x) } else { Q8Vector::quantize(x) }
    }

    /// `out[r] = Σ_c w[r][c]·x[c]` for every row (`x` from [`Self::quantize`]).
    #[cfg(test)]
    fn matvec(&self, x: &Q8Vector, out: &mut [f32]) {
        self.matmul(std::slice::from_ref(x), out);
    }

    /// `out[i][r] = Σ_c w[r][c]·xs[i][c]` (each of `xs` from
    /// [`Self::quantize`]), `out` row-major `(xs.len(), rows)`. The k-quant kernels take four vectors at a time,
    /// unpacking each weight once for all four; rows are shared out over
    /// rayon's threads when there are several (`RAYON_NUM_THREADS`, set
    /// with candle's by `threads::pin_threads`).
    pub(crate) fn matmul(&self, xs: &[Q8Vector], out: &mut [f32]) {
        let n = xs.len();
        assert_eq!(out.len(), n * self.rows, "output length");
        for x in xs {
            assert_eq!(x.len(), self.cols, "vector length");
            if self.is_k_quant() {
                assert!(x.per_super, "k-quant weights need a vector from `quantize`");
            }
        }
        if n <= 1 {
            return self.products(xs, out);
        }
        // Computed row by row of the weights, then transposed.
        let mut by_row = vec![0.0f32; n * self.rows];
        self.products(xs, &mut by_row);
        for (r, products) in by_row.chunks_exact(n).enumerate() {
            for (i, p) in products.iter().enumerate() {
                out[i * self.rows + r] = *p;
            }
        }
    }

    /// `out[r·n + i]` = row `r` times `xs[i]`, for every row.
    fn products(&self, xs: &[Q8Vector], out: &mut [f32]) {
        let n = xs.len();
        if n == 0 {
            return;
        }
        let threads = rayon::current_num_threads();
        if threads > 1 && self.rows >= 2 * PARALLEL_ROWS {
            use rayon::prelude::*;
            let chunk = self.rows.div_ceil(threads).max(PARALLEL_ROWS);
            out.par_chunks_mut(chunk * n)
                .enumerate()
                .for_each(|(i, o)| self.products_rows(xs, i * chunk, o));
        } else {
            self.products_rows(xs, 0, out);
        }
    }

    /// [`Self::products`] for rows `first..first + out.len() / xs.len()`.
    fn products_rows(&self, xs: &[Q8Vector], first: usize, out: &mut [f32]) {
        #[cfg(target_arch = "x86_64")]
        if has_avx2() {
            // SAFETY: the CPU supports AVX2 and FMA (checked at run time).
            unsafe { self.products_avx2(xs, first, out) };
            return;
        }
        for (r, o) in out.chunks_exact_mut(xs.len()).enumerate() {
            for (o, x) in o.iter_mut().zip(xs) {
                *o = self.dot_portable(first + r, x);
            }
        }
    }

    /// Scales (`d`) per row: one per block, or per super-block for the k-quants.
    fn scales_per_row(&self) -> usize {
        match self.quants {
            Quants::Q4K { .. } | Quants::Q6K { .. } => self.cols / SUPER,
            _ => self.cols / BLOCK,
        }
    }

    /// Row `r`'s dot product, in plain Rust (also the reference in tests).
    fn dot_portable(&self, r: usize, x: &Q8Vector) -> f32 {
        let per_row = self.scales_per_row();
        let mut total = 0.0f32;
        for (i, b) in (r * per_row..(r + 1) * per_row).enumerate() {
            match &self.quants {
                Quants::Q4_1 { m, qs } => {
                    let dot: i32 = qs[b]
                        .iter()
                        .enumerate()
                        .map(|(j, q)| {
                            i32::from(q & 0x0F) * i32::from(x.qs[i][j])
                                + i32::from(q >> 4) * i32::from(x.qs[i][j + BLOCK / 2])
                        })
                        .sum();
                    total += self.d[b] * x.d[i] * dot as f32 + m[b] * x.sum[i];
                }
                Quants::Q8_0 { qs } => {
                    let dot: i32 = qs[b]
                        .iter()
                        .zip(&x.qs[i])
                        .map(|(w, v)| i32::from(*w) * i32::from(*v))
                        .sum();
                    total += self.d[b] * x.d[i] * dot as f32;
                }
                Quants::Q4K { blocks } => {
                    let q = &blocks[b];
                    for k in 0..SUPER / BLOCK {
                        let at = i * (SUPER / BLOCK) + k;
                        let bytes = &q.qs[k / 2 * BLOCK..][..BLOCK];
                        let dot: i32 = bytes
                            .iter()
                            .zip(&x.qs[at])
                            .map(|(w, v)| i32::from(w >> (4 * (k % 2)) & 0x0F) * i32::from(*v))
                            .sum();
                        total += self.d[b] * f32::from(q.sc[k]) * x.d[at] * dot as f32
                            - q.dmin * f32::from(q.mn[k]) * x.sum[at];
                    }
                }
                Quants::Q6K { blocks } => {
                    let q = &blocks[b];
                    let first = i * (SUPER / BLOCK);
                    for (k, (v, e)) in
                        x.qs[first..first + SUPER / BLOCK].iter().zip(&x.d[first..]).enumerate()
                    {
                        let dot: i32 = v
                            .iter()
                            .enumerate()
                            .map(|(j, v)| {
                                let at = k * BLOCK + j;
                                i32::from(q.sc[at / 16]) * (i32::from(q.q(at)) - 32) * i32::from(*v)
                            })
                            .sum();
                        total += self.d[b] * e * dot as f32;
                    }
                }
            }
        }
        total
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn products_avx2(&self, xs: &[Q8Vector], first: usize, out: &mut [f32]) {
        let per_row = self.scales_per_row();
        let n = xs.len();
        let rows = out.len() / n;
        let d = self.d[first * per_row..(first + rows) * per_row].chunks_exact(per_row);
        // Q4_K and Q6_K rows: one vector at a time, or vectors a tile at a
        // time (a tile stays in cache while every row passes over it), four
        // at a time within it.
        macro_rules! k_quant_rows {
            ($blocks:expr, $dot:path) => {{
                let blocks = $blocks;
                let rows = d.zip(blocks[first * per_row..].chunks_exact(per_row));
                if let [x] = xs {
                    for (o, (d, blocks)) in out.iter_mut().zip(rows) {
                        [*o] = $dot(d, blocks, [x]);
                    }
                    return;
                }
                let rows: Vec<_> = rows.collect();
                for tile in (0..n).step_by(VECTOR_TILE) {
                    let xs = &xs[tile..n.min(tile + VECTOR_TILE)];
                    for (o, (d, blocks)) in out.chunks_exact_mut(n).zip(&rows) {
                        let mut o = o[tile..tile + xs.len()].chunks_exact_mut(4);
                        for (o, x) in (&mut o).zip(xs.chunks_exact(4)) {
                            let four = [&x[0], &x[1], &x[2], &x[3]];
                            o.copy_from_slice(&$dot(d, blocks, four));
                        }
                        for (o, x) in o.into_remainder().iter_mut().zip(&xs[xs.len() / 4 * 4..]) {
                            [*o] = $dot(d, blocks, [x]);
                        }
                    }
                }
            }};
        }
        // A token is nearly a million rows' products: the loops stay tight.
        match &self.quants {
            Quants::Q4_1 { m, qs } => {
                let (m, qs) = (&m[first * per_row..], &qs[first * per_row..]);
                let rows = d.zip(m.chunks_exact(per_row)).zip(qs.chunks_exact(per_row));
                for (o, ((d, m), qs)) in out.chunks_exact_mut(n).zip(rows) {
                    for (o, x) in o.iter_mut().zip(xs) {
                        *o = avx2::dot_q4_1(d, m, qs, x);
                    }
                }
            }
            Quants::Q8_0 { qs } => {
                let rows = d.zip(qs[first * per_row..].chunks_exact(per_row));
                for (o, (d, qs)) in out.chunks_exact_mut(n).zip(rows) {
                    for (o, x) in o.iter_mut().zip(xs) {
                        *o = avx2::dot_q8_0(d, qs, x);
                    }
                }
            }
            Quants::Q4K { blocks } => k_quant_rows!(blocks, avx2::dot_q4k),
            Quants::Q6K { blocks } => k_quant_rows!(blocks, avx2::dot_q6k),
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

    use super::{BLOCK, Q4KBlock, Q6Block, Q8Vector, SUPER};

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

    #[target_feature(enable = "avx2,fma")]
    fn load32u(bytes: &[u8]) -> __m256i {
        assert!(bytes.len() >= 32);
        // SAFETY: `bytes` has at least 32 readable bytes; the load is unaligned.
        unsafe { _mm256_loadu_si256(bytes.as_ptr().cast()) }
    }

    /// `Σ a[i]·b[i]` over the common length.
    #[target_feature(enable = "avx2,fma")]
    fn dot_f32(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let (a, b) = (&a[..n], &b[..n]);
        let mut acc = _mm256_setzero_ps();
        for (a8, b8) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
            // SAFETY: each chunk is 8 readable f32; the loads are unaligned.
            let (va, vb) = unsafe { (_mm256_loadu_ps(a8.as_ptr()), _mm256_loadu_ps(b8.as_ptr())) };
            acc = _mm256_fmadd_ps(va, vb, acc);
        }
        let tail = n / 8 * 8;
        hsum(acc) + a[tail..].iter().zip(&b[tail..]).map(|(a, b)| a * b).sum::<f32>()
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
        }
        // The offsets' `Σ m·(e·Σp)`, eight blocks at a time.
        hsum(_mm256_add_ps(acc0, acc1)) + dot_f32(m, &x.sum)
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

    /// Byte `k` of each 128-bit half of `bytes` (zero-extended) in all
    /// sixteen i16 lanes.
    #[target_feature(enable = "avx2,fma")]
    fn broadcast_i16(bytes: __m256i, k: usize) -> __m256i {
        // Byte k to every even byte; the odd bytes' set high bit gives zero.
        _mm256_shuffle_epi8(bytes, _mm256_set1_epi16(0x8000u16 as i16 | k as i16))
    }

    /// One row of Q4_K super-blocks (`d` their scales) against each of
    /// `xs`, whose scales are constant over each super-block: each
    /// super-block's `Σ sc·(q·p)` is summed in integers.
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn dot_q4k<const N: usize>(
        d: &[f32],
        blocks: &[Q4KBlock],
        xs: [&Q8Vector; N],
    ) -> [f32; N] {
        let low = _mm256_set1_epi8(0x0F);
        let mut acc = [_mm256_setzero_ps(); N];
        for (s, (b, d)) in blocks.iter().zip(d).enumerate() {
            let first = s * (SUPER / BLOCK);
            // SAFETY: `sc` and `mn` are 8 readable bytes; the loads are unaligned.
            let (sc, mn) = unsafe {
                (_mm_loadl_epi64(b.sc.as_ptr().cast()), _mm_loadl_epi64(b.mn.as_ptr().cast()))
            };
            let sc = _mm256_broadcastsi128_si256(sc);
            let mn = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(mn));
            let mn = _mm256_mul_ps(mn, _mm256_set1_ps(b.dmin));
            let mut sums = [_mm256_setzero_si256(); N];
            for j in 0..4 {
                let raw = load32u(&b.qs[32 * j..]);
                let halves = [
                    _mm256_and_si256(raw, low),
                    _mm256_and_si256(_mm256_srli_epi16::<4>(raw), low),
                ];
                for (h, w) in halves.into_iter().enumerate() {
                    let k = 2 * j + h;
                    let scale = broadcast_i16(sc, k);
                    for (sum, x) in sums.iter_mut().zip(xs) {
                        // |pair| ≤ 2·15·127; times sc < 64, twice, over 8 sub-blocks: no overflow.
                        let pairs = _mm256_maddubs_epi16(w, load32(&x.qs[first + k]));
                        *sum = _mm256_add_epi32(*sum, _mm256_madd_epi16(pairs, scale));
                    }
                }
            }
            for ((acc, sum), x) in acc.iter_mut().zip(sums).zip(xs) {
                let scale = _mm256_set1_ps(d * x.d[first]);
                *acc = _mm256_fmadd_ps(scale, _mm256_cvtepi32_ps(sum), *acc);
                // Less `Σ dmin·m·(e·Σp)` over the sub-blocks.
                let xs = &x.sum[first..first + SUPER / BLOCK];
                // SAFETY: `xs` is 8 readable f32; the load is unaligned.
                let xs = unsafe { _mm256_loadu_ps(xs.as_ptr()) };
                *acc = _mm256_fnmadd_ps(mn, xs, *acc);
            }
        }
        let mut out = [0.0; N];
        for (o, acc) in out.iter_mut().zip(acc) {
            *o = hsum(acc);
        }
        out
    }

    /// One row of Q6_K super-blocks (`d` their scales) against each of
    /// `xs`, whose scales are constant over each super-block.
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn dot_q6k<const N: usize>(
        d: &[f32],
        blocks: &[Q6Block],
        xs: [&Q8Vector; N],
    ) -> [f32; N] {
        let (low4, low2) = (_mm256_set1_epi8(0x0F), _mm256_set1_epi8(3));
        let mid2 = _mm256_set1_epi8(0x30);
        let mut acc = [_mm256_setzero_ps(); N];
        for (s, (b, d)) in blocks.iter().zip(d).enumerate() {
            let first = s * (SUPER / BLOCK);
            // SAFETY: `b.sc` is 16 readable bytes; the load is unaligned.
            let scales = unsafe { _mm_loadu_si128(b.sc.as_ptr().cast()) };
            let wide = _mm256_cvtepi8_epi16(scales);
            let mut sums = [_mm256_setzero_si256(); N];
            for (sum, x) in sums.iter_mut().zip(xs) {
                let sum16 = &x.sum16[2 * first..2 * first + SUPER / 16];
                // SAFETY: `sum16` is 16 readable i16; the load is unaligned.
                let sum16 = unsafe { _mm256_loadu_si256(sum16.as_ptr().cast()) };
                // The `−32` of every quant: `−32·Σ sc·Σp` over the 16 sub-blocks.
                let bias = _mm256_madd_epi16(wide, sum16);
                *sum = _mm256_sub_epi32(*sum, _mm256_slli_epi32::<5>(bias));
            }
            for h in 0..2 {
                let ql0 = load32u(&b.ql[64 * h..]);
                let ql1 = load32u(&b.ql[64 * h + 32..]);
                let qh = load32u(&b.qh[32 * h..]);
                // Value 32k + l's high two bits, bits 2k..2k+2 of qh[l], moved to bits 4..6.
                let high = [
                    _mm256_slli_epi16::<4>(_mm256_and_si256(qh, low2)),
                    _mm256_slli_epi16::<2>(_mm256_and_si256(qh, _mm256_slli_epi16::<2>(low2))),
                    _mm256_and_si256(qh, mid2),
                    _mm256_and_si256(_mm256_srli_epi16::<2>(qh), mid2),
                ];
                let quants = [
                    _mm256_or_si256(_mm256_and_si256(ql0, low4), high[0]),
                    _mm256_or_si256(_mm256_and_si256(ql1, low4), high[1]),
                    _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16::<4>(ql0), low4), high[2]),
                    _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16::<4>(ql1), low4), high[3]),
                ];
                for (k, q) in quants.into_iter().enumerate() {
                    // Sub-blocks 8h + 2k (values 0..16) and 8h + 2k + 1 (16..32):
                    // their scales in the low and high eight i16 lanes.
                    let sub = (8 * h + 2 * k) as i64;
                    let pick = _mm_set_epi64x(
                        (sub + 1) * 0x0101_0101_0101_0101,
                        sub * 0x0101_0101_0101_0101,
                    );
                    let sc = _mm256_cvtepi8_epi16(_mm_shuffle_epi8(scales, pick));
                    for (sum, x) in sums.iter_mut().zip(xs) {
                        // q in 0..64: |pair| ≤ 2·63·127 fits in i16.
                        let pairs = _mm256_maddubs_epi16(q, load32(&x.qs[first + 4 * h + k]));
                        *sum = _mm256_add_epi32(*sum, _mm256_madd_epi16(pairs, sc));
                    }
                }
            }
            for ((acc, sum), x) in acc.iter_mut().zip(sums).zip(xs) {
                let scale = _mm256_set1_ps(d * x.d[first]);
                *acc = _mm256_fmadd_ps(scale, _mm256_cvtepi32_ps(sum), *acc);
            }
        }
        let mut out = [0.0; N];
        for (o, acc) in out.iter_mut().zip(acc) {
            *o = hsum(acc);
        }
        out
    }
}

#[cfg(test)]
mod tests;
