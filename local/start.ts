import { resolve } from "node:path";
import { startPlatform } from "./platform.ts";

/** `npm start`: local mode in the foreground until Ctrl-C. */
const port = (name: string, fallback: number): number => {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 65535) {
    console.error(`${name}=${raw} is not a port number (0-65535).`);
    process.exit(2);
  }
  return value;
};

const home = process.env.BYOM_HOME || ".byom";
try {
  const platform = await startPlatform({
    home,
    apiPort: port("BYOM_API_PORT", 3000),
    scoringPort: port("BYOM_SCORING_PORT", 8080),
    s3Port: port("BYOM_S3_PORT", 4569),
    dynamoPort: port("BYOM_DYNAMODB_PORT", 4570),
  });
  const { apiUrl, s3Endpoint, scoringUrl } = platform.config;
  console.log(
    [
      `Byom local mode is ready: API ${apiUrl}, S3 ${s3Endpoint}, scoring ${scoringUrl}/{deploymentId}/model/score, data in ${home}/ (settings in ${home}/local.json).`,
      "Try:",
      `  curl -s -H "Authorization: Bearer $(node -p 'require(${JSON.stringify(resolve(home, "local.json"))}).token')" \\`,
      `       -H 'content-type: application/json' -d '{"name":"demo"}' ${apiUrl}/v1/projects`,
      `The emulators' credentials for this start (awsAccessKeyId, awsSecretAccessKey) are in ${home}/local.json too; docs/local-mode.md.`,
    ].join("\n"),
  );
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await platform.stop();
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
} catch (error) {
  console.error(`Byom local mode failed to start: ${(error as Error).message}`);
  process.exit(1);
}
