/**
 * Retrieval of a user's memories for one request, and their rendering as a system message.
 * Retrieval is dense nearest-neighbour search: the query (the last user message) and every
 * memory of the user are embedded (embedder.ts), and the top-k memories by cosine similarity
 * with similarity ≥ a minimum are kept — the retrieval step of retrieval-augmented generation
 * (Lewis et al. 2020) over a per-user store, as in MemoryBank (Zhong et al. 2023) and MemGPT
 * (Packer et al. 2023).
 */
import type { ChatMessage } from "../../core/wire.js";
import { lastUserText } from "../../core/wire.js";
import type { MemoryHit, MemoryOwner, MemoryStore } from "../../store/memory.js";
import type { MemoryEmbedder } from "./embedder.js";

/** Options of {@link retrieveMemories}. */
export interface RetrievalOptions {
  /** Most memories returned. Default 5. */
  k?: number;
  /** Least cosine similarity in [-1, 1] of a returned memory. Default 0.15. */
  minSimilarity?: number;
  signal?: AbortSignal;
}

/**
 * The memories of `owner` nearest to the request's last user message (best first); none when the
 * message is empty. Errors: the embedder's.
 */
export async function retrieveMemories(store: MemoryStore, embedder: MemoryEmbedder, owner: MemoryOwner, messages: readonly ChatMessage[], options: RetrievalOptions = {}): Promise<MemoryHit[]> {
  const query = lastUserText(messages).trim();
  if (!query) return [];
  const [vector] = await embedder.embed([query], options.signal);
  return store.search(owner, vector, { k: options.k ?? 5, minSimilarity: options.minSimilarity ?? 0.15 });
}

/** The header of the memory system message. */
export const MEMORY_HEADER = "What you know about the user from earlier conversations (use it only when relevant):";

/** The memory system message's text: the header and one line per fact. */
export function memoryText(facts: readonly string[]): string {
  return [MEMORY_HEADER, ...facts.map((f) => `- ${f}`)].join("\n");
}

/**
 * `messages` with a system message of `text` inserted after the leading system/developer
 * messages (the application's own instructions stay first). The input is not modified.
 */
export function withSystemMessage(messages: readonly ChatMessage[], text: string): ChatMessage[] {
  let at = 0;
  while (at < messages.length && (messages[at].role === "system" || messages[at].role === "developer")) at++;
  return [...messages.slice(0, at), { role: "system", content: text }, ...messages.slice(at)];
}
