import { createReadStream, existsSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import {
  METRICS_NAMESPACE,
  type MetricRequest,
  type MetricsSource,
  type MetricsWindow,
  periodIndex,
  periodsOf,
  type Stat,
} from "./metrics-source.ts";

/**
 * The metrics source in local mode: the runtimes' embedded-metric-format lines, kept by local mode's
 * supervisor in `<dir>/<deploymentId>.jsonl`, aggregated when read as CloudWatch aggregates them
 * when they arrive: every worker's line adds to its period (docs/monitoring.md).
 */
export class LocalMetricsSource implements MetricsSource {
  constructor(private readonly dir: string) {}

  async read(
    requests: readonly MetricRequest[],
    window: MetricsWindow,
  ): Promise<Map<string, (number | null)[]>> {
    const periods = periodsOf(window);
    const buckets = new Map(requests.map((r) => [r.id, Array.from({ length: periods }, () => new Bucket())]));
    const byDeployment = new Map<string, MetricRequest[]>();
    for (const r of requests) {
      const id = r.dimensions.DeploymentId ?? "";
      byDeployment.set(id, [...(byDeployment.get(id) ?? []), r]);
    }
    for (const [deploymentId, wanted] of byDeployment) {
      const file = join(this.dir, `${deploymentId}.jsonl`);
      if (!/^[A-Za-z0-9-]+$/.test(deploymentId) || !existsSync(file)) continue;
      const lines = createInterface({
        input: createReadStream(file, "utf8"),
        crlfDelay: Number.POSITIVE_INFINITY,
      });
      for await (const line of lines) {
        const document = parse(line);
        if (!document) continue;
        const index = periodIndex(window, document._aws.Timestamp);
        if (index < 0) continue;
        for (const request of wanted) {
          const value = document[request.name];
          if (value !== undefined && emittedWith(document, request))
            buckets.get(request.id)?.[index]?.add(value);
        }
      }
    }
    return new Map(requests.map((r) => [r.id, (buckets.get(r.id) ?? []).map((b) => b.stat(r.stat))]));
  }
}

interface EmfDocument {
  readonly _aws: {
    readonly Timestamp: number;
    readonly CloudWatchMetrics: readonly {
      readonly Namespace: string;
      readonly Dimensions: readonly (readonly string[])[];
      readonly Metrics: readonly { readonly Name: string }[];
    }[];
  };
  readonly [member: string]: unknown;
}

function parse(line: string): EmfDocument | undefined {
  try {
    const document = JSON.parse(line) as EmfDocument;
    return typeof document?._aws?.Timestamp === "number" && Array.isArray(document._aws.CloudWatchMetrics)
      ? document
      : undefined;
  } catch {
    return undefined; // a line cut short by a crash: the rest of the file still counts
  }
}

/** Whether the line emits this metric with exactly the request's dimensions, as CloudWatch files it. */
function emittedWith(document: EmfDocument, request: MetricRequest): boolean {
  const names = Object.keys(request.dimensions).sort().join("\u0000");
  return document._aws.CloudWatchMetrics.some(
    (directive) =>
      directive.Namespace === METRICS_NAMESPACE &&
      directive.Metrics.some((m) => m.Name === request.name) &&
      directive.Dimensions.some((set) => [...set].sort().join("\u0000") === names) &&
      Object.entries(request.dimensions).every(([name, value]) => document[name] === value),
  );
}

/** One period's samples of one metric: plain values, histograms (Values/Counts) and statistic sets. */
class Bucket {
  private sum = 0;
  private count = 0;
  private readonly counts = new Map<number, number>();

  add(value: unknown): void {
    if (typeof value === "number") {
      this.sum += value;
      this.count += 1;
      this.counts.set(value, (this.counts.get(value) ?? 0) + 1);
    } else if (Array.isArray(value)) {
      for (const v of value) this.add(v);
    } else if (value && typeof value === "object") {
      const set = value as { Sum?: number; Count?: number; Values?: number[]; Counts?: number[] };
      this.sum += set.Sum ?? 0;
      this.count += set.Count ?? 0;
      (set.Values ?? []).forEach((v, i) => {
        this.counts.set(v, (this.counts.get(v) ?? 0) + (set.Counts?.[i] ?? 1));
      });
    }
  }

  stat(stat: Stat): number | null {
    if (this.count === 0) return null;
    if (stat === "Sum") return this.sum;
    if (stat === "SampleCount") return this.count;
    if (stat === "Average") return this.sum / this.count;
    return percentile(this.counts, Number(stat.slice(1)) / 100);
  }
}

/** The smallest value at or below which a share `p` of the samples lie. */
export function percentile(counts: ReadonlyMap<number, number>, p: number): number | null {
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  let seen = 0;
  for (const value of [...counts.keys()].sort((a, b) => a - b)) {
    seen += counts.get(value) ?? 0;
    if (seen >= p * total) return value;
  }
  return null;
}
