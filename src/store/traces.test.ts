import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openTraceStore, type Trace } from "./traces.js";

const trace = (id: string, createdAt: number, extra: Partial<Trace> = {}): Trace => ({
  id, createdAt, model: "route", stream: false, status: 200, servedBy: "edge", escalated: false, degraded: false,
  costUsd: 0, strongOnlyCostUsd: 1e-4, promptTokens: 10, completionTokens: 5, latencyMs: 12.5,
  decisions: [{ strategy: "route", name: "route", signal: "router:heuristic", score: 0.1, threshold: 0.2, chosen: "edge", escalated: false, reason: "r" }],
  calls: [], messages: [{ role: "user", content: "hi" }], responseText: "hello", ...extra,
});

describe("trace store", () => {
  it("persists traces across reopen, most recent first, with content optional", () => {
    const path = join(mkdtempSync(join(tmpdir(), "tandem-traces-")), "t.sqlite");
    const a = openTraceStore(path);
    a.record(trace("1", 1000));
    a.record(trace("2", 2000, { status: 502, error: "upstream_error", servedBy: undefined }));
    a.close();
    const b = openTraceStore(path, { storeContent: false });
    b.record(trace("3", 3000));
    expect(b.count()).toBe(3);
    const list = b.list({ limit: 2 });
    expect(list.map((t) => t.id)).toEqual(["3", "2"]);
    expect(list[1].error).toBe("upstream_error");
    expect(b.get("1")?.decisions[0].score).toBe(0.1);
    expect(b.get("1")?.responseText).toBe("hello");
    expect(b.get("3")?.responseText).toBeUndefined();
    expect(b.get("3")?.messages).toBeUndefined();
    b.close();
  });
});
