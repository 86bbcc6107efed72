/** Small statistics helpers shared by the load generator and the report. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index];
}

export function sortedCopy(values) {
  return Float64Array.from(values).sort();
}

export function median(values) {
  return percentile(sortedCopy(values), 50);
}

export function minMax(values) {
  return [Math.min(...values), Math.max(...values)];
}
