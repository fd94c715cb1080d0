import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { imageBuild, PYTHON_DOCKERFILE, PYTHON_IMAGES } from "#cdk/image-builds.ts";
import { RUNTIME_IMAGES_DIR } from "#cdk/paths.ts";
import { BUILTIN_CATALOG } from "#lambdas/catalog/builtin.ts";
import { entrypointModule } from "#local/python-env.ts";

describe("image builds (cdk/image-builds.ts)", () => {
  it("builds every Python image from the one Dockerfile, with a folder, a package and a stage it has", () => {
    const dockerfile = readFileSync(join(RUNTIME_IMAGES_DIR, PYTHON_DOCKERFILE), "utf8");
    const stages = [...dockerfile.matchAll(/^FROM \S+ AS (\w+)$/gm)].map((m) => m[1]);
    for (const [folder, image] of Object.entries(PYTHON_IMAGES)) {
      const build = imageBuild(folder);
      expect(build.file).toBe(PYTHON_DOCKERFILE);
      expect(stages).toContain(build.target);
      expect(existsSync(join(RUNTIME_IMAGES_DIR, folder, "requirements.txt")), folder).toBe(true);
      expect(existsSync(join(RUNTIME_IMAGES_DIR, "python", image.pythonPackage, "__main__.py"))).toBe(true);
      // Local mode runs what the image runs.
      expect(entrypointModule(folder)).toBe(image.pythonPackage);
      expect(existsSync(join(RUNTIME_IMAGES_DIR, folder, "Dockerfile")), `${folder}/Dockerfile`).toBe(false);
    }
    // The Dockerfile reads exactly the build arguments imageBuild passes.
    const declared = [...dockerfile.matchAll(/^ARG (\w+)$/gm)].map((m) => m[1]).sort();
    expect(declared).toEqual(Object.keys(imageBuild("tabular-runtime").buildArgs ?? {}).sort());
  });

  it("builds every other catalog image from its own Dockerfile, and refuses a folder with neither", () => {
    const others = [...BUILTIN_CATALOG.artifactProcessors, ...BUILTIN_CATALOG.runtimes]
      .map((entry) => entry.image)
      .filter((folder) => !(folder in PYTHON_IMAGES));
    expect(others.length).toBeGreaterThan(0);
    for (const folder of others) expect(imageBuild(folder)).toEqual({ file: `${folder}/Dockerfile` });
    expect(() => imageBuild("python")).toThrow(/has no Dockerfile and is not a Python image/);
    expect(() => entrypointModule("mojo-runtime")).toThrow(/is not a Python image/);
  });
});
