import type { CfnElement } from "aws-cdk-lib";
import { beforeAll, describe, expect, it } from "vitest";
import { createApp } from "#cdk/create-app.ts";
import { type SynthesizedApp, synthesize } from "../support/cdk.ts";

const TOPIC = "arn:aws:sns:us-east-1:123456789012:byom-alarms";

describe("the deployments' alarms with context byom:alarmTopicArn", () => {
  let synth: SynthesizedApp;
  beforeAll(() => {
    synth = synthesize({ "byom:alarmTopicArn": TOPIC });
  }, 300_000);

  it("tells the deploy and delete steps the topic their alarms notify", () => {
    const logicalId = (element: unknown) => synth.stack.resolve((element as CfnElement).logicalId) as string;
    for (const state of ["SwitchTraffic", "Teardown"]) {
      const fn = (synth.stack.servingWorkflows as any).node.findChild(`Step${state}`);
      const env =
        synth.template.findResources("AWS::Lambda::Function")[logicalId(fn.function.node.defaultChild)]
          ?.Properties.Environment.Variables;
      expect(env.ALARM_TOPIC_ARN, state).toBe(TOPIC);
    }
    expect(synth.unacknowledgedFindings).toEqual([]);
  });

  it("refuses a value that is not an SNS topic ARN", () => {
    expect(() => createApp({ "byom:alarmTopicArn": "byom-alarms", "aws:cdk:bundling-stacks": [] })).toThrow(
      /byom:alarmTopicArn is an SNS topic ARN/,
    );
  });
});
