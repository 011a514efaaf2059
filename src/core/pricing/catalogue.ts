/**
 * Model prices and context windows from a maintained catalogue: @pydantic/genai-prices (Pydantic's
 * price database — input, output, cache-read and cache-write rates, long-context tiers and
 * dated price changes for OpenAI, Anthropic, Google, OpenRouter, Together, Groq, … — with the
 * providers' context windows). Its bundled data is used as is: Tandem never calls
 * `updatePrices` / auto-update, so lookups work offline and a release prices the same on every
 * machine; updating the catalogue means updating the package.
 *
 * A policy model (or an `openaiCompatible` model) without `price` is priced from here; an
 * explicit `price` always wins. The resolved {@link Price} carries `source` = catalogue
 * name@version + provider/model, which every call priced with it records (`ModelCall.priceSource`,
 * hence traces).
 *
 * This is the one module under core/ with a dependency; nothing else in core imports it (the
 * browser build of the core stays dependency-free).
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { calcPrice, findProvider, type ModelPrice, type TieredPrices } from "@pydantic/genai-prices";
import type { Price, PriceTier } from "../model.js";

/** The catalogue package and its version (the version of its bundled price data). */
export const CATALOGUE: { readonly name: string; readonly version: string } = (() => {
  const name = "@pydantic/genai-prices";
  try {
    const entry = createRequire(import.meta.url).resolve(name);
    const pkg = JSON.parse(readFileSync(join(dirname(entry), "..", "package.json"), "utf8")) as { version?: string };
    return { name, version: pkg.version ?? "unknown" };
  } catch {
    return { name, version: "unknown" };
  }
})();

/** What the catalogue knows of a model. */
export interface CatalogueEntry {
  /** USD per 1M tokens, with cache rates and tiers where the catalogue has them; `source` set. */
  price: Price;
  /** Most tokens (prompt + completion) one request may hold, when the catalogue knows it. */
  contextWindow?: number;
  /** The catalogue's provider id, e.g. "openai", "anthropic", "openrouter". */
  provider: string;
  /** The catalogue's model id the name matched, e.g. "gpt-4-turbo" for "gpt-4-1106-preview". */
  model: string;
  /** `"<catalogue>@<version> <provider>/<model>"`, as recorded in traces. */
  source: string;
}

/** How to find a model in the catalogue. */
export interface CatalogueQuery {
  /** The upstream's base URL (e.g. "https://api.anthropic.com/v1"): picks the provider by its API URL. */
  baseURL?: string;
  /** The catalogue's provider id, when known (e.g. "together"); wins over `baseURL`. */
  provider?: string;
  /** Price at this date (the catalogue keeps dated price changes). Default: now. */
  at?: Date;
}

const MTOK_KEYS = { input: "input_mtok", output: "output_mtok", cachedInput: "cache_read_mtok", cacheWrite: "cache_write_mtok" } as const;

function baseRate(v: ModelPrice[string]): number | undefined {
  if (typeof v === "number") return v;
  if (v && typeof v === "object" && typeof (v as TieredPrices).base === "number") return (v as TieredPrices).base;
  return undefined;
}

/** The rate of `v` for a prompt of more than `above` tokens (genai-prices: the last tier whose start the prompt exceeds). */
function tierRate(v: ModelPrice[string], above: number): number | undefined {
  if (typeof v === "number" || v === undefined) return v;
  let rate = (v as TieredPrices).base;
  for (const t of (v as TieredPrices).tiers) if (above >= t.start) rate = t.price;
  return rate;
}

/** A catalogue price as a Tandem {@link Price} (per-million-token rates; other units ignored). */
function toPrice(mp: ModelPrice, source: string): Price | undefined {
  const input = baseRate(mp[MTOK_KEYS.input]);
  const output = baseRate(mp[MTOK_KEYS.output]);
  if (input === undefined && output === undefined) return undefined;
  const cachedInput = baseRate(mp[MTOK_KEYS.cachedInput]);
  const cacheWrite = baseRate(mp[MTOK_KEYS.cacheWrite]);
  const starts = new Set<number>();
  for (const key of Object.values(MTOK_KEYS)) {
    const v = mp[key];
    if (v && typeof v === "object") for (const t of (v as TieredPrices).tiers) starts.add(t.start);
  }
  const tiers: PriceTier[] = [...starts]
    .sort((a, b) => a - b)
    .map((start) => {
      const c = tierRate(mp[MTOK_KEYS.cachedInput], start);
      const w = tierRate(mp[MTOK_KEYS.cacheWrite], start);
      return {
        abovePromptTokens: start,
        inputPerMillion: tierRate(mp[MTOK_KEYS.input], start) ?? 0,
        outputPerMillion: tierRate(mp[MTOK_KEYS.output], start) ?? 0,
        ...(c !== undefined ? { cachedInputPerMillion: c } : {}),
        ...(w !== undefined ? { cacheWritePerMillion: w } : {}),
      };
    });
  return {
    inputPerMillion: input ?? 0,
    outputPerMillion: output ?? 0,
    ...(cachedInput !== undefined ? { cachedInputPerMillion: cachedInput } : {}),
    ...(cacheWrite !== undefined ? { cacheWritePerMillion: cacheWrite } : {}),
    ...(tiers.length ? { tiers } : {}),
    source,
  };
}

/**
 * Looks `model` (the upstream's model name, e.g. "gpt-4o", "claude-sonnet-4-5",
 * "openai/gpt-4o" on OpenRouter) up in the bundled catalogue. The provider is `query.provider`,
 * else the one whose API URL matches `query.baseURL`; when `baseURL` matches no catalogued
 * provider (a local proxy, a test upstream), the model name alone decides, as genai-prices
 * matches it. Returns undefined for a model the catalogue does not price (local models, unknown
 * names). Offline; never throws.
 */
export function lookupCatalogue(model: string, query: CatalogueQuery = {}): CatalogueEntry | undefined {
  const attempt = (opts: { providerId?: string; providerApiUrl?: string }) => {
    try {
      return calcPrice({ input_tokens: 0, output_tokens: 0 }, model, { ...opts, ...(query.at ? { timestamp: query.at } : {}) });
    } catch {
      return null;
    }
  };
  let found = attempt({ providerId: query.provider, providerApiUrl: query.provider ? undefined : query.baseURL });
  if (!found && !query.provider && query.baseURL && !findProvider({ providerApiUrl: query.baseURL })) found = attempt({});
  if (!found) return undefined;
  const source = `${CATALOGUE.name}@${CATALOGUE.version} ${found.provider.id}/${found.model.id}`;
  const price = toPrice(found.model_price, source);
  if (!price) return undefined;
  return {
    price,
    ...(found.model.context_window !== undefined ? { contextWindow: found.model.context_window } : {}),
    provider: found.provider.id,
    model: found.model.id,
    source,
  };
}
