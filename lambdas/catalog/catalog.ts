import { everyDeployment } from "#lambdas/deployments/every-deployment.ts";
import type { Caller } from "#lambdas/shared/caller.ts";
import { ConflictError, NotFoundError } from "#lambdas/shared/errors.ts";
import { nowIso } from "#lambdas/shared/ids.ts";
import type { Page, PageRequest } from "#lambdas/shared/pagination.ts";
import type { ArtifactProcessorEntry, DeployableArtifactTypeEntry, RuntimeEntry } from "./builtin.ts";
import { UnknownCatalogEntryError } from "./catalog-errors.ts";
import {
  type CatalogRecord,
  deleteUserEntry,
  getEntry,
  listAllEntries,
  listEntries,
  putNewEntry,
  USER_ENTRY_ORDER,
} from "./catalog-repository.ts";
import { CATALOG_KIND_LIMITS, type CatalogEntry, type CatalogKind, REFERENCES } from "./entries.ts";

export type CatalogEntryView = CatalogEntry & { builtIn: boolean; createdAt: string; createdBy: string };

export interface CompositionView {
  readonly deployableArtifactType: string;
  readonly processor: string;
  readonly modelType: string;
  readonly runtime: string;
  readonly frameworks: readonly string[];
}

/** A full processor → runtime composition, as the deployer needs it (images, env). */
export interface ResolvedComposition {
  readonly deployableArtifactType: DeployableArtifactTypeEntry;
  readonly processor: ArtifactProcessorEntry;
  readonly modelType: string;
  readonly runtime: RuntimeEntry;
}

export class CatalogEntryExistsError extends ConflictError {
  constructor(kind: CatalogKind, name: string, builtIn: boolean) {
    super(
      builtIn
        ? `'${name}' is a built-in ${kind} entry and cannot be overwritten. Add yours under another name.`
        : `The catalog already has a ${kind} entry named '${name}'. Choose another name.`,
      [{ message: "name taken", kind, name, builtIn }],
    );
  }
}

export class NoCompositionError extends ConflictError {}

export async function listCatalog(
  _caller: Caller,
  kind: CatalogKind,
  page: PageRequest,
): Promise<Page<CatalogEntryView>> {
  const records = await listEntries(kind, page);
  return { items: records.items.map(entryView), nextCursor: records.nextCursor };
}

export class CatalogLimitError extends ConflictError {
  override readonly code = "CATALOG_LIMIT_REACHED";
}

export class CatalogEntryInUseError extends ConflictError {
  override readonly code = "CATALOG_ENTRY_IN_USE";
}

/**
 * Adds a user entry to the catalog (installation admins: the route says so). Built-ins are never
 * overwritten, every reference (e.g. a runtime's modelType) must name an existing entry, and each
 * kind holds at most CATALOG_KIND_LIMITS user entries (checked before the write: two admins adding
 * at the same moment can pass the limit by one each).
 */
export async function addCatalogEntry(
  caller: Caller,
  kind: CatalogKind,
  entry: CatalogEntry,
): Promise<CatalogEntryView> {
  for (const [field, referencedKind] of REFERENCES[kind]) {
    const name = (entry as unknown as Record<string, string>)[field] as string;
    if (!(await getEntry(referencedKind, name))) {
      throw new UnknownCatalogEntryError(
        `${field} '${name}' is not in the catalog. List the ${referencedKind} with GET /v1/catalog/${referencedKind}, or add it first.`,
        [{ path: `body.${field}`, message: `no ${referencedKind} entry named '${name}'` }],
      );
    }
  }
  const userEntries = (await listAllEntries(kind)).filter((r) => !r.builtIn).length;
  if (userEntries >= CATALOG_KIND_LIMITS[kind]) {
    throw new CatalogLimitError(
      `The catalog holds ${userEntries} user ${kind} entries, its limit. Delete one you no longer need with DELETE /v1/catalog/${kind}?name=<name>.`,
      [{ message: "limit reached", kind, limit: CATALOG_KIND_LIMITS[kind] }],
    );
  }
  const record: CatalogRecord = {
    kind,
    entry,
    builtIn: false,
    order: USER_ENTRY_ORDER,
    createdAt: nowIso(),
    createdBy: caller.principal,
  };
  const { existing } = await putNewEntry(record);
  if (existing) throw new CatalogEntryExistsError(kind, entry.name, existing.builtIn);
  return entryView(record);
}

/**
 * Deletes a user entry nothing uses: no other entry refers to it and no deployment runs it (slots
 * serving or being built, and the targets asked for). Reads every deployment: an admin's rare
 * call, a Query on the deployments index, never a Scan. A deployment created while this runs can
 * still pick the entry; it then fails with a message naming the missing entry.
 */
export async function deleteCatalogEntry(_caller: Caller, kind: CatalogKind, name: string): Promise<void> {
  const record = await getEntry(kind, name);
  if (!record) {
    throw new NotFoundError(`Catalog ${kind} entry`, name, `List them with GET /v1/catalog/${kind}.`);
  }
  if (record.builtIn) {
    throw new CatalogEntryInUseError(`'${name}' is a built-in ${kind} entry; built-ins cannot be deleted.`, [
      { message: "built-in", kind, name },
    ]);
  }
  for (const [otherKind, references] of Object.entries(REFERENCES) as [
    CatalogKind,
    (typeof REFERENCES)[CatalogKind],
  ][]) {
    const fields = references.filter(([, referenced]) => referenced === kind).map(([field]) => field);
    if (fields.length === 0) continue;
    const users = (await listAllEntries(otherKind)).filter((r) =>
      fields.some((field) => (r.entry as unknown as Record<string, unknown>)[field] === name),
    );
    if (users.length > 0) {
      throw new CatalogEntryInUseError(
        `${kind} '${name}' is used by ${otherKind} ${users.map((u) => `'${u.entry.name}'`).join(", ")}. Delete those first.`,
        [{ message: "referenced", kind: otherKind, names: users.map((u) => u.entry.name) }],
      );
    }
  }
  if (kind === "runtimes" || kind === "artifact-processors") {
    const field = kind === "runtimes" ? "runtime" : "processor";
    const deployment = await deploymentUsing(field, name);
    if (deployment) {
      throw new CatalogEntryInUseError(
        `${kind} '${name}' is used by deployment ${deployment.deploymentId} of project ${deployment.projectId}. Delete or update that deployment first.`,
        [{ message: "deployed", projectId: deployment.projectId, deploymentId: deployment.deploymentId }],
      );
    }
  }
  if (!(await deleteUserEntry(kind, name))) {
    throw new NotFoundError(`Catalog ${kind} entry`, name, `List them with GET /v1/catalog/${kind}.`);
  }
}

async function deploymentUsing(
  field: "runtime" | "processor",
  name: string,
): Promise<{ projectId: string; deploymentId: string } | undefined> {
  for await (const d of everyDeployment()) {
    const slots = [...d.slots, ...d.pendingSlots].map((slot) => slot.target[field]);
    const asked = d.targets.map((target) => target[field]);
    if ([...slots, ...asked].includes(name)) return { projectId: d.projectId, deploymentId: d.deploymentId };
  }
  return undefined;
}

/**
 * The valid paths from an artifact type: deployable type → processor → model type → runtime,
 * optionally only through runtimes that serve `framework`.
 */
export async function listCompositions(
  _caller: Caller,
  artifactType: string,
  framework?: string,
): Promise<{ artifactType: string; items: CompositionView[] }> {
  if (!(await getEntry("artifact-types", artifactType))) {
    throw new NotFoundError("Artifact type", artifactType, "List them with GET /v1/catalog/artifact-types.");
  }
  const paths = await compositionsOf(artifactType);
  return {
    artifactType,
    items: paths
      .filter((path) => framework === undefined || path.runtime.frameworks.includes(framework))
      .map((path) => ({
        deployableArtifactType: path.deployableArtifactType.name,
        processor: path.processor.name,
        modelType: path.modelType,
        runtime: path.runtime.name,
        frameworks: path.runtime.frameworks,
      })),
  };
}

/**
 * Picks the processor and runtime a deployment of an artifact uses: the first composition (built-ins
 * in declaration order, then user entries oldest first) whose runtime serves `framework` and that
 * uses the requested processor and runtime, if any are named. Throws NoCompositionError saying what
 * is available when none fits.
 */
export async function resolveComposition(
  artifactType: string,
  framework?: string,
  wanted: { processor?: string | undefined; runtime?: string | undefined } = {},
): Promise<ResolvedComposition> {
  const paths = await compositionsOf(artifactType);
  const fitting = paths.filter(
    (path) =>
      (wanted.processor === undefined || path.processor.name === wanted.processor) &&
      (wanted.runtime === undefined || path.runtime.name === wanted.runtime) &&
      (framework === undefined || path.runtime.frameworks.includes(framework)),
  );
  const chosen = fitting[0];
  if (chosen) return chosen;
  const asked = [
    wanted.processor && `processor '${wanted.processor}'`,
    wanted.runtime && `runtime '${wanted.runtime}'`,
    framework && `framework '${framework}'`,
  ].filter(Boolean);
  const available = paths.map(
    (p) => `${p.processor.name} → ${p.runtime.name} (${p.runtime.frameworks.join(", ") || "no frameworks"})`,
  );
  throw new NoCompositionError(
    `No processor and runtime in the catalog can deploy a '${artifactType}' artifact${asked.length ? ` with ${asked.join(" and ")}` : ""}. ${
      available.length
        ? `Available: ${available.join("; ")}.`
        : "The catalog has no path for this artifact type at all."
    } An installation admin adds runtimes with POST /v1/catalog/entries; or choose another processor or runtime.`,
    [{ message: "no composition", artifactType, ...(framework ? { framework } : {}), ...wanted }],
  );
}

async function compositionsOf(artifactType: string): Promise<ResolvedComposition[]> {
  const [deployables, processors, runtimes] = await Promise.all([
    listAllEntries("deployable-artifact-types"),
    listAllEntries("artifact-processors"),
    listAllEntries("runtimes"),
  ]);
  const paths: ResolvedComposition[] = [];
  for (const deployable of deployables.map((r) => r.entry as DeployableArtifactTypeEntry)) {
    if (deployable.artifactType !== artifactType) continue;
    for (const processor of processors.map((r) => r.entry as ArtifactProcessorEntry)) {
      if (processor.deployableArtifactType !== deployable.name) continue;
      for (const runtime of runtimes.map((r) => r.entry as RuntimeEntry)) {
        if (runtime.modelType !== processor.modelType) continue;
        paths.push({
          deployableArtifactType: deployable,
          processor,
          modelType: processor.modelType,
          runtime,
        });
      }
    }
  }
  return paths;
}

function entryView(record: CatalogRecord): CatalogEntryView {
  return {
    ...record.entry,
    builtIn: record.builtIn,
    createdAt: record.createdAt,
    createdBy: record.createdBy,
  };
}
