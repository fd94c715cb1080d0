import { GetCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { BUILTIN_CATALOG } from "#lambdas/catalog/builtin.ts";
import { dynamo } from "#lambdas/shared/clients.ts";
import { keys, TABLE_NAME } from "#lambdas/shared/table.ts";

/** The catalog kind (as in `/v1/catalog/{kind}`) whose entries name artifact types. */
const ARTIFACT_TYPES_KIND = "artifact-types";
const BUILTIN_TYPES: readonly string[] = BUILTIN_CATALOG.artifactTypes.map((t) => t.name);

/**
 * The artifact types an upload may use that are relevant to `wanted`: the built-ins, plus the
 * user-added catalog entries (one GetItem when `wanted` is one of them; otherwise a page of the
 * catalog for the error message, so that a caller learns what exists).
 */
export async function knownArtifactTypes(wanted: string): Promise<string[]> {
  if (BUILTIN_TYPES.includes(wanted)) return [...BUILTIN_TYPES];
  const entry = await dynamo.send(
    new GetCommand({ TableName: TABLE_NAME, Key: keys.catalogEntry(ARTIFACT_TYPES_KIND, wanted) }),
  );
  if (entry.Item) return [...BUILTIN_TYPES, wanted];
  const { pk, skPrefix } = keys.catalogPrefix(ARTIFACT_TYPES_KIND);
  const page = await dynamo.send(
    new QueryCommand({
      TableName: TABLE_NAME,
      KeyConditionExpression: "pk = :pk AND begins_with(sk, :prefix)",
      ExpressionAttributeValues: { ":pk": pk, ":prefix": skPrefix },
      ProjectionExpression: "sk",
      Limit: 100,
    }),
  );
  const added = (page.Items ?? []).map((item) => String(item.sk).slice(skPrefix.length));
  return [...new Set([...BUILTIN_TYPES, ...added])];
}
