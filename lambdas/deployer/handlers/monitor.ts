import { awsServing } from "../aws-serving.ts";
import { monitorDeployments } from "../monitor.ts";

/** Runs on a schedule (EventBridge): marks deployments UNHEALTHY or HEALTHY again. */
export const handler = async () => ({ changed: await monitorDeployments(awsServing()) });
