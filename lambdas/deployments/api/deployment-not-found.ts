import { NotFoundError } from "#lambdas/shared/errors.ts";

/** In a module of its own: readers (the drift report) need it without the workflow clients. */
export class DeploymentNotFoundError extends NotFoundError {
  constructor(projectId: string, deploymentId: string) {
    super("Deployment", deploymentId, `List the deployments with GET /v1/projects/${projectId}/deployments.`);
  }
}
