import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { imageBuild, JAVA_IMAGES, PYTHON_DOCKERFILE, PYTHON_IMAGES } from "#cdk/image-builds.ts";
import { RUNTIME_IMAGES_DIR } from "#cdk/paths.ts";
import { BUILTIN_CATALOG } from "#lambdas/catalog/builtin.ts";
import { entrypointOf, stageOf } from "#local/java-image.ts";
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

  it("builds the Java images as two stages of one Dockerfile, each running the shared jar its way", async () => {
    for (const [folder, java] of Object.entries(JAVA_IMAGES)) {
      const build = imageBuild(folder);
      expect(build).toEqual({ file: java.file, target: java.target });
      const dockerfile = readFileSync(join(RUNTIME_IMAGES_DIR, build.file), "utf8");
      expect(entrypointOf(stageOf(dockerfile, build.target))?.slice(-2)).toEqual([
        "/app/byom-mojo.jar",
        build.target,
      ]);
    }
    // Every catalog image is one of the two kinds; a folder with neither is refused.
    for (const entry of [...BUILTIN_CATALOG.artifactProcessors, ...BUILTIN_CATALOG.runtimes]) {
      expect(entry.image in PYTHON_IMAGES || entry.image in JAVA_IMAGES, entry.image).toBe(true);
    }
    expect(() => imageBuild("python")).toThrow(/has no Dockerfile and is not a Python image/);
    expect(() => entrypointModule("mojo-runtime")).toThrow(/is not a Python image/);
    expect(() => stageOf("FROM a AS build\n", "runtime")).toThrow(/no stage "runtime"/);
  });
});
