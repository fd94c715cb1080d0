/**
 * Where things live in the artifact bucket, declared once. The CDK app subscribes the ingest queue
 * to ObjectCreated events under INGEST_PREFIXES; local mode filters its emulator's events the same way.
 */
export const ARTIFACTS_PREFIX = "artifacts/";
export const DROP_PREFIX = "drop/";
export const INGEST_PREFIXES = [ARTIFACTS_PREFIX, DROP_PREFIX] as const;

export function artifactObjectKey(projectId: string, experimentId: string, artifactId: string): string {
  return `${ARTIFACTS_PREFIX}${projectId}/${experimentId}/${artifactId}`;
}

export interface ArtifactObjectRef {
  readonly projectId: string;
  readonly experimentId: string;
  readonly artifactId: string;
}

export function parseArtifactObjectKey(key: string): ArtifactObjectRef | undefined {
  const match = /^artifacts\/(prj-[0-9a-z]{26})\/(exp-[0-9a-z]{26})\/(art-[0-9a-z]{26})$/.exec(key);
  if (!match) return undefined;
  return { projectId: match[1] as string, experimentId: match[2] as string, artifactId: match[3] as string };
}

export interface DropObjectRef {
  readonly projectId: string;
  /** The experiment name: the file name without its `.zip`. */
  readonly name: string;
}

export function parseDropObjectKey(key: string): DropObjectRef | undefined {
  const match = /^drop\/(prj-[0-9a-z]{26})\/([^/]+)\.zip$/i.exec(key);
  if (!match) return undefined;
  return { projectId: match[1] as string, name: match[2] as string };
}

/** S3 event notifications carry keys URL-encoded, spaces as '+'. */
export function encodeEventKey(key: string): string {
  return encodeURIComponent(key).replace(/%20/g, "+").replace(/%2F/g, "/");
}

export function decodeEventKey(key: string): string {
  return decodeURIComponent(key.replace(/\+/g, " "));
}
