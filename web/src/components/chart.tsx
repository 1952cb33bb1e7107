/** A small line chart over time: one polyline per series, y from 0 to the largest value. */
export interface Series {
  readonly name: string;
  readonly color: string;
  readonly values: readonly number[];
}

const width = 300;
const height = 90;

export function Chart(props: { title: string; unit: string; series: readonly Series[] }) {
  const { title, unit, series } = props;
  const max = Math.max(1e-9, ...series.flatMap((s) => s.values));
  const points = (values: readonly number[]): string =>
    values.map((v, i) => `${((i / Math.max(1, values.length - 1)) * width).toFixed(1)},${(height - (v / max) * (height - 4)).toFixed(1)}`).join(' ');
  const latest = series.map((s) => `${s.name} ${format(s.values[s.values.length - 1] ?? 0)}${unit}`).join(', ');
  return (
    <figure class="chart">
      <figcaption>
        {title}{' '}
        <small>
          (max {format(max)}
          {unit})
        </small>
      </figcaption>
      <svg viewBox={`0 0 ${width} ${height}`} preserveAspectRatio="none" role="img" aria-label={`${title}: ${latest || 'no data yet'}`}>
        {series.map((s) => (
          <polyline key={s.name} points={points(s.values)} fill="none" stroke={s.color} stroke-width="2" vector-effect="non-scaling-stroke" />
        ))}
      </svg>
      <div class="legend">
        {series.map((s) => (
          <span key={s.name}>
            <i style={{ background: s.color }} /> {s.name}: {format(s.values[s.values.length - 1] ?? 0)}
            {unit}
          </span>
        ))}
      </div>
    </figure>
  );
}

function format(n: number): string {
  return n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2);
}
