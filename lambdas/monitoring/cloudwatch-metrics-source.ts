import type * as CloudWatchSdk from "@aws-sdk/client-cloudwatch";
import type { MetricDataQuery } from "@aws-sdk/client-cloudwatch";
import { requireSdk } from "#lambdas/shared/aws-sdk.ts";
import {
  METRICS_NAMESPACE,
  type MetricRequest,
  type MetricsSource,
  type MetricsWindow,
  periodIndex,
  periodsOf,
} from "./metrics-source.ts";

// Loaded at the metrics handler's cold start: require() is the cheaper load (shared/aws-sdk.ts).
const { CloudWatchClient, GetMetricDataCommand } = requireSdk(
  "@aws-sdk/client-cloudwatch",
) as typeof CloudWatchSdk;

/** GetMetricData takes at most 500 queries per call. */
const QUERIES_PER_CALL = 500;

/** The metrics source on AWS: CloudWatch, where Logs turned the runtimes' EMF lines into metrics. */
export class CloudWatchMetricsSource implements MetricsSource {
  constructor(
    private readonly client: CloudWatchSdk.CloudWatchClient = new CloudWatchClient({}),
    private readonly namespace: string = METRICS_NAMESPACE,
  ) {}

  async read(
    requests: readonly MetricRequest[],
    window: MetricsWindow,
  ): Promise<Map<string, (number | null)[]>> {
    const answer = new Map(
      requests.map((r) => [r.id, new Array<number | null>(periodsOf(window)).fill(null)]),
    );
    for (let first = 0; first < requests.length; first += QUERIES_PER_CALL) {
      const queries: MetricDataQuery[] = requests.slice(first, first + QUERIES_PER_CALL).map((request) => ({
        Id: request.id,
        ReturnData: true,
        MetricStat: {
          Metric: {
            Namespace: this.namespace,
            MetricName: request.name,
            Dimensions: Object.entries(request.dimensions).map(([Name, Value]) => ({ Name, Value })),
          },
          Period: window.periodSeconds,
          Stat: request.stat,
        },
      }));
      let nextToken: string | undefined;
      do {
        const page = await this.client.send(
          new GetMetricDataCommand({
            MetricDataQueries: queries,
            StartTime: window.start,
            EndTime: window.end,
            ScanBy: "TimestampAscending",
            NextToken: nextToken,
          }),
        );
        for (const result of page.MetricDataResults ?? []) {
          const values = result.Id ? answer.get(result.Id) : undefined;
          if (!values) continue;
          (result.Timestamps ?? []).forEach((at, i) => {
            const index = periodIndex(window, at.getTime());
            const value = result.Values?.[i];
            if (index >= 0 && typeof value === "number" && Number.isFinite(value)) values[index] = value;
          });
        }
        nextToken = page.NextToken;
      } while (nextToken);
    }
    return answer;
  }
}
