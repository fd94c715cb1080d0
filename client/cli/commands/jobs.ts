import { type Job, waitForJob } from "../../jobs.ts";
import type { CommandContext } from "../command.ts";
import { defineCommand } from "../command.ts";
import { projectOption, resolveProjectId } from "./resolve.ts";
import { positiveInt } from "./upload.ts";

export const timeoutOption = {
  timeout: { type: "string", placeholder: "seconds", description: "How long to wait", default: "1800" },
} as const;

/** Waits for a job, one progress line on stderr per change; the job is the command's result. */
export async function followJob(ctx: CommandContext, projectId: string, jobId: string): Promise<Job> {
  ctx.out.note(`Waiting for job ${jobId} …`);
  return waitForJob(ctx.client(), projectId, jobId, {
    timeoutSeconds: positiveInt(ctx.string("timeout") ?? "1800", "--timeout"),
    onProgress: (job) => ctx.out.note(`  ${job.status.toLowerCase()}: ${job.progress.message}`),
  });
}

export const jobsWait = defineCommand({
  name: "jobs wait",
  summary:
    "Wait for a job (project or experiment deletion, multipart completion, MLflow import) to end, showing its progress",
  positionals: [{ name: "job", description: "the job id a 202 answer gave" }],
  options: { ...projectOption, ...timeoutOption },
  examples: ["byom jobs wait job-01hx… --project fraud"],
  async run(ctx) {
    const projectId = await resolveProjectId(ctx.client(), ctx.required("project"));
    const job = await followJob(ctx, projectId, ctx.positionals[0] as string);
    ctx.out.result(job, () => `Job ${job.jobId} (${job.kind}) ${job.status}: ${job.progress.message}.`);
  },
});

export const projectsDelete = defineCommand({
  name: "projects delete",
  summary: "Delete a project and everything in it (owners only), waiting for the deletion job",
  positionals: [{ name: "project", description: "project id or name" }],
  options: {
    ...timeoutOption,
    "no-wait": { type: "boolean", description: "Return once the deletion job is queued" },
  },
  examples: ["byom projects delete scratch"],
  async run(ctx) {
    const client = ctx.client();
    const projectId = await resolveProjectId(client, ctx.positionals[0] as string);
    const accepted = await client.call("deleteProject", { params: { projectId } });
    if (ctx.flag("no-wait")) {
      ctx.out.result(accepted, () => `Deleting project ${projectId}: job ${accepted.jobId}.`);
      return;
    }
    const job = await followJob(ctx, projectId, accepted.jobId);
    ctx.out.result(job, () => `Project ${projectId} deleted (${job.progress.message}).`);
  },
});
