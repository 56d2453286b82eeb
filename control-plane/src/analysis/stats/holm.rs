//! Holm's step-down adjustment of p-values for several treatments against one control.

/// Holm–Bonferroni adjusted p-values, in the order given.
///
/// With the `m` p-values sorted ascending, `p_(1) ≤ … ≤ p_(m)`, the adjusted values are
/// `p̃_(i) = min(1, max_{j ≤ i} (m − j + 1)·p_(j))`: each is scaled by the number of
/// hypotheses not yet rejected, the running maximum keeps them monotone, and they are capped
/// at 1 (Holm 1979; statsmodels `multipletests(method="holm")`). Ties get the same adjusted
/// value whatever their order. Controls the family-wise error rate under any dependence.
///
/// Inputs are p-values in `[0, 1]`; a NaN input yields NaN at its position and is left out
/// of `m` (a comparison that could not be computed is not a hypothesis tested).
pub fn holm_adjust(p_values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..p_values.len()).filter(|&i| !p_values[i].is_nan()).collect();
    order.sort_by(|&a, &b| p_values[a].total_cmp(&p_values[b]));
    let tested = order.len();
    let mut adjusted = vec![f64::NAN; p_values.len()];
    let mut running_max = 0.0_f64;
    for (rank, &index) in order.iter().enumerate() {
        let scaled = (tested - rank) as f64 * p_values[index];
        running_max = running_max.max(scaled).min(1.0);
        adjusted[index] = running_max;
    }
    adjusted
}
