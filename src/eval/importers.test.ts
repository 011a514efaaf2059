import { describe, expect, it } from "vitest";
import { importOutcomes } from "./importers.js";
import { parseDataset, formatDataset } from "./dataset.js";
import { parseCsv } from "./csv.js";
import { parsePythonStringList } from "./python-literal.js";
import { sharedData } from "../../test/helpers.js";

const WEAK = "mistralai/Mixtral-8x7B-Instruct-v0.1";
const STRONG = "gpt-4-1106-preview";
const acc = (records: ReturnType<typeof importOutcomes>["records"], m: string) => records.reduce((s, r) => s + r.outcomes[m].score, 0) / records.length;

describe("RouteLLM importer", () => {
  it("reproduces MMLU after decontamination: n=14,037, weak 68.09 %, strong 80.59 %", () => {
    const { records, stats } = importOutcomes("routellm", [sharedData("routing/routellm/mmlu")]);
    expect(stats).toEqual({ rows: 14042, kept: 14037, contaminated: 5, skippedMissing: 0 });
    expect(records).toHaveLength(14037);
    expect((acc(records, WEAK) * 100).toFixed(2)).toBe("68.09");
    expect((acc(records, STRONG) * 100).toFixed(2)).toBe("80.59");
    expect(new Set(records.map((r) => r.group)).size).toBe(57);
  });

  it("reproduces GSM8K after decontamination: n=1,307, weak 63.73 %, strong 85.77 %", () => {
    const { records, stats } = importOutcomes("routellm", [sharedData("routing/routellm/gsm8k")]);
    expect(stats.contaminated).toBe(12);
    expect(records).toHaveLength(1307);
    expect((acc(records, WEAK) * 100).toFixed(2)).toBe("63.73");
    expect((acc(records, STRONG) * 100).toFixed(2)).toBe("85.77");
    expect(records[0].outcomes[STRONG].response).toContain("18");
    expect(records[0].outcomes[STRONG].cost).toBeGreaterThan(records[0].outcomes[WEAK].cost);
  });
});

describe("RouterBench importer", () => {
  it("keeps 11 models with USD costs, skips and counts rows with a missing cell", () => {
    const { records, stats } = importOutcomes("routerbench", [sharedData("routing/routerbench")]);
    expect(stats.rows).toBe(1484);
    expect(stats.skippedMissing).toBe(28);
    expect(records).toHaveLength(1456);
    expect(Object.keys(records[0].outcomes)).toHaveLength(11);
    expect(records.filter((r) => r.split === "train").length + records.filter((r) => r.split === "test").length).toBe(1456);
    const first = records.find((r) => r.id === "arc-challenge.test.1")!;
    expect(first.outcomes["gpt-4-1106-preview"].cost).toBeCloseTo(0.00519, 6);
    expect(first.outcomes["gpt-4-1106-preview"].response).toBe("A");
    expect(typeof first.prompt === "string" && first.prompt.includes("\nA) dry palms\n")).toBe(true);
  });
});

describe("MoT importer", () => {
  it("turns every result file into a view with samples scored against the reference", () => {
    const { records } = importOutcomes("mot", [sharedData("cascade/mot-date")]);
    expect(records).toHaveLength(369);
    const r = records[0];
    expect(r.reference).toBe("05/01/2021");
    expect(r.outcomes["gpt-3.5-turbo/cot1"].samples).toHaveLength(20);
    expect(r.outcomes["gpt-3.5-turbo/pot2@t=0.4"].samples).toHaveLength(20);
    expect(r.outcomes["gpt-4/cot1"].samples).toHaveLength(3);
    expect(r.outcomes["gpt-4/cot1-greedy"].samples).toHaveLength(1);
    expect(r.outcomes["gpt-4"]).toBe(r.outcomes["gpt-4/cot1"]);
    // GPT-4 costs ~20-30× more per call than GPT-3.5 on the same demonstrations
    expect(r.outcomes["gpt-4/cot1"].cost / r.outcomes["gpt-3.5-turbo/cot1"].cost).toBeGreaterThan(3);
  });
});

describe("format helpers", () => {
  it("parses quoted CSV with newlines and doubled quotes", () => {
    expect(parseCsv('a,b\n"x, ""y""\nz",2\n')).toEqual([["a", "b"], ['x, "y"\nz', "2"]]);
  });
  it("parses Python string-list literals", () => {
    expect(parsePythonStringList(`['It\\'s\\n"ok"', "b"]`)).toEqual([`It's\n"ok"`, "b"]);
  });
  it("round-trips JSONL and rejects bad lines with their line number", () => {
    const rec = { id: "a", prompt: "p", outcomes: { m: { score: 1, cost: 0.1 } } };
    expect(parseDataset(formatDataset([rec]))).toEqual([rec]);
    expect(() => parseDataset('{"id":"a","prompt":"p","outcomes":{"m":{"score":2,"cost":0}}}', "f")).toThrow(/f:1: outcomes.m.score/);
    expect(() => parseDataset(formatDataset([rec, rec]))).toThrow(/duplicate id/);
  });
});
