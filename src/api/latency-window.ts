/**
 * Latencies of client requests since the last look, for the dashboard's p99 chart.
 * Bounded: past `samplesMax` in one window, a new sample replaces a random one
 * (reservoir sampling), so the percentile stays fair and memory stays flat.
 */
export const latencySamplesMax = 4096;

export interface LatencySummary {
  readonly count: number;
  /** 99th percentile in milliseconds; 0 when there was no request. */
  readonly p99Ms: number;
}

export class LatencyWindow {
  private samples: number[] = [];
  private count = 0;

  record(ms: number): void {
    this.count++;
    if (this.samples.length < latencySamplesMax) this.samples.push(ms);
    else {
      const slot = Math.floor(Math.random() * this.count);
      if (slot < latencySamplesMax) this.samples[slot] = ms;
    }
  }

  /** The window's summary; starts a new window. */
  take(): LatencySummary {
    const sorted = this.samples.sort((a, b) => a - b);
    const p99Ms = sorted.length === 0 ? 0 : (sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1)] ?? 0);
    const summary = { count: this.count, p99Ms };
    this.samples = [];
    this.count = 0;
    return summary;
  }
}
