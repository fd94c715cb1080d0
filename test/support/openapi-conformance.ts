import { Ajv2020 } from "ajv/dist/2020.js";
import { expect } from "vitest";
import type { ApiResponse } from "./platform.ts";

/**
 * Checks real responses against the served OpenAPI document: the operation must declare the
 * status, and the body must validate against the declared schema.
 */
export async function openApiChecker(apiUrl: string) {
  const document = (await (await fetch(`${apiUrl}/v1/openapi.json`)).json()) as any;
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
  ajv.addSchema({ ...document, $id: "openapi.json" });
  const pointer = (...parts: string[]) =>
    parts.map((p) => p.replaceAll("~", "~0").replaceAll("/", "~1")).join("/");
  return (method: string, template: string, response: ApiResponse): void => {
    const operation = document.paths?.[template]?.[method.toLowerCase()];
    expect(operation, `${method} ${template} is not in the document`).toBeDefined();
    const declared = operation.responses?.[String(response.status)];
    expect(declared, `${method} ${template} does not declare status ${response.status}`).toBeDefined();
    if (!declared.content?.["application/json"]) return;
    const ref = `openapi.json#/${pointer("paths", template, method.toLowerCase(), "responses", String(response.status), "content", "application/json", "schema")}`;
    const validate = ajv.getSchema(ref);
    expect(validate, `no schema at ${ref}`).toBeDefined();
    expect(
      validate?.(response.body),
      `${method} ${template} ${response.status}: ${ajv.errorsText(validate?.errors)}\n${JSON.stringify(response.body)}`,
    ).toBe(true);
  };
}
