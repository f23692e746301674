//! The numerics of the series functions, on plain slices (no JSON, no DataFusion), so each
//! algorithm is testable on its own. Missing or non-numeric elements are `None`.
//!
//! Where Kusto documents an algorithm, it is followed; where it leaves a detail open, the
//! choice is written here:
//! - **line fit** (`series_fit_line`): least squares over x = 1..n (the docs' example has
//!   `interception` at x = 0 and the first fitted point at x = 1); `variance` is the sample
//!   variance of the input, `rvariance` the residuals' sum of squares over n − 1, `rsquare`
//!   1 − SSres/SStot. Missing points are left out of the fit and get a fitted value.
//! - **stats** (`series_stats`): sample variance and standard deviation (n − 1); indices are
//!   0-based, the first extreme wins.
//! - **percentiles** (`series_outliers`): linear interpolation between closest ranks (Kusto
//!   does not document its interpolation).
//! - **outlier score** (`series_outliers`, `series_decompose_anomalies`): Tukey's fences with
//!   the range [p_low, p_high] (10th–90th percentile for `ctukey`, 25th–75th for `tukey`): a
//!   point inside the range scores 0, above it (x − p_high) / (p_high − p_low), below it
//!   −(p_low − x) / (p_high − p_low); a score of ±1.5 is the classic Tukey fence. A range of
//!   width 0 scores every point outside it ±∞, written as ±1e9 so the JSON stays numeric.
//! - **decomposition** (`series_decompose`): the docs' order — seasonal = median of the points
//!   of the same phase, subtracted from x; the trend (`avg`, `linefit` or `none`) of that
//!   deseasonalized series; baseline = seasonal + trend; residual = x − baseline; the last
//!   `test_points` points take no part in learning and are extrapolated.
//! - **seasonality detection** (seasonality −1; Kusto uses `series_periods_detect`, an FFT
//!   and autocorrelation estimate whose details are not published): the period 2 ≤ p ≤ n/2
//!   with the highest autocorrelation (the biased estimator, normalised by the lag-0 sum of
//!   squares) among local maxima, kept when that score reaches the threshold (0.6 by default).
//!   Kusto may pick another period on series with several comparable ones.

/// Mean of the present values.
fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

/// The least-squares line through the present points at x = 1..n.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LineFit {
    pub rsquare: f64,
    pub slope: f64,
    pub variance: f64,
    pub rvariance: f64,
    pub interception: f64,
    pub line_fit: Vec<f64>,
}

/// [`LineFit`] of `y` (None when fewer than two points are present).
pub(crate) fn line_fit(y: &[Option<f64>]) -> Option<LineFit> {
    let pts: Vec<(f64, f64)> = y
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.filter(|v| v.is_finite()).map(|v| ((i + 1) as f64, v)))
        .collect();
    if pts.len() < 2 {
        return None;
    }
    let n = pts.len() as f64;
    let mx = pts.iter().map(|p| p.0).sum::<f64>() / n;
    let my = pts.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let slope = sxy / sxx;
    let interception = my - slope * mx;
    let ss_tot: f64 = pts.iter().map(|p| (p.1 - my).powi(2)).sum();
    let ss_res: f64 = pts
        .iter()
        .map(|p| (p.1 - (slope * p.0 + interception)).powi(2))
        .sum();
    Some(LineFit {
        rsquare: if ss_tot == 0.0 {
            1.0
        } else {
            1.0 - ss_res / ss_tot
        },
        slope,
        variance: ss_tot / (n - 1.0),
        rvariance: ss_res / (n - 1.0),
        interception,
        line_fit: (1..=y.len())
            .map(|x| slope * x as f64 + interception)
            .collect(),
    })
}

/// `series_stats`' results.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Stats {
    pub min: f64,
    pub min_idx: usize,
    pub max: f64,
    pub max_idx: usize,
    pub avg: f64,
    pub stdev: f64,
    pub variance: f64,
}

/// Statistics of `y`; with `ignore_nonfinite` false a missing or non-finite element makes
/// them all null (Kusto's rule), as does an empty series.
pub(crate) fn stats(y: &[Option<f64>], ignore_nonfinite: bool) -> Option<Stats> {
    let mut pts = Vec::with_capacity(y.len());
    for (i, v) in y.iter().enumerate() {
        match v {
            Some(v) if v.is_finite() => pts.push((i, *v)),
            _ if ignore_nonfinite => {}
            _ => return None,
        }
    }
    let (&first, rest) = pts.split_first()?;
    let (mut min, mut max) = (first, first);
    for &p in rest {
        if p.1 < min.1 {
            min = p;
        }
        if p.1 > max.1 {
            max = p;
        }
    }
    let vals: Vec<f64> = pts.iter().map(|p| p.1).collect();
    let avg = mean(&vals);
    let variance = if vals.len() > 1 {
        vals.iter().map(|v| (v - avg).powi(2)).sum::<f64>() / (vals.len() - 1) as f64
    } else {
        0.0
    };
    Some(Stats {
        min: min.1,
        min_idx: min.0,
        max: max.1,
        max_idx: max.0,
        avg,
        stdev: variance.sqrt(),
        variance,
    })
}

/// The `p`-th percentile (0–100) of sorted values, interpolated linearly between ranks.
pub(crate) fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (p / 100.0).clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo as f64)
}

/// The score written for a point outside a range of width 0.
const INFINITE_SCORE: f64 = 1e9;

/// Tukey-fence scores of every point of `y` against the `[low, high]` percentiles of the
/// present values of `learn` (missing points score 0).
pub(crate) fn outlier_scores(
    y: &[Option<f64>],
    learn: &[Option<f64>],
    low: f64,
    high: f64,
) -> Vec<f64> {
    let mut sorted: Vec<f64> = learn
        .iter()
        .flatten()
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    sorted.sort_by(f64::total_cmp);
    let (q1, q3) = (percentile(&sorted, low), percentile(&sorted, high));
    let width = q3 - q1;
    y.iter()
        .map(|v| match v {
            Some(v) if v.is_finite() && !sorted.is_empty() => {
                let out = if *v > q3 {
                    v - q3
                } else if *v < q1 {
                    v - q1
                } else {
                    return 0.0;
                };
                if width > 0.0 {
                    out / width
                } else {
                    out.signum() * INFINITE_SCORE
                }
            }
            _ => 0.0,
        })
        .collect()
}

/// `series_fir`: `y[i] = Σ f[j]·x[i + shift − j]`, missing and outside points counted as 0;
/// `normalize` divides the filter by its sum (when not 0); `center` shifts by ⌊len/2⌋ so
/// the filter is symmetric around each point.
pub(crate) fn fir(x: &[Option<f64>], filter: &[f64], normalize: bool, center: bool) -> Vec<f64> {
    let sum: f64 = filter.iter().sum();
    let f: Vec<f64> = if normalize && sum != 0.0 {
        filter.iter().map(|v| v / sum).collect()
    } else {
        filter.to_vec()
    };
    let shift = if center { (f.len() / 2) as isize } else { 0 };
    (0..x.len() as isize)
        .map(|i| {
            f.iter()
                .enumerate()
                .map(|(j, c)| {
                    let k = i + shift - j as isize;
                    if k < 0 {
                        0.0
                    } else {
                        x.get(k as usize).copied().flatten().unwrap_or(0.0) * c
                    }
                })
                .sum()
        })
        .collect()
}

/// `series_iir`: `a[0]·y[n] = Σ b[i]·x[n−i] − Σ_{j≥1} a[j]·y[n−j]` (missing inputs as 0);
/// None when `a[0]` is 0 or absent.
pub(crate) fn iir(x: &[Option<f64>], b: &[f64], a: &[f64]) -> Option<Vec<f64>> {
    let a0 = *a.first().filter(|a0| **a0 != 0.0)?;
    let mut y: Vec<f64> = Vec::with_capacity(x.len());
    for n in 0..x.len() {
        let mut acc = 0.0;
        for (i, bi) in b.iter().enumerate() {
            if i <= n {
                acc += bi * x[n - i].unwrap_or(0.0);
            }
        }
        for (j, aj) in a.iter().enumerate().skip(1) {
            if j <= n {
                acc -= aj * y[n - j];
            }
        }
        y.push(acc / a0);
    }
    Some(y)
}

/// `series_fill_linear`'s interpolation of the missing points between present ones; with
/// `fill_edges` the leading and trailing missing points take the nearest present value.
pub(crate) fn fill_linear(y: &[Option<f64>], fill_edges: bool) -> Vec<Option<f64>> {
    let known: Vec<usize> = (0..y.len()).filter(|i| y[*i].is_some()).collect();
    let mut out = y.to_vec();
    for w in known.windows(2) {
        let (a, b) = (w[0], w[1]);
        let (va, vb) = (y[a].unwrap_or(0.0), y[b].unwrap_or(0.0));
        for (i, slot) in out.iter_mut().enumerate().take(b).skip(a + 1) {
            *slot = Some(va + (vb - va) * (i - a) as f64 / (b - a) as f64);
        }
    }
    if fill_edges {
        if let (Some(&first), Some(&last)) = (known.first(), known.last()) {
            for slot in out.iter_mut().take(first) {
                *slot = y[first];
            }
            for slot in out.iter_mut().skip(last + 1) {
                *slot = y[last];
            }
        }
    }
    out
}

/// The median of the values.
fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    percentile(&v, 50.0)
}

/// The detected period of `y` (see the module's rule), or None.
pub(crate) fn detect_period(y: &[f64], threshold: f64) -> Option<usize> {
    let n = y.len();
    let m = mean(y);
    let d: Vec<f64> = y.iter().map(|v| v - m).collect();
    let c0: f64 = d.iter().map(|v| v * v).sum();
    if n < 4 || c0 == 0.0 {
        return None;
    }
    let acf = |k: usize| (0..n - k).map(|t| d[t] * d[t + k]).sum::<f64>() / c0;
    let r: Vec<f64> = (0..=n / 2 + 1)
        .map(|k| if k < n { acf(k) } else { 0.0 })
        .collect();
    (2..=n / 2)
        .filter(|&k| r[k] >= r[k - 1] && r[k] >= r[k + 1])
        .filter(|&k| r[k] >= threshold)
        .max_by(|a, b| r[*a].total_cmp(&r[*b]))
}

/// `series_decompose`'s trend kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Trend {
    Avg,
    LineFit,
    None,
}

/// `series_decompose`'s four series.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Decomposition {
    pub baseline: Vec<f64>,
    pub seasonal: Vec<f64>,
    pub trend: Vec<f64>,
    pub residual: Vec<f64>,
}

/// Decomposes `y` (missing points read as 0) with `seasonality` (−1 detect, 0 none, else the
/// period), `trend`, the last `test_points` left out of learning, and the detection
/// `threshold`.
pub(crate) fn decompose(
    y: &[Option<f64>],
    seasonality: i64,
    trend: Trend,
    test_points: usize,
    threshold: f64,
) -> Decomposition {
    let x: Vec<f64> = y.iter().map(|v| v.unwrap_or(0.0)).collect();
    let n = x.len();
    let learn = n.saturating_sub(test_points);
    let period = match seasonality {
        s if s < 0 => detect_period(&x[..learn], threshold),
        0 => None,
        s => Some(s as usize).filter(|p| *p >= 2 && *p <= learn),
    };
    let seasonal: Vec<f64> = match period {
        Some(p) => {
            let phase: Vec<f64> = (0..p)
                .map(|k| median((k..learn).step_by(p).map(|i| x[i]).collect()))
                .collect();
            (0..n).map(|i| phase[i % p]).collect()
        }
        None => vec![0.0; n],
    };
    let deseason: Vec<Option<f64>> = (0..learn).map(|i| Some(x[i] - seasonal[i])).collect();
    let trend_line: Vec<f64> = match trend {
        Trend::None => vec![0.0; n],
        Trend::Avg => {
            let m = if learn == 0 {
                0.0
            } else {
                mean(&deseason.iter().flatten().copied().collect::<Vec<_>>())
            };
            vec![m; n]
        }
        Trend::LineFit => match line_fit(&deseason) {
            Some(fit) => (1..=n)
                .map(|i| fit.slope * i as f64 + fit.interception)
                .collect(),
            None => vec![deseason.first().copied().flatten().unwrap_or(0.0); n],
        },
    };
    let baseline: Vec<f64> = (0..n).map(|i| seasonal[i] + trend_line[i]).collect();
    let residual = (0..n).map(|i| x[i] - baseline[i]).collect();
    Decomposition {
        baseline,
        seasonal,
        trend: trend_line,
        residual,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn some(v: &[f64]) -> Vec<Option<f64>> {
        v.iter().map(|x| Some(*x)).collect()
    }

    #[test]
    fn line_fit_matches_the_docs_example() {
        let y = some(&[2., 5., 6., 8., 11., 15., 17., 18., 25., 26., 30., 30.]);
        let f = line_fit(&y).unwrap();
        assert!((f.rsquare - 0.982).abs() < 1e-3, "{f:?}");
        assert!((f.slope - 2.730).abs() < 1e-3);
        assert!((f.variance - 98.628).abs() < 1e-3);
        assert!((f.rvariance - 1.686).abs() < 1e-3);
        assert!((f.interception - -1.666).abs() < 1e-3);
        assert!((f.line_fit[0] - 1.064).abs() < 1e-3);
        assert!((f.line_fit[11] - 31.102).abs() < 1e-2);
    }

    #[test]
    fn stats_need_finite_values_unless_told_to_ignore() {
        let s = stats(&some(&[1., 3., 2.]), false).unwrap();
        assert_eq!(
            (s.min, s.min_idx, s.max, s.max_idx, s.avg),
            (1., 0, 3., 1, 2.)
        );
        assert_eq!(s.variance, 1.0);
        assert!(stats(&[Some(1.), None], false).is_none());
        assert_eq!(stats(&[Some(1.), None, Some(3.)], true).unwrap().avg, 2.0);
    }

    #[test]
    fn fir_and_iir_follow_the_docs_examples() {
        let x = some(&[0., 1., 2., 3., 4., 5., 6., 7., 8., 9.]);
        assert_eq!(
            fir(&x, &[1., 1., 1., 1., 1.], false, false),
            vec![0., 1., 3., 6., 10., 15., 20., 25., 30., 35.]
        );
        let centred = fir(&x, &[1., 1., 1., 1., 1.], true, true);
        assert!((centred[0] - 0.6).abs() < 1e-9 && (centred[5] - 5.0).abs() < 1e-9);
        // A cumulative sum: numerators [1], denominators [1, -1].
        assert_eq!(
            iir(&some(&[1., 2., 3., 4.]), &[1.], &[1., -1.]).unwrap(),
            vec![1., 3., 6., 10.]
        );
        assert!(iir(&x, &[1.], &[0.]).is_none());
    }

    #[test]
    fn outliers_score_by_tukey_fences() {
        let mut y: Vec<f64> = (0..20).map(|i| (i % 5) as f64).collect();
        y[7] = 40.0;
        let s = outlier_scores(&some(&y), &some(&y), 25.0, 75.0);
        assert!(s[7] > 1.5, "{s:?}");
        assert_eq!(s[2], 0.0);
        assert!(s[0] < 0.0 && s[0] > -1.5, "{s:?}");
    }

    #[test]
    fn a_weekly_pattern_is_detected_and_removed() {
        let y: Vec<f64> = (0..24 * 7 * 4)
            .map(|t| {
                let base = if (t / 24) % 7 >= 5 { 10.0 } else { 15.0 };
                base - (((t % 24) / 10) * ((t % 24) / 10)) as f64
            })
            .collect();
        assert_eq!(detect_period(&y, 0.6), Some(168));
        let d = decompose(&some(&y), -1, Trend::Avg, 0, 0.6);
        assert!(d.residual.iter().all(|r| r.abs() < 1e-9));
    }

    #[test]
    fn linear_fill_interpolates_and_extends_the_edges() {
        let y = [None, Some(1.0), None, None, Some(4.0), None];
        let f = fill_linear(&y, true);
        assert_eq!(
            f,
            vec![
                Some(1.0),
                Some(1.0),
                Some(2.0),
                Some(3.0),
                Some(4.0),
                Some(4.0)
            ]
        );
        assert_eq!(fill_linear(&y, false)[0], None);
    }
}
