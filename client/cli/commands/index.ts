import type { Command } from "../command.ts";
import { catalogAdd, catalogCompositions, catalogDelete, catalogGet, catalogList } from "./catalog.ts";
import {
  deploy,
  deploymentsDelete,
  deploymentsList,
  deploymentsShow,
  deploymentsUpdate,
} from "./deployments.ts";
import { deploymentsCapture, deploymentsDrift, modelsReference } from "./drift.ts";
import { experimentsList, experimentsSetSchema, experimentsShow } from "./experiments.ts";
import { importMlflow } from "./import-mlflow.ts";
import { jobsWait, projectsDelete } from "./jobs.ts";
import { deploymentsMetrics } from "./metrics.ts";
import { modelsList, modelsRegister, modelsShow } from "./models.ts";
import {
  membersAdd,
  membersList,
  membersRemove,
  projectsCreate,
  projectsList,
  projectsShow,
} from "./projects.ts";
import { scoreCommand } from "./score.ts";
import { upload } from "./upload.ts";

/** Every command, in the order `byom --help` lists them. */
export const COMMANDS: readonly Command[] = [
  projectsCreate,
  projectsList,
  projectsShow,
  projectsDelete,
  membersList,
  membersAdd,
  membersRemove,
  experimentsList,
  experimentsShow,
  experimentsSetSchema,
  upload,
  importMlflow,
  modelsRegister,
  modelsList,
  modelsShow,
  modelsReference,
  deploy,
  deploymentsList,
  deploymentsShow,
  deploymentsUpdate,
  deploymentsDelete,
  deploymentsCapture,
  deploymentsDrift,
  deploymentsMetrics,
  scoreCommand,
  catalogList,
  catalogGet,
  catalogAdd,
  catalogDelete,
  catalogCompositions,
  jobsWait,
];
