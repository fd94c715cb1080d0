import { chmod, chown, mkdir, rm } from "node:fs/promises";
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

export interface SlotOwner {
  readonly uid: number;
  readonly gid: number;
}

/**
 * The slot's directories, owned by the slot's own POSIX user when it has one (AWS: the steps mount
 * the volume as root, the slot's processor and runtime as that user through the slot's access
 * point), readable by nobody else.
 */
export async function prepareSlotDirs(
  deploymentId: string,
  slotId: string,
  owner?: SlotOwner,
): Promise<void> {
  const dir = slotDir(deploymentId, slotId);
  await rm(dir, { recursive: true, force: true });
  await mkdir(join(dir, "source"), { recursive: true });
  await mkdir(modelPathOf(deploymentId, slotId), { recursive: true });
  if (owner) {
    for (const path of [dir, join(dir, "source"), modelPathOf(deploymentId, slotId)]) {
      await chown(path, owner.uid, owner.gid);
      await chmod(path, 0o750);
    }
  }
}

/** Hands a staged file to the slot's owner (it was written by the steps' user). */
export async function giveToOwner(path: string, owner?: SlotOwner): Promise<void> {
  if (owner) await chown(path, owner.uid, owner.gid);
}

/** The raw artifact is not needed once the processor has written the model. */
export async function removeSourceDir(deploymentId: string, slotId: string): Promise<void> {
  await rm(join(slotDir(deploymentId, slotId), "source"), { recursive: true, force: true });
}

export async function removeSlotDir(deploymentId: string, slotId: string): Promise<void> {
  await rm(slotDir(deploymentId, slotId), { recursive: true, force: true });
}

export async function removeDeploymentDir(deploymentId: string): Promise<void> {
  await rm(join(MODELS_ROOT, deploymentId), { recursive: true, force: true });
}
