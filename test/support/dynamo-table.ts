import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Emulator, ensureTable, LOCAL_REGION, startDynamo } from "#local/emulators.ts";

export interface TestTable {
  readonly dynamo: Emulator;
  /** Closes the emulator and removes its data folder. */
  stop(): Promise<void>;
}

/**
 * A DynamoDB emulator (dynalite) of the test file's own holding the table `tableName`, and the
 * environment the Lambda modules read to reach it (TABLE_NAME, region, credentials, endpoint) set
 * in process.env: import those modules only after this, as they read it when they load.
 */
export async function startTestTable(tableName: string): Promise<TestTable> {
  const dir = mkdtempSync(join(tmpdir(), `byom-${tableName}-`));
  const dynamo = await startDynamo(dir, 0);
  await ensureTable(dynamo, tableName);
  Object.assign(process.env, {
    TABLE_NAME: tableName,
    AWS_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: dynamo.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: dynamo.credentials.secretAccessKey,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
  });
  return {
    dynamo,
    async stop() {
      await dynamo.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
