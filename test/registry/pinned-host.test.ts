import { describe, expect, it } from "vitest";
import { pinHost, refusedKind } from "#lambdas/imports/pinned-host.ts";

describe("where an MLflow import may connect", () => {
  it("names the kind of every address Byom refuses, IPv4-mapped forms included", () => {
    expect(refusedKind("169.254.169.254")).toMatch(/link-local/);
    expect(refusedKind("127.0.0.1")).toBe("loopback");
    expect(refusedKind("::1")).toBe("loopback");
    expect(refusedKind("10.1.2.3")).toBe("private");
    expect(refusedKind("172.31.0.1")).toBe("private");
    expect(refusedKind("192.168.0.1")).toBe("private");
    expect(refusedKind("fd12::1")).toBe("unique local");
    expect(refusedKind("fe80::1")).toBe("link-local");
    expect(refusedKind("::ffff:169.254.169.254")).toMatch(/link-local/);
    expect(refusedKind("::ffff:a9fe:a9fe")).toMatch(/link-local/);
    expect(refusedKind("::ffff:7f00:1")).toBe("loopback");
    expect(refusedKind("64:ff9b::a9fe:a9fe")).toMatch(/NAT64/);
    for (const address of ["93.184.216.34", "2606:2800:220:1::1", "172.32.0.1", "::ffff:8.8.8.8"]) {
      expect(refusedKind(address), address).toBeUndefined();
    }
  });

  it("pins the address it checked, and lets the allow-list name a private host", async () => {
    await expect(pinHost(new URL("http://10.0.0.5:5000"), [])).rejects.toMatchObject({
      code: "VALIDATION_FAILED",
    });
    expect(await pinHost(new URL("http://10.0.0.5:5000"), ["10.0.0.5"])).toEqual({
      hostname: "10.0.0.5",
      address: "10.0.0.5",
      family: 4,
    });
    // A name is resolved once; every address it resolves to must pass.
    await expect(pinHost(new URL("http://localhost:5000"), [])).rejects.toMatchObject({
      code: "VALIDATION_FAILED",
    });
    const local = await pinHost(new URL("http://localhost:5000"), ["localhost"]);
    expect(["127.0.0.1", "::1"]).toContain(local.address);
    await expect(pinHost(new URL("http://no-such-host.invalid"), [])).rejects.toMatchObject({
      code: "NOT_FOUND",
      message: expect.stringContaining("does not resolve"),
    });
  });
});
