import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { calcPrice } from "@pydantic/genai-prices";
import { countTokens as cl100k } from "gpt-tokenizer/encoding/cl100k_base";
import { describe, expect, it } from "vitest";
import { importOutcomes } from "./importers.js";
import { parseDataset, formatDataset } from "./dataset.js";
import { parsePythonStringList } from "./python-literal.js";
import { ggufTokenizer, tokenizerFor } from "./tokens.js";
import { modelPath, sharedData } from "../../test/helpers.js";

const WEAK = "mistralai/Mixtral-8x7B-Instruct-v0.1";
const STRONG = "gpt-4-1106-preview";
const acc = (records: ReturnType<typeof importOutcomes>["records"], m: string) => records.reduce((s, r) => s + r.outcomes[m].score, 0) / records.length;

describe("RouteLLM importer", () => {
  it("reproduces MMLU after decontamination: n=14,037, weak 68.09 %, strong 80.59 %", () => {
    const { records, stats } = importOutcomes("routellm", [sharedData("routing/routellm/mmlu")]);
    expect(stats).toMatchObject({ rows: 14042, kept: 14037, contaminated: 5, skippedMissing: 0 });
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

  it("prices GPT-4 exactly: cl100k tokens of the recorded texts (prompt as one chat message) at the catalogue's price", () => {
    const { records, stats } = importOutcomes("routellm", [sharedData("routing/routellm/gsm8k")]);
    const r = records[0];
    const strong = r.outcomes[STRONG];
    const prompt = cl100k(r.prompt as string) + 7; // OpenAI chat format: 3 per message + 3 to prime the reply + 1 for the role
    const completion = cl100k(strong.response!);
    expect(strong.promptTokens).toBe(prompt);
    expect(strong.completionTokens).toBe(completion);
    const billed = calcPrice({ input_tokens: prompt, output_tokens: completion }, STRONG, { providerId: "openai" })!;
    expect(strong.cost).toBeCloseTo(billed.total_price, 12);
    expect(strong.costEstimated).toBe(false);
    // Mixtral's own tokenizer is not bundled: its cost is labelled an estimate
    expect(r.outcomes[WEAK].costEstimated).toBe(true);
    expect(stats.tokenizers).toEqual({ [WEAK]: "cl100k_base (stand-in)", [STRONG]: "cl100k_base" });
    expect(stats.prices![STRONG]).toMatch(/^@pydantic\/genai-prices@\d+\.\d+\.\d+ openai\/gpt-4-turbo$/);
  });

  it("labels MMLU costs estimates (no responses recorded) and takes explicit prices and GGUF tokenizers", async () => {
    const gguf = await ggufTokenizer(modelPath("stories260K.gguf"));
    try {
      const { records, stats } = importOutcomes("routellm", [sharedData("routing/routellm/gsm8k")], {
        tokenizers: { [WEAK]: gguf },
        prices: { [WEAK]: { inputPerMillion: 1, outputPerMillion: 2 } },
      });
      const weak = records[0].outcomes[WEAK];
      expect(weak.costEstimated).toBe(false); // its "own" tokenizer was given and the response is recorded
      expect(weak.completionTokens).toBe(gguf.count(weak.response!));
      expect(weak.cost).toBeCloseTo((weak.promptTokens! * 1 + weak.completionTokens! * 2) / 1e6, 15);
      expect(stats.tokenizers![WEAK]).toBe("gguf:stories260K.gguf");
      expect(stats.prices![WEAK]).toBe("explicit");
    } finally {
      await gguf.dispose();
    }
    const dir = mkdtempSync(join(tmpdir(), "routellm-"));
    writeFileSync(join(dir, "mmlu_anatomy.csv"), `prompt,${STRONG}\nQ1,True\n`);
    const mmlu = importOutcomes("routellm", [dir]).records[0].outcomes[STRONG];
    expect(mmlu.completionTokens).toBe(1);
    expect(mmlu.costEstimated).toBe(true);
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
  it("reads CSV with csv-parse: BOM, CRLF, quoted commas, newlines and doubled quotes; malformed quoting fails loudly", () => {
    const dir = mkdtempSync(join(tmpdir(), "routellm-"));
    const prompt = 'x, "y"\r\nz';
    writeFileSync(join(dir, "gsm8k_responses.csv"), `\uFEFFprompt,${STRONG},${STRONG}_response\r\n"x, ""y""\r\nz",True,"a\r\n""b"""\r\n`);
    const { records } = importOutcomes("routellm", [dir]);
    expect(records).toHaveLength(1);
    expect(records[0].prompt).toBe(prompt);
    expect(records[0].outcomes[STRONG]).toMatchObject({ score: 1, response: 'a\r\n"b"' });
    writeFileSync(join(dir, "gsm8k_responses.csv"), `prompt,${STRONG}\n"unclosed,True\n`);
    expect(() => importOutcomes("routellm", [dir])).toThrow(/quote/i);
  });
  it("knows which tokenizers are exact", () => {
    expect(tokenizerFor("gpt-4-1106-preview")).toMatchObject({ name: "cl100k_base", exact: true });
    expect(tokenizerFor("gpt-4o-mini")).toMatchObject({ name: "o200k_base", exact: true });
    expect(tokenizerFor("mistralai/Mixtral-8x7B-Instruct-v0.1")).toMatchObject({ name: "cl100k_base (stand-in)", exact: false });
    expect(tokenizerFor("gpt-4").count("Hello world")).toBe(2);
    expect(tokenizerFor("gpt-4").countPrompt("Hello world")).toBe(9);
    expect(tokenizerFor("gpt-4").count("")).toBe(0);
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
