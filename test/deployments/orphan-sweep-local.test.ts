import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { waitFor } from "#local/processes.ts";
import { startTestPlatform, type TestPlatform } from "../support/platform.ts";

const home = mkdtempSync(join(tmpdir(), "byom-orphans-"));
let platform: TestPlatform | undefined;

afterAll(async () => {
  await platform?.stop();
  rmSync(home, { recursive: true, force: true });
});

describe("the orphan sweep in local mode", () => {
  it("stops the runtime and removes the rule of a deployment that no longer exists", async () => {
    // What a crash can leave behind: serving state of a deployment whose record is gone (here:
    // never written). Local mode restores it at start, as ECS and the ALB would have kept it.
    const serviceId = "s0000000000aa";
    writeFileSync(
      join(home, "serving.json"),
      JSON.stringify({
        services: {
          [serviceId]: {
            deploymentId: "dep-gone",
            runtime: "python-tabular-runtime",
            targetGroupArn: "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/byom-x/local",
            environment: { MODEL_PATH: join(home, "missing"), MODEL_ID: "mdl-x" },
          },
        },
        rules: {
          "arn:aws:elasticloadbalancing:us-east-1:000000000000:listener-rule/app/byom-local/abc": {
            deploymentId: "dep-gone",
            pathPrefix: "/dep-gone",
            targets: [
              {
                targetGroupArn:
                  "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/byom-x/local",
                weight: 100,
              },
            ],
          },
        },
      }),
    );
    platform = await startTestPlatform({}, home);
    const serving = () => JSON.parse(readFileSync(join(home, "serving.json"), "utf8"));
    await waitFor(
      "the sweep to remove the orphaned service and rule",
      async () => {
        const state = serving();
        return Object.keys(state.services).length === 0 && Object.keys(state.rules).length === 0
          ? true
          : undefined;
      },
      60_000,
      250,
    );
    const services = JSON.parse(readFileSync(join(home, "services.json"), "utf8")) as Array<{
      serviceId: string;
    }>;
    expect(services.map((s) => s.serviceId)).not.toContain(serviceId);
    // The router no longer answers for it.
    const response = await fetch(`${platform.config.scoringUrl}/dep-gone/model/score`, {
      method: "POST",
      body: "{}",
    });
    expect(response.status).toBe(404);
  }, 180_000);
});
