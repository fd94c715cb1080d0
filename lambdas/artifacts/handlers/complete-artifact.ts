import { acceptedJob } from "#lambdas/jobs/jobs.ts";
import { httpHandler } from "#lambdas/shared/http/handler.ts";
import { completeArtifactRoute } from "../routes.ts";
import { completeArtifactUpload } from "../upload-completion.ts";

export const handler = httpHandler(completeArtifactRoute, async ({ caller, params, body }) =>
  acceptedJob(await completeArtifactUpload(caller, params, body.parts)),
);
