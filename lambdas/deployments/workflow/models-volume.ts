import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { optionalEnv } from "#lambdas/shared/env.ts";

/**
 * Where models live on the shared file system (EFS on AWS, a folder in local mode). The staging
 * Lambda, the processor task and the runtime task mount it at the same path.
 */
export const MODELS_ROOT = optionalEnv("MODELS_ROOT", "/mnt/models");

export const slotDir = (deploymentId: string, slotId: string) => join(MODELS_ROOT, deploymentId, slotId);
export const sourcePathOf = (deploymentId: string, slotId: string) =>
  join(slotDir(deploymentId, slotId), "source", "artifact");
export const modelPathOf = (deploymentId: string, slotId: string) =>
  join(slotDir(deploymentId, slotId), "model");

export async function prepareSlotDirs(deploymentId: string, slotId: string): Promise<void> {
  await rm(slotDir(deploymentId, slotId), { recursive: true, force: true });
  await mkdir(join(slotDir(deploymentId, slotId), "source"), { recursive: true });
  await mkdir(modelPathOf(deploymentId, slotId), { recursive: true });
}

export async function removeSlotDir(deploymentId: string, slotId: string): Promise<void> {
  await rm(slotDir(deploymentId, slotId), { recursive: true, force: true });
}

export async function removeDeploymentDir(deploymentId: string): Promise<void> {
  await rm(join(MODELS_ROOT, deploymentId), { recursive: true, force: true });
}
