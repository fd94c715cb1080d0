import { describe, expect, it } from "vitest";
import { allowedMlflowHosts, pinHost, refusedKind } from "#lambdas/imports/pinned-host.ts";

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

  it("answers 400 naming the host when the lookup hangs, within its timeout, instead of waiting", async () => {
    const started = Date.now();
    const hanging = pinHost(new URL("http://mlflow.example.com:5000"), [], {
      timeoutMs: 200,
      lookup: () => new Promise(() => {}),
    });
    await expect(hanging).rejects.toMatchObject({
      code: "VALIDATION_FAILED",
      message: expect.stringContaining("'mlflow.example.com' did not resolve within 0.2 s"),
      details: [{ path: "body.trackingUri", message: "DNS lookup timed out", host: "mlflow.example.com" }],
    });
    expect(Date.now() - started).toBeLessThan(2_000);
    // A lookup that answers in time is checked as usual: a name at a private address is refused.
    await expect(
      pinHost(new URL("http://mlflow.example.com"), [], {
        lookup: async () => [{ address: "10.1.2.3", family: 4 }],
      }),
    ).rejects.toMatchObject({ code: "VALIDATION_FAILED", message: expect.stringContaining("at 10.1.2.3") });
  });

  it("reads the allow-list from MLFLOW_ALLOWED_HOSTS, as the request handler and the job worker both do", () => {
    const saved = process.env.MLFLOW_ALLOWED_HOSTS;
    try {
      process.env.MLFLOW_ALLOWED_HOSTS = " mlflow.internal, 10.0.0.5 ,,";
      expect(allowedMlflowHosts()).toEqual(["mlflow.internal", "10.0.0.5"]);
      delete process.env.MLFLOW_ALLOWED_HOSTS;
      expect(allowedMlflowHosts()).toEqual([]);
    } finally {
      if (saved === undefined) delete process.env.MLFLOW_ALLOWED_HOSTS;
      else process.env.MLFLOW_ALLOWED_HOSTS = saved;
    }
  });
});
