import { Logger } from "@aws-lambda-powertools/logger";

/** The one structured logger. Keys are appended per request by the HTTP middleware. */
export const logger = new Logger({
  serviceName: "byom",
  logLevel: (process.env.BYOM_LOG_LEVEL ?? (process.env.VITEST ? "SILENT" : "INFO")) as "INFO",
});
